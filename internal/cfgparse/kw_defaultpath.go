package cfgparse

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// defaultPathKeywords is "default-path": where the relative paths of the
// files a configuration reads while it is parsed (certificates, CA and CRL
// files, crt-lists, error files, return files) start. HAProxy chdir()s
// there while it parses each file and back afterwards; Gatehouse joins the
// directory to each such path instead. Paths used after parsing (pidfile,
// stats socket, server-state-file, chroot) start where the process did, as
// in HAProxy.
func defaultPathKeywords() []keyword {
	return []keyword{
		{name: "default-path", where: wGlobal, syntax: "default-path current|config|parent|origin <path>",
			desc:  "Where relative file paths start while the configuration is parsed: 'current' the start directory (the default), 'config' the directory of the configuration file being parsed, 'parent' its parent, 'origin <path>' that directory; applied again at the start of every configuration file. ACL and map pattern files ('-f', map converters) with a relative path are refused under a mode other than 'current'.",
			parse: parseDefaultPath},
	}
}

func parseDefaultPath(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("missing default-path mode '' for 'default-path', supported modes include 'current', 'config', 'parent', and 'origin'.")
	}
	mode := args[1].Text
	switch mode {
	case "current", "config", "parent":
		if err := wantArgs(args, "default-path "+mode, 1, 1, "no argument"); err != nil {
			return err
		}
		p.defPathMode, p.defPathOrigin = mode, ""
	case "origin":
		if len(args) < 3 || args[2].Text == "" {
			return fmt.Errorf("'default-path origin' expects a directory as an argument.")
		}
		if err := wantArgs(args, "default-path origin", 2, 2, "a directory"); err != nil {
			return err
		}
		p.defPathMode, p.defPathOrigin = mode, args[2].Text
	default:
		return fmt.Errorf("unsupported default-path mode '%s' for 'default-path', supported modes include 'current', 'config', 'parent', and 'origin'.", mode)
	}
	p.applyDefaultPath() // at once, as HAProxy's chdir
	return nil
}

// applyDefaultPath sets the directory relative paths of the current file
// start from, as HAProxy's cfg_apply_default_path computes it.
func (p *parser) applyDefaultPath() {
	dir := ""
	if i := strings.LastIndexByte(p.file, '/'); i >= 0 {
		dir = p.file[:i]
		if dir == "" {
			dir = "/"
		}
	}
	switch p.defPathMode {
	case "config":
		p.fileDir = dir
	case "parent":
		p.fileDir = filepath.Join(dir, "..")
		if dir == "" {
			p.fileDir = ".."
		}
	case "origin":
		p.fileDir = p.defPathOrigin
	default:
		p.fileDir = ""
	}
}

// path is where the file path s of the current line is read from.
func (p *parser) path(s string) string {
	if p.fileDir == "" || s == "" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.fileDir, s)
}

// dirPath is path for a base directory: none is the default-path one.
func (p *parser) dirPath(base string) string {
	if base == "" {
		return p.fileDir
	}
	return p.path(base)
}

// filePath is basePath (crt-base, ca-base) then path.
func (p *parser) filePath(base, s string) string {
	return p.path(basePath(base, s))
}

// patternFileRef finds pattern files named on a line: after '-f' and as
// the first argument of the map converters and map/acl actions.
var patternFileRef = regexp.MustCompile(`(?:^|[,(\s])(?:map(?:_\w+)?|set-map|del-map|add-acl|del-acl)\(([^,)]*)`)

// checkPatternPaths refuses a relative pattern file under a default-path
// other than 'current': the ACL and map loader opens them from the start
// directory, not from the default-path one.
func (p *parser) checkPatternPaths(toks []token) bool {
	if p.fileDir == "" {
		return true
	}
	for i, t := range toks {
		var names []string
		if t.Text == "-f" && i+1 < len(toks) {
			names = append(names, toks[i+1].Text)
		}
		for _, m := range patternFileRef.FindAllStringSubmatch(t.Text, -1) {
			names = append(names, m[1])
		}
		for _, n := range names {
			if n != "" && !filepath.IsAbs(n) {
				p.errorf("pattern file '%s' is relative, and 'default-path %s' does not apply to ACL and map files in Gatehouse; write it as '%s'.", n, p.defPathMode, p.path(n))
				return false
			}
		}
	}
	return true
}

// Package cfgparse reads HAProxy's configuration language into a
// *config.Config: a tokenizer with HAProxy's quoting, escapes and ${ENV}
// expansion, section dispatch, keyword tables that also print the keyword
// reference, "did you mean" suggestions and diagnostics in HAProxy's
// "parsing [FILE:LINE] : ..." form.
package cfgparse

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Options tune how a configuration is read.
type Options struct {
	// LookupEnv resolves "${VAR}" inside double quotes and defined();
	// nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Diagnostic shows the messages of .diag directives, as HAProxy's
	// diagnostic mode (-dD) does.
	Diagnostic bool
	// LookupUser and LookupGroup resolve 'user' and 'group' names to IDs;
	// nil means the system's databases (a chrooted reload passes the
	// answers it got before the chroot).
	LookupUser, LookupGroup func(name string) (int, error)
	// LocalPeer is the -L command-line option: this process's name in
	// the peers sections; it overrides 'localpeer' (the default is the
	// host name).
	LocalPeer string
}

// Source is one configuration text with the name it is reported under.
type Source struct {
	File string
	Data []byte
}

// LoadPaths reads each path, a file or a directory whose "*.cfg" files are
// read in lexical order, and parses them in turn as one configuration.
func LoadPaths(paths []string, opt Options) (*config.Config, error) {
	var srcs []Source
	var diags Diagnostics
	for _, path := range paths {
		files, err := ExpandPath(path)
		if err != nil {
			diags = append(diags, config.Diag{Msg: err.Error()})
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				diags = append(diags, config.Diag{Msg: fmt.Sprintf("Could not open configuration file %s : %v", f, err)})
				continue
			}
			srcs = append(srcs, Source{File: f, Data: data})
		}
	}
	if len(diags) > 0 {
		return nil, diags
	}
	return ParseSources(srcs, opt)
}

// ExpandPath lists the files a configuration path stands for: the file
// itself, or a directory's *.cfg entries in lexical order (cfgwatch
// watches exactly what a load reads).
func ExpandPath(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("Could not open configuration file %s : %v", path, err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("Could not read configuration directory %s : %v", path, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cfg") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// Parse parses one configuration text; file names it in diagnostics.
func Parse(file string, src []byte, opt Options) (*config.Config, error) {
	return ParseSources([]Source{{File: file, Data: src}}, opt)
}

// ParseSources parses several texts in order as one configuration. Each
// text starts outside any section, as each file does in HAProxy; the last
// defaults section seen still applies to the proxies of the next files.
// On failure the error is a Diagnostics holding every error found.
func ParseSources(srcs []Source, opt Options) (*config.Config, error) {
	if opt.LookupEnv == nil {
		opt.LookupEnv = os.LookupEnv
	}
	p := newParser(opt)
	for _, s := range srcs {
		if p.aborted {
			break
		}
		p.parseFile(s.File, s.Data)
	}
	if p.aborted {
		return nil, append(p.errs, p.cfg.Warnings...)
	}
	p.finish()
	if len(p.errs) > 0 {
		return nil, append(p.errs, p.cfg.Warnings...)
	}
	return p.cfg, nil
}

// parseFile tokenizes src line by line and dispatches each line.
func (p *parser) parseFile(file string, src []byte) {
	p.file = file
	p.applyDefaultPath()
	p.sec = nil
	p.ps = nil
	p.secName = ""
	p.conds = nil
	lines := strings.Split(string(src), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		p.line = i + 1
		line = strings.TrimSuffix(line, "\r")
		// Lines of a dropped block are still tokenized (a quoting error
		// there is an error), as in HAProxy.
		toks, err := tokenizeLine(line, p.line, p.lookupVar)
		if err != nil {
			p.errorf("%v", err)
			continue
		}
		if len(toks) == 0 || p.condDirective(toks) {
			if p.aborted {
				return
			}
			continue
		}
		if !p.taking() || p.msgDirective(toks) || !p.checkPatternPaths(toks) {
			continue
		}
		p.dispatch(toks)
	}
	if n := len(p.conds); n > 0 {
		p.line = p.conds[n-1].line
		p.abortf("non-terminated '.if' block.")
	}
}

// lookupVar resolves a variable of the configuration: HAProxy's
// pseudo-variables, then the environment.
func (p *parser) lookupVar(name string) (string, bool) {
	switch name {
	case ".FILE":
		return p.file, true
	case ".LINE":
		return strconv.Itoa(p.line), true
	case ".SECTION":
		return p.secName, true
	}
	return p.opt.LookupEnv(name)
}

package runtimeapi

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/maps"
)

// MapsTarget is implemented by a Target whose configuration loads pattern
// files (map converters, ACLs with -f).
type MapsTarget interface {
	Maps() *maps.Registry
}

// The map and ACL commands, with HAProxy 2.6's syntax and answers. They
// need the admin level, as HAProxy from 2.8 on (2.6 lets every level run
// them). Gatehouse lists pattern files only: an ACL's inline patterns are
// not a reference of their own (they take an id, so that files keep
// HAProxy's ids). Versions (@<ver>, prepare, commit) are not implemented.
func mapCommands() []command {
	return []command{
		{[]string{"add", "acl"}, "add acl <acl> <pattern>                 : add an acl entry", LevelAdmin, cmdAddMap},
		{[]string{"add", "map"}, "add map <map> <key> <val>               : add a map entry (payload supported instead of key/val)", LevelAdmin, cmdAddMap},
		{[]string{"clear", "acl"}, "clear acl <acl>                         : clear the contents of this acl", LevelAdmin, cmdClearMap},
		{[]string{"clear", "map"}, "clear map <map>                         : clear the contents of this map", LevelAdmin, cmdClearMap},
		{[]string{"del", "acl"}, "del acl <acl> [<key>|#<ref>]            : delete acl entries matching <key>", LevelAdmin, cmdDelMap},
		{[]string{"del", "map"}, "del map <map> [<key>|#<ref>]            : delete map entries matching <key>", LevelAdmin, cmdDelMap},
		{[]string{"get", "acl"}, "get acl <acl> <value>                   : report the patterns matching a sample for an ACL", LevelAdmin, cmdGetMap},
		{[]string{"get", "map"}, "get map <acl> <value>                   : report the keys and values matching a sample for a map", LevelAdmin, cmdGetMap},
		{[]string{"set", "map"}, "set map <map> [<key>|#<ref>] <value>    : modify a map entry", LevelAdmin, cmdSetMap},
		{[]string{"show", "acl"}, "show acl [<acl>]                        : report available acls or dump an acl's contents", LevelAdmin, cmdShowMap},
		{[]string{"show", "map"}, "show map [<map>]                        : report available maps or dump a map's contents", LevelAdmin, cmdShowMap},
	}
}

func isMapCmd(args []string) bool { return args[1] == "map" }

func unknownRef(w *bufio.Writer, isMap bool) {
	if isMap {
		w.WriteString("Unknown map identifier. Please use #<id> or <file>.\n")
	} else {
		w.WriteString("Unknown ACL identifier. Please use #<id> or <file>.\n")
	}
}

// findRef resolves <file> or #<id>; show, get and clear also need the
// reference to be used the way the command names (a map, an ACL).
func findRef(ss *session, name string, isMap, checkUse bool) *maps.Ref {
	mt, ok := ss.target.(MapsTarget)
	if !ok {
		return nil
	}
	r := mt.Maps().Lookup(name)
	if r == nil || checkUse && (isMap && !r.IsMap() || !isMap && !r.IsACL()) {
		return nil
	}
	return r
}

// noVersions answers the @<ver> forms, which Gatehouse does not implement.
func noVersions(w *bufio.Writer, args []string) bool {
	if len(args) > 2 && strings.HasPrefix(args[2], "@") {
		w.WriteString("Gatehouse does not implement map and ACL versions (@<ver>, prepare, commit).\n")
		return true
	}
	return false
}

func cmdShowMap(ss *session, w *bufio.Writer, args []string) {
	isMap := isMapCmd(args)
	if noVersions(w, args) {
		return
	}
	if len(args) < 3 {
		w.WriteString("# id (file) description\n")
		mt, ok := ss.target.(MapsTarget)
		if !ok {
			return
		}
		for _, r := range mt.Maps().Refs() {
			if isMap && !r.IsMap() || !isMap && !r.IsACL() {
				continue
			}
			fmt.Fprintf(w, "%d (%s) %s. curr_ver=0 next_ver=0 entry_cnt=%d\n", r.UniqueID(), r.File, r.Display(), r.Count())
		}
		return
	}
	r := findRef(ss, args[2], isMap, true)
	if r == nil {
		unknownRef(w, isMap)
		return
	}
	for _, e := range r.Entries() {
		if r.TwoColumns() {
			fmt.Fprintf(w, "%#x %s %s\n", e.ID, e.Key, e.Value)
		} else {
			fmt.Fprintf(w, "%#x %s\n", e.ID, e.Key)
		}
	}
}

func cmdGetMap(ss *session, w *bufio.Writer, args []string) {
	isMap := isMapCmd(args)
	if len(args) < 4 {
		if isMap {
			w.WriteString("Missing map identifier and/or key.\n")
		} else {
			w.WriteString("Missing ACL identifier and/or key.\n")
		}
		return
	}
	r := findRef(ss, args[2], isMap, false)
	if r == nil {
		unknownRef(w, isMap)
		return
	}
	for _, ix := range r.Indexes() {
		p, ok := ix.(maps.Prober)
		if !ok {
			continue
		}
		pr := p.Probe(args[3])
		fmt.Fprintf(w, "type=%s", pr.Method)
		if pr.ICase {
			w.WriteString(", case=insensitive")
		} else {
			w.WriteString(", case=sensitive")
		}
		found, what := "found", "key"
		if !isMap {
			found, what = "match", "pattern"
		}
		if !pr.Found {
			fmt.Fprintf(w, ", %s=no\n", found)
			continue
		}
		idx := "list"
		if pr.Tree {
			idx = "tree"
		}
		fmt.Fprintf(w, ", %s=yes, idx=%s, %s=\"%s\"", found, idx, what, pr.Key)
		if isMap {
			if pr.HasVal {
				fmt.Fprintf(w, ", value=\"%s\", type=\"%s\"", pr.Value, pr.Type)
			} else {
				w.WriteString(", value=none")
			}
		}
		w.WriteString("\n")
	}
}

func cmdAddMap(ss *session, w *bufio.Writer, args []string) {
	isMap := isMapCmd(args)
	if noVersions(w, args) {
		return
	}
	if isMap && ss.hasPayload && len(args) == 3 {
		addMapPayload(ss, w, args[2])
		return
	}
	if isMap && len(args) < 5 {
		w.WriteString("'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n")
		return
	}
	if !isMap && len(args) < 4 {
		w.WriteString("'add acl' expects two parameters: ACL identifier and pattern.\n")
		return
	}
	r := findRef(ss, args[2], isMap, false)
	if r == nil {
		unknownRef(w, isMap)
		return
	}
	if !isMap && r.TwoColumns() {
		w.WriteString("This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n")
		return
	}
	value := ""
	if isMap {
		value = args[4]
	}
	if err := r.Add(args[3], value); err != nil {
		fmt.Fprintf(w, "%v.\n", err)
	}
}

// entryID parses "#0x<hex>", HAProxy's entry reference; ok false when the
// argument is a key.
func entryID(arg string) (id uint64, ok bool, malformed bool) {
	if !strings.HasPrefix(arg, "#0x") {
		return 0, false, false
	}
	v, err := strconv.ParseUint(arg[3:], 16, 64)
	if err != nil {
		return 0, true, true
	}
	return v, true, false
}

func cmdDelMap(ss *session, w *bufio.Writer, args []string) {
	isMap := isMapCmd(args)
	if len(args) < 4 {
		if isMap {
			w.WriteString("This command expects two parameters: map identifier and key.\n")
		} else {
			w.WriteString("This command expects two parameters: ACL identifier and key.\n")
		}
		return
	}
	r := findRef(ss, args[2], isMap, false)
	if r == nil {
		unknownRef(w, isMap)
		return
	}
	id, byID, bad := entryID(args[3])
	if bad {
		w.WriteString("Malformed identifier. Please use #<id> or <file>.\n")
		return
	}
	if err := r.Delete(args[3], id, byID); err != nil {
		w.WriteString("Key not found.\n")
	}
}

func cmdSetMap(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 5 {
		w.WriteString("'set map' expects three parameters: map identifier, key and value.\n")
		return
	}
	r := findRef(ss, args[2], true, false)
	if r == nil {
		unknownRef(w, true)
		return
	}
	id, byID, bad := entryID(args[3])
	if bad {
		w.WriteString("Malformed identifier. Please use #<id> or <file>.\n")
		return
	}
	if err := r.Set(args[3], id, byID, args[4]); err != nil {
		if errors.Is(err, maps.ErrNotFound) {
			w.WriteString("entry not found.\n")
			return
		}
		fmt.Fprintf(w, "%v.\n", err)
	}
}

func cmdClearMap(ss *session, w *bufio.Writer, args []string) {
	isMap := isMapCmd(args)
	if noVersions(w, args) {
		return
	}
	if len(args) < 3 {
		if isMap {
			w.WriteString("Missing map identifier.\n")
		} else {
			w.WriteString("Missing ACL identifier.\n")
		}
		return
	}
	r := findRef(ss, args[2], isMap, true)
	if r == nil {
		unknownRef(w, isMap)
		return
	}
	r.Clear()
}

// addMapPayload adds one entry per payload line: the first word is the key,
// the rest of the line after blanks the value. A line without a value stops
// with HAProxy's message; the lines before it stay added.
func addMapPayload(ss *session, w *bufio.Writer, name string) {
	r := findRef(ss, name, true, false)
	if r == nil {
		unknownRef(w, true)
		return
	}
	for line := range strings.Lines(ss.payload) {
		line = strings.TrimSuffix(line, "\n")
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			fmt.Fprintf(w, "Missing value for key '%s'.\n", line)
			return
		}
		key, value := line[:i], strings.TrimLeft(line[i+1:], " \t")
		if err := r.Add(key, value); err != nil {
			fmt.Fprintf(w, "%v.\n", err)
			return
		}
	}
}

package cfgparse

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteReference writes the keyword reference in markdown, generated from
// the same tables the parser uses, so the documentation cannot drift from
// what is accepted.
func WriteReference(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Configuration keyword reference")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Generated from Gatehouse's keyword tables. Sections: `G` global, `D` defaults, `F` frontend, `B` backend, `L` listen.")
	fmt.Fprintln(bw)

	writeLanguage(bw)

	fmt.Fprintln(bw, "## Sections")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Section | Syntax | Description |")
	fmt.Fprintln(bw, "| --- | --- | --- |")
	for _, s := range sectionTable() {
		syntax := s.syntax
		if syntax == "" {
			syntax = s.name
		}
		row(bw, s.name, code(syntax), s.describe())
	}
	fmt.Fprintln(bw)

	writeTable(bw, "Global keywords", globalKeywords(), "")
	for _, k := range globalKeywords() {
		if k.sub != nil {
			writeTable(bw, "Global '"+k.name+"' keywords", k.sub(), k.name+" ")
		}
	}
	writeTable(bw, "Proxy keywords", proxyKeywords(), "")
	for _, k := range proxyKeywords() {
		if k.sub != nil {
			writeTable(bw, "'"+k.name+"' keywords", k.sub(), k.name+" ")
		}
	}

	for _, s := range sectionTable() {
		if s.ownTable {
			writeSectionTable(bw, s)
		}
	}

	fmt.Fprintln(bw, "## bind options")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Option | Syntax | Description |")
	fmt.Fprintln(bw, "| --- | --- | --- |")
	for _, o := range bindOptions() {
		row(bw, o.name, code(o.syntax), o.desc)
	}
	fmt.Fprintln(bw)

	fmt.Fprintln(bw, "## server options")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "They apply to `server` and `default-server` lines. Defaults: weight 1, rise 2, fall 3, inter 2s.")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Option | Syntax | Description |")
	fmt.Fprintln(bw, "| --- | --- | --- |")
	for _, o := range serverOptions() {
		row(bw, o.name, code(o.syntax), o.desc)
	}
	fmt.Fprintln(bw)

	fmt.Fprintln(bw, "## http-request, http-response and http-after-response actions")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Each rule may end with `if <condition>` or `unless <condition>`.")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Action | Rules | Syntax | Description |")
	fmt.Fprintln(bw, "| --- | --- | --- | --- |")
	for _, a := range httpActions() {
		var where []string
		if a.req {
			where = append(where, "http-request")
		}
		if a.resp {
			where = append(where, "http-response")
		}
		if a.after {
			where = append(where, "http-after-response")
		}
		row(bw, a.name, strings.Join(where, ", "), code(a.syntax), a.desc)
	}
	fmt.Fprintln(bw)

	fmt.Fprintln(bw, "## HAProxy keywords Gatehouse does not implement")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Each of these is an error naming it as such, never silently ignored.")
	fmt.Fprintln(bw)
	lists := []struct {
		what  string
		names []string
	}{
		{"Sections", unimplementedSections()},
		{"Global keywords", unimplementedGlobal()},
		{"Proxy keywords", unimplementedProxy()},
		{"Options", unimplementedOptions()},
		{"HTTP actions", unimplementedHTTPActions()},
		{"bind options", unimplementedBindOptions()},
		{"server options", unimplementedServerOptions()},
	}
	for _, l := range lists {
		fmt.Fprintf(bw, "- %s: %s\n", l.what, "`"+strings.Join(l.names, "`, `")+"`")
	}
	return bw.Flush()
}

func writeTable(w io.Writer, title string, kws []keyword, prefix string) {
	fmt.Fprintf(w, "## %s\n\n", title)
	fmt.Fprintln(w, "| Keyword | Sections | Syntax | Description |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, k := range kws {
		if k.where == 0 {
			continue
		}
		row(w, prefix+k.name, sectionLetters(k.where), code(k.syntax), k.desc)
	}
	fmt.Fprintln(w)
}

// writeSectionTable lists the keywords of a section with a table of its own
// (no Sections column: they are valid there only).
func writeSectionTable(w io.Writer, s sectionDef) {
	fmt.Fprintf(w, "## '%s' section keywords\n\n", s.name)
	fmt.Fprintf(w, "%s\n\n", s.desc)
	fmt.Fprintln(w, "| Keyword | Syntax | Description |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, k := range s.kws {
		row(w, k.name, code(k.syntax), k.desc)
	}
	fmt.Fprintln(w)
}

func sectionLetters(wh where) string {
	var b strings.Builder
	for _, x := range []struct {
		bit    where
		letter string
	}{{wGlobal, "G"}, {wDefaults, "D"}, {wFE, "F"}, {wBE, "B"}} {
		if wh&x.bit != 0 {
			b.WriteString(x.letter)
		}
	}
	if wh&(wFE|wBE) != 0 {
		b.WriteString("L")
	}
	return b.String()
}

func code(s string) string { return "`" + strings.ReplaceAll(s, "|", "\\|") + "`" }

func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		if i > 0 && !strings.HasPrefix(c, "`") {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

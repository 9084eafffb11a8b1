package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// where tells in which sections a keyword may appear. For proxy keywords
// wFE and wBE are capabilities: a listen section has both.
type where uint8

const (
	wGlobal where = 1 << iota
	wDefaults
	wFE
	wBE

	wProxy  = wDefaults | wFE | wBE
	wFEOnly = wDefaults | wFE
	wBEOnly = wDefaults | wBE
)

// kwParser parses one configuration line; args holds every word of the
// line, args[0] being the keyword. A returned error is reported at the
// line; an error made by warning() is reported as a warning.
type kwParser func(p *parser, args []token) error

// keyword is one entry of a keyword table. A keyword whose second word
// selects a behaviour ("timeout client", "option httplog", "stats uri")
// has a sub table instead of a parser.
type keyword struct {
	name   string
	where  where
	syntax string
	desc   string
	parse  kwParser

	// capWarn: when the proxy lacks the capability, HAProxy only warns
	// and ignores the line; otherwise it is an error.
	capWarn bool
	capHint string // appended to the capability message, e.g. " Maybe you want 'fullconn' instead ?"

	sub       func() []keyword
	subUnimpl []string // HAProxy words of the sub table that Gatehouse does not implement
}

// runKeyword finds toks[depth] in table and runs it.
func (p *parser) runKeyword(table []keyword, toks []token, depth int) {
	name := toks[depth].Text
	full := joinWords(toks[:depth+1])
	kw := findKeyword(table, name)
	if kw == nil {
		p.unknownKeyword(table, toks, depth)
		return
	}
	if !p.allowed(kw, full) {
		return
	}
	if kw.sub != nil {
		if len(toks) <= depth+1 {
			p.errorf("'%s' expects one of %s.", full, quotedNames(kw.sub()))
			return
		}
		sub := kw.sub()
		if findKeyword(sub, toks[depth+1].Text) == nil && contains(kw.subUnimpl, toks[depth+1].Text) {
			p.errorf("%s", unimplementedMsg(full+" "+toks[depth+1].Text, toks[depth+1].Text))
			return
		}
		p.runKeyword(sub, toks, depth+1)
		return
	}
	p.report(kw.parse(p, toks))
}

// allowed checks the section and capability rules of kw for the current
// section, reporting a violation.
func (p *parser) allowed(kw *keyword, full string) bool {
	if p.ps == nil {
		return true // global or a section with its own table: no capabilities
	}
	px := p.ps.px
	if p.ps.isDefaults {
		if kw.where&wDefaults == 0 {
			p.errorf("'%s' not allowed in 'defaults' section.", full)
			return false
		}
		return true
	}
	var need config.Cap
	if kw.where&wFE != 0 {
		need |= config.CapFE
	}
	if kw.where&wBE != 0 {
		need |= config.CapBE
	}
	if need == 0 || px.Cap&need != 0 {
		return true
	}
	lack := "no frontend"
	if need == config.CapBE {
		lack = "no backend"
	}
	if kw.capWarn {
		p.warnf("'%s' ignored because %s '%s' has %s capability.%s", full, proxyType(px.Cap), px.Name, lack, kw.capHint)
	} else {
		p.errorf("'%s' not allowed because %s '%s' has %s capability.%s", full, proxyType(px.Cap), px.Name, lack, kw.capHint)
	}
	return false
}

// unknownKeyword reports toks[depth], which table does not hold.
func (p *parser) unknownKeyword(table []keyword, toks []token, depth int) {
	name := toks[depth].Text
	prefix := joinWords(toks[:depth])
	if prefix == "" && contains(p.sec.unimpl, name) {
		p.errorf("%s", unimplementedMsg(name, name))
		return
	}
	if p.sec.kind == secProxy || p.sec.kind == secDefaults {
		if msg, ok := removedMsg(prefix, name); ok {
			p.errorf("%s", msg)
			return
		}
	}
	cands := keywordNames(table)
	if depth == 0 {
		cands = append(cands, p.sectionNames()...)
	}
	word := name
	if prefix != "" {
		word = prefix + " " + name
	}
	msg := fmt.Sprintf("unknown keyword '%s' in '%s' section", word, p.sec.name)
	// A keyword of another section is a misplaced line, not a typo: saying
	// where it belongs beats the nearest spelling.
	if other := p.otherSectionOf(name, depth); other != "" {
		msg += fmt.Sprintf(" (it belongs in %s)", other)
	} else if best := bestMatch(name, cands); best != "" {
		if prefix != "" {
			best = prefix + " " + best
		}
		msg += fmt.Sprintf("; did you mean '%s' maybe ?", best)
	}
	p.errorf("%s", msg)
}

// otherSectionOf names the sections where a keyword unknown here is valid.
func (p *parser) otherSectionOf(name string, depth int) string {
	if depth != 0 {
		return ""
	}
	proxyLike := func(k secKind) bool { return k == secDefaults || k == secProxy }
	var in []string
	for _, s := range p.sections {
		if s.name == p.sec.name || (proxyLike(s.kind) && proxyLike(p.sec.kind)) {
			continue
		}
		if findKeyword(s.kws, name) != nil {
			in = append(in, "'"+s.name+"'")
		}
	}
	switch len(in) {
	case 0:
		return ""
	case 1:
		return "the " + in[0] + " section"
	}
	return strings.Join(in[:len(in)-1], ", ") + " or " + in[len(in)-1] + " sections"
}

func findKeyword(table []keyword, name string) *keyword {
	for i := range table {
		if table[i].name == name {
			return &table[i]
		}
	}
	return nil
}

func keywordNames(table []keyword) []string {
	names := make([]string, len(table))
	for i, k := range table {
		names[i] = k.name
	}
	return names
}

func quotedNames(table []keyword) string {
	names := keywordNames(table)
	for i, n := range names {
		names[i] = "'" + n + "'"
	}
	return strings.Join(names, ", ")
}

func joinWords(toks []token) string { return strings.Join(texts(toks), " ") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// proxyType names a proxy as HAProxy's proxy_type_str does.
func proxyType(c config.Cap) string {
	switch c {
	case config.CapFE:
		return "frontend"
	case config.CapBE:
		return "backend"
	}
	return "proxy"
}

// bestMatch returns the candidate closest to word by edit distance, or ""
// when none is close enough to be a plausible typo.
func bestMatch(word string, cands []string) string {
	best, bestDist := "", 1+len(word)/4
	if bestDist < 2 {
		bestDist = 2
	}
	bestDist++ // accept distances strictly below this
	for _, c := range cands {
		if d := levenshtein(word, c); d < bestDist && c != word {
			best, bestDist = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// wantArgs checks that args has between lo and hi words after the keyword
// (hi < 0: no upper bound); kw names the keyword in messages.
func wantArgs(args []token, kw string, lo, hi int, syntax string) error {
	n := len(args) - 1
	if n < lo {
		return fmt.Errorf("'%s' expects %s.", kw, syntax)
	}
	if hi >= 0 && n > hi {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", kw, args[hi+1].Text)
	}
	return nil
}

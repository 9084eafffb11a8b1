package cfgparse

import (
	"bufio"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Conditional blocks (.if/.elif/.else/.endif) and the message directives
// (.diag/.notice/.warning/.alert), as HAProxy 2.6 documents them in section
// 2.4 of its configuration manual.

// LanguageVersion is the HAProxy version whose configuration language
// Gatehouse speaks. version_atleast() and version_before() compare with it;
// missing components are zero, so it stands for the 2.6 release itself: a
// test for a later 2.6.x patch level takes the conservative branch.
const LanguageVersion = "2.6"

// Features lists the names feature() reports: the "haproxy -vv" features
// whose behaviour Gatehouse has. OPENSSL: TLS on binds and servers (Go's
// crypto/tls); PROMEX: the prometheus-exporter service; QUIC: HTTP/3 on
// quic4@/quic6@ binds (quic-go). On Linux, EPOLL
// (Go's network poller) and LINUX_SPLICE (mode tcp copies splice) as well.
// Everything else (LUA, PCRE/PCRE2 — Gatehouse's regular expressions are
// RE2 —, ZLIB/SLZ, TPROXY, NS, ...) is absent.
func Features() []string {
	f := []string{"OPENSSL", "PROMEX", "QUIC"}
	if runtime.GOOS == "linux" {
		f = append(f, "EPOLL", "LINUX_SPLICE")
	}
	return f
}

type condState uint8

const (
	condTake condState = iota // this branch is taken
	condDrop                  // not taken yet; a later .elif or .else may be
	condDone                  // a branch was taken: the rest of the block is dropped
	condSkip                  // the enclosing block is dropped: nothing here is evaluated
)

type condLevel struct {
	state   condState
	sawElse bool
	line    int
}

// taking reports whether lines are used at the current nesting.
func (p *parser) taking() bool {
	return len(p.conds) == 0 || p.conds[len(p.conds)-1].state == condTake
}

// condDirective handles a .if/.elif/.else/.endif line and reports whether
// toks was one. An error in a directive aborts the load, as in HAProxy: the
// blocks that follow cannot be told apart any more.
func (p *parser) condDirective(toks []token) bool {
	name := toks[0].Text
	switch name {
	case ".if", ".elif":
	case ".else", ".endif":
		if len(toks) > 1 {
			p.abortf("Unexpected argument '%s' for '%s'.", toks[1].Text, name)
			return true
		}
	default:
		return false
	}
	top := len(p.conds) - 1
	if name != ".if" && top < 0 {
		p.abortf("lone '%s' with no matching '.if'.", name)
		return true
	}
	switch name {
	case ".if":
		lvl := condLevel{state: condSkip, line: p.line}
		if p.taking() {
			ok, err := evalCond(toks[1:], name, p.opt.LookupEnv)
			if err != nil {
				p.abortf("%v", err)
				return true
			}
			lvl.state = condDrop
			if ok {
				lvl.state = condTake
			}
		}
		p.conds = append(p.conds, lvl)
	case ".elif":
		l := &p.conds[top]
		if l.sawElse {
			p.abortf("'.elif' after '.else' is not permitted.")
			return true
		}
		switch l.state {
		case condTake, condDone:
			l.state = condDone
		case condDrop:
			ok, err := evalCond(toks[1:], name, p.opt.LookupEnv)
			if err != nil {
				p.abortf("%v", err)
				return true
			}
			if ok {
				l.state = condTake
			}
		}
	case ".else":
		l := &p.conds[top]
		if l.sawElse {
			p.abortf("'.else' after '.else' is not permitted.")
			return true
		}
		l.sawElse = true
		switch l.state {
		case condTake, condDone:
			l.state = condDone
		case condDrop:
			l.state = condTake
		}
	case ".endif":
		p.conds = p.conds[:top]
	}
	return true
}

// msgDirective handles .diag/.notice/.warning/.alert and reports whether
// toks was one. Like HAProxy, the message is one word (quote it).
func (p *parser) msgDirective(toks []token) bool {
	var level string
	switch toks[0].Text {
	case ".diag":
		level = "DIAG"
	case ".notice":
		level = "NOTICE"
	case ".warning":
		level = "WARNING"
	case ".alert":
		level = "ALERT"
	default:
		return false
	}
	if len(toks) > 2 {
		p.errorf("Unexpected argument '%s' for '%s'. Use quotes if the message should contain spaces.", toks[2].Text, toks[0].Text)
		return true
	}
	msg := ""
	if len(toks) == 2 {
		msg = toks[1].Text
	}
	text := fmt.Sprintf("'%s'.", msg)
	switch level {
	case "ALERT":
		p.errorf("%s", text) // always fatal
	case "WARNING":
		p.warnf("%s", text)
	case "DIAG":
		if p.opt.Diagnostic { // HAProxy prints these only in diagnostic mode (-dD)
			p.infof("DIAG", "%s", text)
		}
	default:
		p.infof(level, "%s", text)
	}
	return true
}

// evalCond parses and evaluates the condition of a .if or .elif line. Its
// words are joined with spaces, as HAProxy reads them.
func evalCond(words []token, directive string, lookup func(string) (string, bool)) (bool, error) {
	expr := joinWords(words)
	c := &condParser{s: expr, directive: directive, lookup: lookup}
	if strings.TrimSpace(expr) == "" {
		return false, nil // an empty condition is false
	}
	v, err := c.or()
	if err != nil {
		return false, err
	}
	c.skipSpace()
	if c.i < len(c.s) {
		return false, c.errf(c.i, "unexpected character '%c' at the end of conditional expression '%s'", c.s[c.i], c.s)
	}
	return v, nil
}

type condParser struct {
	lookup    func(string) (string, bool)
	s         string
	i         int
	directive string
}

func (c *condParser) errf(at int, format string, args ...any) error {
	return fmt.Errorf("%s in '%s' at position %d", fmt.Sprintf(format, args...), c.directive, at+1)
}

func (c *condParser) skipSpace() {
	for c.i < len(c.s) && (c.s[c.i] == ' ' || c.s[c.i] == '\t') {
		c.i++
	}
}

// or: and ('||' and)*. Every term is parsed (so a malformed one is an
// error wherever it is); only the value is short-circuited.
func (c *condParser) or() (bool, error) {
	v, err := c.and()
	if err != nil {
		return false, err
	}
	for {
		c.skipSpace()
		if !strings.HasPrefix(c.s[c.i:], "||") {
			return v, nil
		}
		c.i += 2
		w, err := c.and()
		if err != nil {
			return false, err
		}
		v = v || w
	}
}

func (c *condParser) and() (bool, error) {
	v, err := c.term()
	if err != nil {
		return false, err
	}
	for {
		c.skipSpace()
		if !strings.HasPrefix(c.s[c.i:], "&&") {
			return v, nil
		}
		c.i += 2
		w, err := c.term()
		if err != nil {
			return false, err
		}
		v = v && w
	}
}

func (c *condParser) term() (bool, error) {
	c.skipSpace()
	start := c.i
	if c.i >= len(c.s) {
		return false, c.errf(start, "unparsable conditional expression '%s'", c.s)
	}
	switch ch := c.s[c.i]; {
	case ch == '!':
		c.i++
		c.skipSpace()
		if c.i >= len(c.s) {
			return false, c.errf(start, "unparsable conditional expression '%s'", c.s)
		}
		v, err := c.term()
		return !v, err
	case ch == '(':
		c.i++
		v, err := c.or()
		if err != nil {
			return false, err
		}
		c.skipSpace()
		if c.i >= len(c.s) || c.s[c.i] != ')' {
			return false, c.errf(start, "expected ')' after conditional expression '%s'", c.s[start:])
		}
		c.i++
		return v, nil
	case ch == '-' || ch >= '0' && ch <= '9':
		// strtol: an optional sign and digits; the value is true unless 0.
		j := c.i + 1
		for j < len(c.s) && c.s[j] >= '0' && c.s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(c.s[c.i:j], 10, 64)
		if err != nil && c.s[c.i:j] != "-" {
			n = 1 // out of range: saturated, so not zero
		}
		c.i = j
		return n != 0, nil
	}
	j := c.i
	for j < len(c.s) && (c.s[j] == '_' || c.s[j] >= 'a' && c.s[j] <= 'z' || c.s[j] >= '0' && c.s[j] <= '9') {
		j++
	}
	pred := condPredicates(c.lookup)[c.s[c.i:j]]
	if pred == nil || j >= len(c.s) || c.s[j] != '(' {
		return false, c.errf(start, "unparsable conditional expression '%s'", c.s[start:])
	}
	name := c.s[c.i:j]
	c.i = j + 1
	args, err := c.args(name, pred.nargs)
	if err != nil {
		return false, err
	}
	return pred.eval(args), nil
}

// args reads a predicate's arguments up to ')'. Commas separate them; single
// or double quotes protect commas and parentheses (a second level of
// quoting, as in HAProxy's argument lists); spaces are kept.
func (c *condParser) args(pred string, n int) ([]string, error) {
	var (
		out []string
		cur strings.Builder
	)
	for {
		if c.i >= len(c.s) {
			return nil, c.errf(c.i, "expected ')' after the arguments of predicate '%s'", pred)
		}
		ch := c.s[c.i]
		switch {
		case ch == '"' || ch == '\'':
			end := c.i + 1
			for end < len(c.s) && c.s[end] != ch {
				if c.s[end] == '\\' && ch == '"' && end+1 < len(c.s) {
					end++
				}
				cur.WriteByte(c.s[end])
				end++
			}
			if end >= len(c.s) {
				return nil, c.errf(c.i, "unmatched quote in the arguments of predicate '%s'", pred)
			}
			c.i = end + 1
			continue
		case ch == ',' || ch == ')':
			out = append(out, cur.String())
			cur.Reset()
			if len(out) > n || (ch == ',' && len(out) == n) {
				return nil, c.errf(c.i, "expected ')' before '%s': predicate '%s' takes %d argument%s", c.s[c.i:], pred, n, plural(n))
			}
			c.i++
			if ch == ')' {
				if len(out) < n {
					return nil, c.errf(c.i-1, "missing arguments (got %d/%d) of predicate '%s'", len(out), n, pred)
				}
				return out, nil
			}
			continue
		}
		cur.WriteByte(ch)
		c.i++
	}
}

type condPredicate struct {
	nargs int
	eval  func(args []string) bool
}

// condPredicates are HAProxy 2.6's; defined() asks lookup, the same
// environment "${VAR}" reads.
func condPredicates(lookup func(string) (string, bool)) map[string]*condPredicate {
	return map[string]*condPredicate{
		"defined":         {1, func(a []string) bool { _, ok := lookup(a[0]); return ok }},
		"feature":         {1, func(a []string) bool { return contains(Features(), a[0]) }},
		"streq":           {2, func(a []string) bool { return a[0] == a[1] }},
		"strneq":          {2, func(a []string) bool { return a[0] != a[1] }},
		"version_atleast": {1, func(a []string) bool { return compareVersion(a[0]) <= 0 }},
		"version_before":  {1, func(a []string) bool { return compareVersion(a[0]) > 0 }},
	}
}

// compareVersion compares v with LanguageVersion as HAProxy's
// compare_current_version does: -1 when v is older, 0 when equal, 1 when
// newer, and -3 when v does not parse (which version_atleast() takes as
// true and version_before() as false, as HAProxy does).
func compareVersion(v string) int {
	cur, _ := splitVersion(LanguageVersion)
	mod, ok := splitVersion(v)
	if !ok {
		return -3
	}
	for i := range cur {
		if mod[i] < cur[i] {
			return -1
		}
		if mod[i] > cur[i] {
			return 1
		}
	}
	return 0
}

// splitVersion reads "a[.b[.c[.d]]][-{dev,pre,rc}<f>][-*][-<g>]" into
// [a b c d tag f g] as HAProxy's split_version does: tag is 1 for dev, 2
// for pre and rc, 3 for a release; missing numbers are zero.
func splitVersion(v string) ([7]uint64, bool) {
	var val [7]uint64
	val[4] = 3
	if v == "" {
		return val, false
	}
	p := v
	num := func() (uint64, string) { // strtol: digits then the rest
		j := 0
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		n, _ := strconv.ParseUint(p[:j], 10, 32)
		return n, p[j:]
	}
	tag := false
	for k := 0; k < 4; k++ {
		var rest string
		val[k], rest = num()
		if rest == "" {
			return val, true
		}
		p = rest[1:]
		if rest[0] == '-' {
			tag = true
			break
		}
		if rest[0] != '.' || k == 3 {
			return val, false
		}
	}
	if !tag {
		return val, false
	}
	if p == "" || p[0] < '0' || p[0] > '9' {
		switch {
		case strings.HasPrefix(p, "dev"):
			val[4], p = 1, p[3:]
		case strings.HasPrefix(p, "rc"):
			val[4], p = 2, p[2:]
		case strings.HasPrefix(p, "pre"):
			val[4], p = 2, p[3:]
		default:
			goto commit
		}
		var rest string
		val[5], rest = num()
		if rest == "" {
			return val, true
		}
		if rest[0] != '-' {
			return val, false
		}
		p = rest[1:]
	}
commit:
	if i := strings.LastIndexByte(p, '-'); i >= 0 {
		s := p[i+1:]
		if s == "" {
			return val, false
		}
		if n, err := strconv.ParseUint(s, 10, 32); err == nil {
			val[6] = n
		}
		return val, true
	}
	if n, err := strconv.ParseUint(p, 10, 32); err == nil {
		val[6] = n
	}
	return val, true
}

// condDirectives describes the directives for the reference.
var condDirectives = []struct{ name, syntax, desc string }{
	{".if", ".if <condition>", "Opens a block kept when the condition is true. Blocks nest; each needs its '.endif'."},
	{".elif", ".elif <condition>", "Kept when no earlier branch of the block was and the condition is true; only evaluated then."},
	{".else", ".else", "Kept when no earlier branch was; at most one, last."},
	{".endif", ".endif", "Closes the block. A malformed directive or condition stops the load, as in HAProxy."},
	{".diag", ".diag \"<message>\"", "Printed only in diagnostic mode."},
	{".notice", ".notice \"<message>\"", "Printed at level NOTICE."},
	{".warning", ".warning \"<message>\"", "Printed as a warning."},
	{".alert", ".alert \"<message>\"", "Printed as an error: the configuration is refused."},
}

var predicateDocs = map[string]string{
	"defined":         "`defined(<name>)`: the environment variable exists, even empty.",
	"feature":         "`feature(<name>)`: <name> is one of the features listed below.",
	"streq":           "`streq(<a>,<b>)`: the strings are equal.",
	"strneq":          "`strneq(<a>,<b>)`: the strings differ.",
	"version_atleast": "`version_atleast(<ver>)`: the language version is at least <ver> (HAProxy's version syntax; missing components are zero; an unparsable <ver> counts as met, as in HAProxy).",
	"version_before":  "`version_before(<ver>)`: the language version is older than <ver>.",
}

func writeLanguage(bw *bufio.Writer) {
	fmt.Fprintln(bw, "## The language")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Quoting, escapes and environment variables follow HAProxy 2.6 (its manual, 2.2 and 2.3): "+
		"variables expand only inside double quotes (`\"$NAME\"`, `\"${NAME}\"`; outside quotes `$` is an ordinary character); "+
		"`\"${NAME-default}\"` uses the default when NAME is not set (an empty value stays empty); "+
		"`\"${NAME[*]}\"` splits the value into words at each run of spaces; "+
		"`${.FILE}`, `${.LINE}` and `${.SECTION}` are the current file, line and section name; "+
		"a `$` not followed by a name is an error (write `\\$`). "+
		"Addresses (bind, server, log, nameserver) are expanded once more, quoted or not, as HAProxy's env_expand does: "+
		"`$NAME` and `${NAME}` anywhere in the address, with no default values.")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Conditional blocks and messages (HAProxy 2.6 manual, 2.4):")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| Directive | Syntax | Description |")
	fmt.Fprintln(bw, "| --- | --- | --- |")
	for _, d := range condDirectives {
		row(bw, d.name, code(d.syntax), d.desc)
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "A condition is empty (false), an integer (true unless 0), a predicate, `( )`, `!`, `&&` and `||` (`&&` binds tighter). Predicates:")
	fmt.Fprintln(bw)
	names := make([]string, 0, len(predicateDocs))
	for n := range condPredicates(nil) {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(bw, "- %s\n", predicateDocs[n])
	}
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "The language version is %s (Gatehouse reads HAProxy 2.6's language; a test for a later 2.6.x patch level takes the conservative branch). "+
		"feature() is true for the features whose behaviour Gatehouse has: OPENSSL (TLS on binds and servers), PROMEX (the prometheus-exporter service), QUIC (HTTP/3 on quic4@ and quic6@ binds), "+
		"and on Linux EPOLL and LINUX_SPLICE; LUA, PCRE/PCRE2 (regular expressions are RE2), ZLIB/SLZ, TPROXY, NS and the others are false.\n", LanguageVersion)
	fmt.Fprintln(bw)
}

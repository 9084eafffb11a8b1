package logging

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
)

// Sampler is a compiled sample expression, as used by %[expr]. It appends
// the sample converted to a string and reports whether one was found.
// *acl.Expr satisfies it.
type Sampler interface {
	AppendString(dst []byte, t *acl.Txn) ([]byte, bool)
}

// ExprCompiler compiles the expression between "%[" and "]" (e.g.
// "req.hdr(host),lower"). The application passes a wrapper around
// acl.CompileExpr; a nil ExprCompiler rejects %[...].
type ExprCompiler func(src string, pos config.Pos) (Sampler, error)

// Format is a compiled log-format string. It is immutable and safe for
// concurrent use.
type Format struct {
	src   string
	nodes []node
	// lineLen bounds a log line as HAProxy's buffer of that size does
	// (linecut.go); 0: unbounded.
	lineLen int
}

type node struct {
	id   varID
	opts opt
	lit  string
	expr Sampler
}

// String returns the source the format was compiled from.
func (f *Format) String() string { return f.src }

// CompileHTTP compiles the format of an HTTP rule (set-header, redirect,
// return lf-string, ...): as HAProxy builds those, a %[sample] that is
// absent or empty gives nothing rather than the "-" a log line shows, so
// "redirect ... ignore-empty" can see an empty result.
func CompileHTTP(format string, pos config.Pos, exprs ExprCompiler) (*Format, error) {
	f, err := Compile(format, pos, exprs)
	if err != nil {
		return nil, err
	}
	for i := range f.nodes {
		if f.nodes[i].id == vExpr {
			f.nodes[i].opts |= optHTTP
		}
	}
	return f, nil
}

// Compile parses a log-format string (configuration.txt 8.2.6). Errors are
// config.Diag values at pos, worded like HAProxy's.
func Compile(format string, pos config.Pos, exprs ExprCompiler) (*Format, error) {
	f := &Format{src: format}
	var (
		defOpts opt    // set by %{...}o
		lit     []byte // pending literal text
	)
	flush := func() {
		if len(lit) > 0 {
			f.nodes = append(f.nodes, node{id: vLiteral, lit: string(lit)})
			lit = lit[:0]
		}
	}
	fail := func(msg string, args ...any) (*Format, error) {
		return nil, config.Errorf(pos, "failed to parse log-format : "+msg, args...)
	}
	for i := 0; i < len(format); {
		c := format[i]
		switch {
		case c == ' ':
			flush()
			for i < len(format) && format[i] == ' ' {
				i++
			}
			if n := len(f.nodes); n == 0 || f.nodes[n-1].id != vSep {
				f.nodes = append(f.nodes, node{id: vSep})
			}
			continue
		case c != '%':
			lit = append(lit, c)
			i++
			continue
		}
		// c == '%'
		i++
		if i < len(format) && format[i] == '%' {
			lit = append(lit, '%')
			i++
			continue
		}
		flush()
		o := defOpts
		hasFlags := false
		if i < len(format) && format[i] == '{' {
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				return fail("missing '}' after '%%{' at offset %d", i-1)
			}
			var err string
			o, err = applyFlags(o, format[i+1:i+end])
			if err != "" {
				return fail("%s", err)
			}
			hasFlags = true
			i += end + 1
		}
		if i < len(format) && format[i] == '[' {
			end := closingBracket(format, i)
			if end < 0 {
				return fail("missing ']' after '%%[' at offset %d", i-1)
			}
			src := strings.TrimSpace(format[i+1 : end])
			i = end + 1
			if src == "" {
				return fail("empty sample expression '%%[]'")
			}
			if exprs == nil {
				return fail("sample expressions are not allowed here : '%%[%s]'", src)
			}
			s, err := exprs(src, pos)
			if err != nil {
				if _, ok := err.(config.Diag); ok {
					return nil, err
				}
				return fail("failed to parse sample expression <%s> : %v", src, err)
			}
			f.nodes = append(f.nodes, node{id: vExpr, opts: o, expr: s, lit: src})
			continue
		}
		j := i
		for j < len(format) && isAlpha(format[j]) {
			j++
		}
		name := format[i:j]
		i = j
		if name == "" {
			if i >= len(format) {
				return fail("unexpected end of format string after '%%'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'")
			}
			return fail("unexpected character '%c' after '%%'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'", format[i])
		}
		if name == "o" {
			if hasFlags {
				defOpts = o
			}
			continue
		}
		v, ok := lookupVar(name)
		if !ok {
			return fail("no such format variable '%s'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%'", name)
		}
		f.nodes = append(f.nodes, node{id: v.id, opts: o})
	}
	flush()
	return f, nil
}

func isAlpha(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// closingBracket returns the index of the ']' closing the '[' at open,
// skipping nested brackets and quoted strings in converter arguments.
func closingBracket(s string, open int) int {
	depth := 0
	var quote byte
	for i := open; i < len(s); i++ {
		b := s[i]
		switch {
		case quote != 0:
			if b == '\\' {
				i++
			} else if b == quote {
				quote = 0
			}
		case b == '\\':
			i++
		case b == '"' || b == '\'':
			quote = b
		case b == '[':
			depth++
		case b == ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// applyFlags applies a comma-separated "+Q,-X,+E,+json" list to o.
func applyFlags(o opt, list string) (opt, string) {
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if len(f) < 2 || (f[0] != '+' && f[0] != '-') {
			return o, "invalid flag '" + f + "' in '%{" + list + "}' (expected +Q, -Q, +X, +E, +M or +json)"
		}
		var bit opt
		switch f[1:] {
		case "Q":
			bit = optQuote
		case "X":
			bit = optHex
		case "E":
			bit = optEsc
		case "json":
			bit = optJSON
		case "M":
			continue // mandatory: always on, as in HAProxy
		default:
			return o, "unknown flag '" + f + "' in '%{" + list + "}' (expected +Q, -Q, +X, +E, +M or +json)"
		}
		if f[0] == '+' {
			o |= bit
		} else {
			o &^= bit
		}
	}
	return o, ""
}

// Append writes the log line for c to dst and returns the extended slice.
// It does not allocate once dst has grown to the line's size.
func (f *Format) Append(dst []byte, c *Context) []byte {
	if f.lineLen > 0 {
		return f.appendBounded(dst, c)
	}
	lastSpace := true
	for i := range f.nodes {
		n := &f.nodes[i]
		switch n.id {
		case vSep:
			if !lastSpace {
				dst = append(dst, ' ')
				lastSpace = true
			}
			continue
		case vLiteral:
			dst = append(dst, n.lit...)
			lastSpace = false
			continue
		}
		// A sample ends a run of separators even when it wrote nothing
		// (absent in an HTTP rule's format), as in HAProxy's
		// sess_build_logline; %hr and %hs without captures do not.
		l := len(dst)
		dst = appendVar(dst, n, c)
		if len(dst) != l || n.id == vExpr {
			lastSpace = false
		}
	}
	return dst
}

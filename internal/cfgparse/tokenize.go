package cfgparse

import (
	"fmt"
	"strings"
)

// maxLineLen is the longest configuration line accepted, in bytes. HAProxy
// grows its line buffer up to a similar bound; a longer line is almost
// always a generated file gone wrong, so it is refused rather than cut.
const maxLineLen = 64 * 1024

// token is one word of a configuration line after quote removal, escape
// processing and environment expansion.
type token struct {
	Text string
	Line int
}

// tokenizeLine splits one configuration line into words the way HAProxy's
// parse_line does:
//   - '#' outside quotes starts a comment;
//   - single quotes are literal, nothing is interpreted inside them;
//   - double quotes group words and expand "$VAR" and "${VAR}" from lookup
//     (an undefined variable expands to nothing, as in HAProxy);
//   - outside single quotes a backslash escapes ' ', '#', '\\', '"', '\”,
//     '$' and encodes \r, \n, \t and \xHH; any other escape is kept as is so
//     regular expressions such as \d survive;
//   - quoted and unquoted parts next to each other form one word, and ""
//     is an empty word.
func tokenizeLine(line string, lineNo int, lookup func(string) (string, bool)) ([]token, error) {
	if len(line) > maxLineLen {
		return nil, fmt.Errorf("line too long (%d bytes, the limit is %d)", len(line), maxLineLen)
	}
	var (
		toks    []token
		cur     strings.Builder
		inWord  bool // cur holds a word, possibly empty ("")
		squote  bool
		dquote  bool
		quoteAt int
	)
	flush := func() {
		if inWord {
			toks = append(toks, token{Text: cur.String(), Line: lineNo})
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case squote:
			if c == '\'' {
				squote = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' && !dquote:
			squote, inWord, quoteAt = true, true, i+1
		case c == '"':
			if !dquote {
				quoteAt = i + 1
			}
			dquote, inWord = !dquote, true
		case c == '\\':
			n, err := unescape(line[i:], &cur)
			if err != nil {
				return nil, fmt.Errorf("%v at position %d", err, i+1)
			}
			inWord = true
			i += n - 1
		case c == '$' && dquote:
			n, err := expandEnv(line[i:], &cur, lookup)
			if err != nil {
				return nil, fmt.Errorf("%v at position %d", err, i+1)
			}
			i += n - 1
		case dquote:
			cur.WriteByte(c)
		case c == '#':
			flush()
			return toks, nil
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			flush()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if squote || dquote {
		return nil, fmt.Errorf("unmatched quote at position %d", quoteAt)
	}
	flush()
	return toks, nil
}

// unescape decodes the backslash sequence at the start of s into b and
// returns how many bytes of s it used.
func unescape(s string, b *strings.Builder) (int, error) {
	if len(s) < 2 {
		b.WriteByte('\\') // a trailing backslash is literal; there are no continuation lines
		return 1, nil
	}
	switch c := s[1]; c {
	case ' ', '#', '\\', '"', '\'', '$':
		b.WriteByte(c)
	case 'r':
		b.WriteByte('\r')
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'x':
		if len(s) < 4 || !isHex(s[2]) || !isHex(s[3]) {
			return 0, fmt.Errorf("truncated or invalid hexadecimal sequence")
		}
		b.WriteByte(unhex(s[2])<<4 | unhex(s[3]))
		return 4, nil
	default:
		b.WriteByte('\\')
		b.WriteByte(c)
	}
	return 2, nil
}

// expandEnv expands "$NAME" or "${NAME}" at the start of s (inside double
// quotes) and returns how many bytes of s it used. A '$' not followed by a
// variable name is literal.
func expandEnv(s string, b *strings.Builder, lookup func(string) (string, bool)) (int, error) {
	if len(s) > 1 && s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 0, fmt.Errorf("missing '}' in environment variable reference")
		}
		name := s[2:end]
		if !validEnvName(name) {
			return 0, fmt.Errorf("invalid environment variable name '%s'", name)
		}
		v, _ := lookup(name)
		b.WriteString(v)
		return end + 1, nil
	}
	n := 1
	for n < len(s) && isEnvChar(s[n], n == 1) {
		n++
	}
	if n == 1 {
		b.WriteByte('$')
		return 1, nil
	}
	v, _ := lookup(s[1:n])
	b.WriteString(v)
	return n, nil
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isEnvChar(name[i], i == 0) {
			return false
		}
	}
	return true
}

func isEnvChar(c byte, first bool) bool {
	switch {
	case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case c >= '0' && c <= '9':
		return !first
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// texts returns the words of toks.
func texts(toks []token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

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

// tokenizeLine splits one configuration line into words the way HAProxy
// 2.6's parse_line does:
//   - '#' outside quotes starts a comment;
//   - single quotes are literal, nothing is interpreted inside them;
//   - double quotes group words and expand "$VAR" and "${VAR}" from lookup;
//     outside double quotes '$' is an ordinary character, as in HAProxy 2.6
//     (its documentation: variables "are interpreted only within double
//     quotes"). See parseEnvRef for the forms;
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
			ref, err := parseEnvRef(line, i)
			if err != nil {
				return nil, err
			}
			v, ok := lookup(ref.name)
			if !ok && ref.hasDef {
				v = ref.def
			}
			if !ref.words {
				cur.WriteString(v)
			} else {
				// ${VAR[*]}: each run of spaces in the value ends a word and
				// starts the next, so a leading or trailing space makes an
				// empty word, exactly as HAProxy splits it.
				for j := 0; j < len(v); {
					if isSpace(v[j]) {
						flush()
						inWord = true
						for j < len(v) && isSpace(v[j]) {
							j++
						}
						continue
					}
					cur.WriteByte(v[j])
					j++
				}
			}
			i = ref.end - 1
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

// envRef is one variable reference inside double quotes.
type envRef struct {
	name   string
	words  bool   // ${NAME[*]}: the value is split into words on spaces
	def    string // ${NAME-default}: used when NAME is not set (an empty value stays)
	hasDef bool
	end    int // index just past the reference
}

// pseudoVars are the names HAProxy resolves itself; only they may start
// with a dot.
var pseudoVars = []string{".FILE", ".LINE", ".SECTION"}

// parseEnvRef reads the reference starting at line[at] ('$') in one of
// HAProxy 2.6's forms: $NAME, ${NAME}, ${NAME[*]}, ${NAME-default} and
// ${NAME[*]-default}. A name starts with a letter or '_' (or is one of the
// pseudo-variables); anything else after '$', including a lone '$', is an
// error as in HAProxy, which wants "\$" for a literal dollar. Positions in
// messages count from 1 like HAProxy's.
func parseEnvRef(line string, at int) (envRef, error) {
	var r envRef
	i := at + 1
	brace := i < len(line) && line[i] == '{'
	if brace {
		i++
	}
	start := i
	if i < len(line) && line[i] == '.' {
		for _, pv := range pseudoVars {
			if strings.HasPrefix(line[i:], pv) && (i+len(pv) >= len(line) || !isEnvChar(line[i+len(pv)], false)) {
				i += len(pv)
				break
			}
		}
	} else {
		for i < len(line) && isEnvChar(line[i], i == start) {
			i++
		}
	}
	if i == start {
		return r, fmt.Errorf("forbidden first char in environment variable name at position %d", start+1)
	}
	r.name = line[start:i]
	if !brace {
		r.end = i
		return r, nil
	}
	if i < len(line) && line[i] == '[' {
		if !strings.HasPrefix(line[i:], "[*]") {
			return r, fmt.Errorf("truncated or invalid word expansion sequence at position %d", i+1)
		}
		r.words = true
		i += 3
	}
	if i < len(line) && line[i] == '-' {
		end := strings.IndexByte(line[i:], '}')
		if end < 0 {
			return r, fmt.Errorf("unmatched brace in environment variable name at position %d", at+2)
		}
		r.def, r.hasDef = line[i+1:i+end], true
		i += end
	}
	if i >= len(line) || line[i] != '}' {
		return r, fmt.Errorf("unmatched brace in environment variable name at position %d", at+2)
	}
	r.end = i + 1
	return r, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
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

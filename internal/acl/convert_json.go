package acl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonEscape is HAProxy's json converter: the input decoded as ASCII or
// UTF-8 (mode), each character escaped for a JSON string. Errors fail
// the conversion, or drop the character in the "s" modes; the "p" modes
// accept overlong encodings.
func jsonEscape(dst []byte, s, mode string) ([]byte, bool) {
	ascii := mode == "" || mode == "ascii"
	silent := strings.HasSuffix(mode, "s")
	permissive := strings.Contains(mode, "p")
	for i := 0; i < len(s); {
		var r rune
		n := 1
		if ascii || s[i] < 0x80 {
			r = rune(s[i])
		} else {
			var bad, overlong bool
			r, n, bad, overlong = decodeUTF8(s[i:])
			if bad || overlong && !permissive {
				if !silent {
					return dst, false
				}
				i += n
				continue
			}
		}
		i += n
		switch {
		case r == '"':
			dst = append(dst, '\\', '"')
		case r == '\\':
			dst = append(dst, '\\', '\\')
		case r == '/':
			dst = append(dst, '\\', '/')
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r > 0xffff:
			if !silent {
				return dst, false // JSON's \u escape has four digits
			}
		case r < ' ' || r > 127:
			dst = fmt.Appendf(dst, "\\u%04x", r)
		default:
			dst = append(dst, byte(r))
		}
	}
	return dst, true
}

// decodeUTF8 decodes one UTF-8 character as HAProxy's utf8_next does:
// bad is a broken sequence or a forbidden value (surrogates, beyond
// U+10FFFF); overlong is a value encoded on more bytes than it needs.
func decodeUTF8(s string) (r rune, n int, bad, overlong bool) {
	c := s[0]
	var need int
	switch {
	case c&0xe0 == 0xc0:
		need, r = 1, rune(c&0x1f)
	case c&0xf0 == 0xe0:
		need, r = 2, rune(c&0x0f)
	case c&0xf8 == 0xf0:
		need, r = 3, rune(c&0x07)
	default:
		return utf8.RuneError, 1, true, false // a lone continuation byte or 0xf8+
	}
	if len(s) < need+1 {
		return utf8.RuneError, len(s), true, false
	}
	for k := 1; k <= need; k++ {
		if s[k]&0xc0 != 0x80 {
			return utf8.RuneError, k, true, false
		}
		r = r<<6 | rune(s[k]&0x3f)
	}
	n = need + 1
	switch {
	case need == 1 && r < 0x80, need == 2 && r < 0x800, need == 3 && r < 0x10000:
		overlong = true
	}
	if r >= 0xd800 && r <= 0xdfff || r > 0x10ffff {
		bad = true
	}
	return r, n, bad, overlong
}

// jsonPath is a compiled json_query path: object keys and array indexes.
type jsonPath []jsonStep

type jsonStep struct {
	key   string
	index int // -1: key
}

// parseJSONPath compiles the subset of JSON Path json_query reads:
// $ then .key (with '\.' for a dot inside a key), ['key'] and [N].
func parseJSONPath(p string) (jsonPath, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("invalid json path '%s': it must start with '$'", p)
	}
	var out jsonPath
	for i := 1; i < len(p); {
		switch p[i] {
		case '.':
			var key strings.Builder
			j := i + 1
			for ; j < len(p) && p[j] != '.' && p[j] != '['; j++ {
				if p[j] == '\\' && j+1 < len(p) {
					j++
				}
				key.WriteByte(p[j])
			}
			if key.Len() == 0 {
				return nil, fmt.Errorf("invalid json path '%s': empty key", p)
			}
			out = append(out, jsonStep{key: key.String(), index: -1})
			i = j
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("invalid json path '%s': missing ']'", p)
			}
			in := p[i+1 : i+end]
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				out = append(out, jsonStep{key: in[1 : len(in)-1], index: -1})
			} else {
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("invalid json path '%s': bad index '%s'", p, in)
				}
				out = append(out, jsonStep{index: n})
			}
			i += end + 1
		default:
			return nil, fmt.Errorf("invalid json path '%s' at '%s'", p, p[i:])
		}
	}
	return out, nil
}

// jsonQuery reads the value at path: a string, a boolean, a number (as
// "%g" text, or an integer when asInt); objects, arrays, null and
// malformed input give nothing.
func jsonQuery(doc []byte, path jsonPath, asInt bool) (sample, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return sample{}, false
	}
	for _, st := range path {
		if st.index >= 0 {
			a, ok := v.([]any)
			if !ok || st.index >= len(a) {
				return sample{}, false
			}
			v = a[st.index]
			continue
		}
		o, ok := v.(map[string]any)
		if !ok {
			return sample{}, false
		}
		if v, ok = o[st.key]; !ok {
			return sample{}, false
		}
	}
	switch x := v.(type) {
	case string:
		return strSmp(x), true
	case bool:
		return boolSmp(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return sample{}, false
		}
		if asInt {
			if f >= math.MaxInt64 || f < math.MinInt64 {
				return sample{}, false
			}
			return intSmp(int64(f)), true
		}
		return strSmp(strconv.FormatFloat(f, 'g', 6, 64)), true
	}
	return sample{}, false
}

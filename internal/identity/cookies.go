package identity

import (
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// maxChunk is the largest cookie value written in one cookie: browsers
// accept about 4096 bytes per cookie, name and attributes included.
const maxChunk = 3800

// maxChunks bounds how many chunks a session may take.
const maxChunks = 8

// cookieValue returns the value of the cookie called name in the request's
// Cookie headers.
func cookieValue(h httpmsg.Headers, name string) (string, bool) {
	for i := range h {
		if !strings.EqualFold(h[i].Name, "Cookie") {
			continue
		}
		v := h[i].Value
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ";")
			part = strings.TrimSpace(part)
			k, val, ok := strings.Cut(part, "=")
			if ok && k == name {
				return strings.Trim(val, `"`), true
			}
		}
	}
	return "", false
}

// sessionParts collects a session cookie: NAME alone, or chunks NAME_0,
// NAME_1, ... in order. n is the number of parts found.
func sessionParts(h httpmsg.Headers, name string, parts *[maxChunks]string) (n int) {
	if v, ok := cookieValue(h, name); ok && v != "" {
		parts[0] = v
		return 1
	}
	for n < maxChunks {
		v, ok := cookieValue(h, chunkName(name, n))
		if !ok || v == "" {
			break
		}
		parts[n] = v
		n++
	}
	return n
}

func chunkName(name string, i int) string { return name + "_" + strconv.Itoa(i) }

// isOurCookie reports whether a cookie name belongs to the session cookie
// family (NAME, NAME_<n>, NAME_st_<...>).
func isOurCookie(k, name string) bool {
	return k == name || (len(k) > len(name) && k[:len(name)] == name && k[len(name)] == '_')
}

// removeCookies drops the session cookie family from the request so it never
// reaches the mesh. Cookie headers left empty are removed.
func removeCookies(h *httpmsg.Headers, name string) {
	s := *h
	j := 0
	for i := range s {
		f := s[i]
		if strings.EqualFold(f.Name, "Cookie") && strings.Contains(f.Value, name) {
			f.Value = filterCookies(f.Value, name)
			if f.Value == "" {
				continue
			}
		}
		s[j] = f
		j++
	}
	clear(s[j:])
	*h = s[:j]
}

func filterCookies(v, name string) string {
	var b strings.Builder
	for v != "" {
		var part string
		part, v, _ = strings.Cut(v, ";")
		part = strings.TrimSpace(part)
		k, _, _ := strings.Cut(part, "=")
		if part == "" || isOurCookie(k, name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(part)
	}
	return b.String()
}

// cookieAttrs are the attributes of the cookies the edge sets.
type cookieAttrs struct {
	path   string
	domain string
	secure bool
}

// setCookie renders a Set-Cookie value; maxAge < 0 deletes the cookie.
func setCookie(name, value string, a cookieAttrs, maxAge time.Duration) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 96)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString("; Path=")
	b.WriteString(a.path)
	if a.domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(a.domain)
	}
	if maxAge < 0 {
		b.WriteString("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
	} else {
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(int64(maxAge/time.Second), 10))
	}
	b.WriteString("; HttpOnly; SameSite=Lax")
	if a.secure {
		b.WriteString("; Secure")
	}
	return b.String()
}

// sessionCookies renders a sealed session as one cookie or as chunks, and
// deletes the chunks (or the single cookie) the request holds beyond them.
func sessionCookies(h httpmsg.Headers, name, sealed string, a cookieAttrs, maxAge time.Duration) []string {
	var out []string
	if len(sealed) <= maxChunk {
		out = append(out, setCookie(name, sealed, a, maxAge))
		for i := 0; i < maxChunks; i++ {
			if _, ok := cookieValue(h, chunkName(name, i)); ok {
				out = append(out, setCookie(chunkName(name, i), "", a, -1))
			}
		}
		return out
	}
	n := 0
	for ; len(sealed) > 0; n++ {
		k := min(maxChunk, len(sealed))
		out = append(out, setCookie(chunkName(name, n), sealed[:k], a, maxAge))
		sealed = sealed[k:]
	}
	if _, ok := cookieValue(h, name); ok {
		out = append(out, setCookie(name, "", a, -1))
	}
	for i := n; i < maxChunks; i++ {
		if _, ok := cookieValue(h, chunkName(name, i)); ok {
			out = append(out, setCookie(chunkName(name, i), "", a, -1))
		}
	}
	return out
}

// clearSessionCookies deletes every session cookie the request holds.
func clearSessionCookies(h httpmsg.Headers, name string, a cookieAttrs) []string {
	out := []string{setCookie(name, "", a, -1)}
	for i := 0; i < maxChunks; i++ {
		if _, ok := cookieValue(h, chunkName(name, i)); ok {
			out = append(out, setCookie(chunkName(name, i), "", a, -1))
		}
	}
	return out
}

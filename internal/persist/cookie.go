// Package persist is cookie-based server persistence as HAProxy 2.6 does
// it ("cookie" in a backend, "cookie" on servers): reading the persistence
// cookie of a request, rewriting the request's and the response's cookie
// headers, and inserting the cookie into responses. It knows nothing of
// servers or connections: the caller says which server a cookie value
// names and which server answered.
package persist

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Mode is how the cookie is carried.
type Mode uint8

const (
	Passive Mode = iota // the client's cookie chooses the server; nothing is written
	Rewrite             // the server's own cookie gets the server's value
	Insert              // the proxy sets the cookie itself
	Prefix              // the server's cookie is prefixed with "<value>~"
)

// The third character of %tsc: what the request's cookie did.
const (
	ReqNone    byte = 'N' // no persistence cookie
	ReqInvalid byte = 'I' // a cookie naming no server
	ReqDown    byte = 'D' // a cookie naming a down server
	ReqValid   byte = 'V' // a cookie naming a server it went to
	ReqExpired byte = 'E' // older than maxidle
	ReqOld     byte = 'O' // older than maxlife
	ReqUnused  byte = 'U' // present, but the server was chosen otherwise (use-server, ignore-persist)
)

// The fourth character of %tsc: what happened to the response's cookie.
const (
	RespNone     byte = 'N' // no cookie from the server, none inserted
	RespPassed   byte = 'P' // the server's cookie went through unchanged
	RespDeleted  byte = 'D' // the server's cookie was removed
	RespInserted byte = 'I' // the proxy inserted one
	RespRewrote  byte = 'R' // the server's cookie was rewritten (rewrite, prefix)
	RespUpdated  byte = 'U' // the proxy refreshed the date of the client's cookie
)

// delimiters HAProxy uses inside the cookie value.
const (
	prefixDelim = '~' // prefix mode: <server>~<application value>
	dateDelim   = '|' // insert with maxidle/maxlife: <server>|<last>|<first>
)

// Cookie is a backend's compiled "cookie" line.
type Cookie struct {
	Name     string
	Mode     Mode
	Indirect bool
	NoCache  bool
	PostOnly bool
	Preserve bool
	// MaxIdle, MaxLife in seconds; 0: unset.
	MaxIdle, MaxLife int64
	// attrs is what follows "; path=/" in an inserted cookie: domains,
	// HttpOnly, Secure and the "attr" values, in HAProxy's order.
	attrs string
}

// New compiles a "cookie" line.
func New(c *config.Cookie) *Cookie {
	k := &Cookie{Name: c.Name, Indirect: c.Indirect, NoCache: c.NoCache, PostOnly: c.PostOnly, Preserve: c.Preserve,
		MaxIdle: int64(c.MaxIdle.Seconds()), MaxLife: int64(c.MaxLife.Seconds())}
	switch c.Mode {
	case "rewrite":
		k.Mode = Rewrite
	case "insert":
		k.Mode = Insert
	case "prefix":
		k.Mode = Prefix
	}
	var b strings.Builder
	for _, d := range c.Domains {
		b.WriteString("; domain=" + d)
	}
	if c.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	if len(c.Attrs) > 0 {
		b.WriteString("; " + strings.Join(c.Attrs, "; "))
	}
	k.attrs = b.String()
	return k
}

// Logged reports whether %tsc shows the cookie characters: HAProxy shows
// '-' '-' for a passive cookie (no rewrite, insert, prefix or indirect).
func (c *Cookie) Logged() bool { return c.Mode != Passive || c.Indirect }

// State is one transaction's persistence state.
type State struct {
	Req, Resp byte // %tsc characters; 0 logs as 'N'
	// Force and Ignore: a force-persist or ignore-persist rule matched.
	Force, Ignore bool
	// Assigned: a server is chosen (use-server, the cookie); Direct: it
	// was chosen by persistence rather than balancing.
	Assigned, Direct bool
	// first and last are the dates of an insert cookie (Unix seconds,
	// 4-second resolution); 0: none.
	first, last uint32
}

// Flags returns the two %tsc characters.
func (s *State) Flags() (req, resp byte) {
	req, resp = s.Req, s.Resp
	if req == 0 {
		req = ReqNone
	}
	if resp == 0 {
		resp = RespNone
	}
	return req, resp
}

// Choice is what the caller found for a cookie value.
type Choice uint8

const (
	NoServer   Choice = iota // no server has this value
	ServerDown               // servers have it, all down and none may be forced
	ChoseUp                  // an up server was chosen
	ChoseDown                // a down server was chosen (option persist, force-persist)
)

// Request reads the persistence cookie in the request's Cookie headers and
// rewrites them as the mode requires: prefix mode strips the server part,
// insert+indirect removes the cookie. choose is called with the server part
// of the cookie's value and records the server it picks; now is the Unix
// time. It is HAProxy 2.6's http_manage_client_side_cookies, spaces around
// '=' removed from every cookie as it does.
func (c *Cookie) Request(h *httpmsg.Headers, st *State, now int64, choose func(value string) Choice) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, "Cookie") {
			out = append(out, f)
			continue
		}
		v, keep := c.requestHeader(f.Value, st, now, choose)
		if keep {
			f.Value = v
			out = append(out, f)
		}
	}
	// Clear what the compaction left behind, for the garbage collector.
	clear((*h)[len(out):])
	*h = out
}

package logging

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Context is everything a log line can show about one request (mode http)
// or one session (mode tcp). The proxy owns one per connection, fills it as
// the exchange progresses and calls Reset before the next request.
//
// Timers are in milliseconds and follow configuration.txt section 8.4; -1
// means the event never happened. Derived timers (Tq, Td, Ta, Tu) may be
// left at -1: Append computes them from the others exactly as HAProxy does.
type Context struct {
	// Txn is what %[expr] sample expressions read; the request line
	// variables (%r, %HM, %HU, ...) read Txn.Req. nil in pure tcp sessions.
	Txn *acl.Txn
	// Mode selects how %Td is derived (data phase starts at the response
	// headers in http, at the connection in tcp).
	Mode config.Mode

	Client       netip.AddrPort // %ci %cp: the accepted (or PROXY-protocol) source
	FrontendAddr netip.AddrPort // %fi %fp: the address the client connected to
	BackendSrc   netip.AddrPort // %bi %bp: our source address towards the server
	ServerAddr   netip.AddrPort // %si %sp: the server's address

	FrontendName string // %f %ft
	FrontendSSL  bool   // %ft appends '~' when the bind terminates TLS
	BackendName  string // %b; empty: the frontend name (no backend chosen yet)
	ServerName   string // %s; empty: "<NOSRV>"

	AcceptTime  time.Time // %t %T %Tl %Ts %ms; its Location is the "local" zone
	RequestTime time.Time // %tr %trg %trl; zero: AcceptTime + Th + Ti

	Th, Ti, TR, Tq, Tw, Tc, Tr, Td, Ta, Tt, Tu int64

	Status   int   // %ST; -1 when no response was produced
	BytesIn  int64 // %U: from client to server
	BytesOut int64 // %B: from server to client

	Term TermState // %ts %tsc
	// CookieFlags are the persistence cookie characters of %tsc (what
	// the request's cookie did, what became of the response's); 0 logs
	// as '-', as for a backend without "cookie".
	CookieFlags [2]byte

	// ASAP: the frontend logs early ("option logasap"); %B, %Tt, %Ta and
	// %Tu get a '+' prefix, on every line of the frontend, as in HAProxy.
	ASAP bool

	ActConn, FeConn, BeConn, SrvConn int64 // %ac %fc %bc %sc
	Retries                          int64 // %rc
	Redispatched                     bool  // %rc gets a '+' prefix
	SrvQueue, BeQueue                int64 // %sq %bq: queue positions

	// ReqCaptures and ResCaptures hold one value per "capture request|response
	// header" line, in declaration order ("" when the header was absent).
	// Empty: nothing captured, %hr/%hs print nothing at all.
	ReqCaptures []string
	ResCaptures []string
	ReqCookie   string // %CC
	ResCookie   string // %CS

	UniqueID   string // %ID; empty: Txn.UniqueID
	SSLVersion string // %sslv; empty: Txn.TLSVersion
	SSLCipher  string // %sslc

	// ReqMethod and ReqURI are the request line as the client sent it,
	// set when a rule rewrote the method or target: %r and %H* show what
	// was received, as HAProxy's captured request line does. Empty:
	// Txn.Req's.
	ReqMethod, ReqURI string

	ReqCounter uint64 // %rt
	LogCounter uint64 // %lc

	// Process-wide values, kept by Reset.
	PID      int    // %pid
	Hostname string // %H

	scratch []byte // sample output being quoted or escaped
}

// NewContext returns a reset Context.
func NewContext() *Context {
	c := &Context{}
	c.Reset()
	return c
}

// Reset clears per-request state for reuse, keeping PID, Hostname and the
// capacity of the capture slices.
func (c *Context) Reset() {
	rq, rs := c.ReqCaptures[:0], c.ResCaptures[:0]
	pid, host, scratch := c.PID, c.Hostname, c.scratch[:0]
	// Cleared in place, then filled: a literal reading c would be built
	// in a temporary and copied (every request of a proxy calls this).
	*c = Context{}
	c.ReqCaptures, c.ResCaptures, c.PID, c.Hostname, c.scratch = rq, rs, pid, host, scratch
	c.Th, c.Ti, c.TR, c.Tq, c.Tw, c.Tc, c.Tr, c.Td, c.Ta, c.Tt, c.Tu = -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
	c.Status = -1
}

// CaptureRequest fills ReqCaptures from h for the "capture request header"
// lines in caps (the last occurrence of each header, truncated to its len),
// as HAProxy does. Response captures in caps are skipped.
func (c *Context) CaptureRequest(caps []*config.Capture, h httpmsg.Headers) {
	c.ReqCaptures = appendCaptures(c.ReqCaptures[:0], caps, h, false)
}

// CaptureResponse fills ResCaptures from h for the "capture response
// header" lines in caps.
func (c *Context) CaptureResponse(caps []*config.Capture, h httpmsg.Headers) {
	c.ResCaptures = appendCaptures(c.ResCaptures[:0], caps, h, true)
}

func appendCaptures(dst []string, caps []*config.Capture, h httpmsg.Headers, resp bool) []string {
	for _, cp := range caps {
		if cp.Response != resp {
			continue
		}
		v := ""
		for i := len(h) - 1; i >= 0 && cp.Name != ""; i-- {
			if strings.EqualFold(h[i].Name, cp.Name) {
				v = h[i].Value
				break
			}
		}
		if cp.Len > 0 && len(v) > cp.Len {
			v = v[:cp.Len]
		}
		dst = append(dst, v)
	}
	return dst
}

func nonNeg(v int64) int64 {
	if v < 0 {
		return 0
	}
	return v
}

// timers returns every timer with the derived ones computed.
func (c *Context) tq() int64 {
	if c.Tq >= 0 || c.TR < 0 {
		return c.Tq
	}
	return nonNeg(c.Th) + nonNeg(c.Ti) + c.TR
}

func (c *Context) td() int64 {
	if c.Td >= 0 || c.Tt < 0 {
		return c.Td
	}
	if c.Mode == config.ModeTCP {
		if c.Tc < 0 {
			return -1
		}
		return c.Tt - nonNeg(c.Th) - nonNeg(c.Tw) - c.Tc
	}
	if c.Tr < 0 {
		return -1
	}
	return c.Tt - nonNeg(c.tq()) - nonNeg(c.Tw) - nonNeg(c.Tc) - c.Tr
}

func (c *Context) ta() int64 {
	if c.Ta >= 0 || c.Tt < 0 {
		return c.Ta
	}
	if c.Ti < 0 {
		return c.Tt
	}
	return c.Tt - c.Ti - nonNeg(c.Th)
}

func (c *Context) tu() int64 {
	if c.Tu >= 0 || c.Tt < 0 {
		return c.Tu
	}
	return c.Tt - nonNeg(c.Ti)
}

func (c *Context) requestTime() time.Time {
	if !c.RequestTime.IsZero() {
		return c.RequestTime
	}
	if c.Ti < 0 {
		return c.AcceptTime
	}
	return c.AcceptTime.Add(time.Duration(c.Ti+nonNeg(c.Th)) * time.Millisecond)
}

// Failed reports whether the session counts as failed for "option
// log-separate-errors" and "option dontlog-normal", as HAProxy's strm_log
// decides: redispatched, ended by anything but normal completion or a
// local answer ('-' or 'L'), retried, or (mode http) answered 5xx.
func Failed(c *Context) bool {
	cause := c.Term.Cause()
	return c.Redispatched ||
		(cause != '-' && cause != 'L' && cause != 0) ||
		c.Retries != 0 ||
		(c.Mode != config.ModeTCP && c.Status >= 500)
}

package proxy

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/http1"
	"github.com/gatehouse/gatehouse/internal/httpcache"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// cacheStage is the transaction's part in HAProxy's cache: the key
// cache-use computed, the request's cache flags, a hit it answered with,
// and the response cache-store is storing as its body streams.
type cacheStage struct {
	key    httpcache.Key
	keyOK  bool
	flags  httpcache.Txn
	sec    httpcache.SecondaryKey // the request's full secondary key (process-vary)
	secOK  bool
	hit    bool // answered from the cache: the log's server is <CACHE>
	store  *httpcache.Store
	stored bool // cache-store already ran for this response
}

// compileCacheRule compiles cache-use and cache-store.
func compileCacheRule(a *config.HTTPAction, env *RuleEnv, response bool) (func(t *Txn) bool, error) {
	c := env.Caches[a.Name]
	if c == nil {
		return nil, config.Errorf(a.Pos, "'%s %s': unable to find cache '%s'", ruleKeyword(response), a.Action, a.Name)
	}
	if a.Action == "cache-use" {
		if response {
			return nil, config.Errorf(a.Pos, "'http-response cache-use' is not a valid action")
		}
		proxy := env.Proxy
		return func(t *Txn) bool { return t.cacheUse(c, proxy) }, nil
	}
	if !response {
		return nil, config.Errorf(a.Pos, "'http-request cache-store' is not a valid action")
	}
	return func(t *Txn) bool { t.cacheStore(c); return false }, nil
}

func (t *Txn) http11() bool { return t.Req.Major > 1 || t.Req.Major == 1 && t.Req.Minor >= 1 }

// cacheUse is http_action_req_cache_use: compute the key, and answer
// from the cache when it holds a fresh copy the request may get. A hit
// ends the request rules and nothing reaches a server.
func (t *Txn) cacheUse(c *httpcache.Cache, proxy string) bool {
	cs := &t.cache
	cs.flags = httpcache.CheckRequest(t.Req.Method, t.http11(), t.Req.Header)
	cs.key, cs.keyOK = httpcache.RequestKey(t.Req.URI, t.Req.Header)
	if !cs.keyOK || cs.flags.Ignore {
		return false
	}
	// Counted on the frontend when the rule is its own, else on the
	// backend, as HAProxy counts them.
	ctr := t.sess.fe.Counters
	if proxy != t.sess.fe.Name && t.be != nil {
		ctr = t.be.Counters
	}
	ctr.CacheLookups.Add(1)
	if e := c.Lookup(cs.key, t.Req.Header); e != nil {
		ctr.CacheHits.Add(1)
		cs.hit = true
		t.acl.CacheHit = c.Name
		t.reply = cacheReply(e, httpcache.NotModified(t.Req.Header, e.ETag, e.LastMod), t.now)
		return true
	}
	if c.ProcessVary {
		cs.sec, cs.secOK = httpcache.RequestSecondaryKey(t.Req.Header, ^uint32(0))
	}
	return false
}

// cacheReply is the cache applet's answer: the stored head with a fresh
// Age, then the body (none for a 304, as HAProxy sends to a conditional
// request its copy satisfies).
func cacheReply(e *httpcache.Entry, notModified bool, now time.Time) *Reply {
	h := make(httpmsg.Headers, 0, len(e.Header)+1)
	h = append(h, e.Header...)
	h = append(h, httpmsg.Header{Name: "age", Value: strconv.Itoa(e.Age(now))})
	if notModified {
		return &Reply{Status: 304, Header: h, AsIs: true}
	}
	return &Reply{Status: e.Status, Header: h, Body: e.Body, AsIs: true}
}

// cacheHitRules runs the http-response rules on a hit, the backend's
// (when the hit was in the backend) and then the frontend's: HAProxy's
// cache answers as an applet in the server's place, so its response goes
// through the same rules a server's does. A deny or return there replaces
// it.
func (t *Txn) cacheHitRules(r *Reply) *Reply {
	fe := t.sess.fe
	if (t.be == nil || len(t.be.RespRules) == 0) && len(fe.RespRules) == 0 {
		return r
	}
	t.Resp.Reset()
	t.Resp.Status, t.Resp.Reason = r.Status, r.Reason
	t.Resp.Header = append(t.Resp.Header, r.Header...)
	t.acl.Resp = &t.Resp
	hit := t.reply
	v := verdictAllow
	if t.be != nil {
		v = t.runResponseRules(t.be.RespRules)
	}
	if v != verdictReply {
		t.runResponseRules(fe.RespRules)
	}
	if t.reply != hit {
		if t.deniedResp {
			if t.be != nil {
				t.be.Counters.DenyResp.Add(1)
			}
			fe.Counters.DenyResp.Add(1)
		}
		return t.reply
	}
	return &Reply{Status: t.Resp.Status, Reason: t.Resp.Reason, Header: t.Resp.Header, Body: r.Body, AsIs: true}
}

// cacheStore is http_action_store_cache: decide on the response head,
// at the rule's place, whether it is stored, and start storing it.
func (t *Txn) cacheStore(c *httpcache.Cache) {
	cs := &t.cache
	if cs.stored || cs.hit || !t.http11() {
		return
	}
	cs.stored = true
	r := &t.Resp
	if t.Req.Method != "GET" {
		// A successful unsafe request invalidates the stored copy
		// (RFC 7234 4.4).
		switch t.Req.Method {
		case "HEAD", "OPTIONS", "TRACE":
		default:
			if cs.keyOK && r.Status >= 200 && r.Status < 400 {
				c.Invalidate(cs.key)
			}
		}
		return
	}
	if !cs.keyOK || r.Status != 200 {
		return
	}
	h := r.Header
	if r.ContentLength >= 0 {
		size := r.ContentLength
		for _, f := range h {
			size += int64(len(f.Name) + len(f.Value) + 4)
		}
		if size > c.MaxObject {
			return
		}
	}
	var sig uint32
	var sec httpcache.SecondaryKey
	if c.ProcessVary {
		var ok bool
		if sig, ok = httpcache.VarySignature(h); !ok {
			return
		}
		if sig != 0 {
			if !cs.secOK {
				return
			}
			sec = cs.sec
			if sig&httpcache.VaryReferer == 0 {
				sec.Ref = 0
			}
		}
	} else if h.Has("Vary") {
		return
	}
	flags := cs.flags
	flags.CheckResponse(h)
	if !flags.Storable() {
		return
	}
	maxAge, trueAge, ok := httpcache.MaxAge(h, t.now, c.MaxAge)
	if !ok {
		return
	}
	age := 0
	if v, has := h.Get("Age"); has {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > int64(trueAge) {
			return // a stale or malformed Age: HAProxy stores nothing
		}
		age = int(n)
	}
	if sig != 0 {
		// HAProxy 2.6 writes the response's encoding into every varying
		// entry, Vary: Referer alone included: a request key without the
		// Accept-Encoding part then never matches it, so such a response
		// is stored but not served, in HAProxy as here.
		enc, ok := httpcache.ResponseEncoding(h)
		if !ok {
			return
		}
		sec.Enc = enc
	}
	// The head as a cache answers it: its own framing is added then.
	head := append(httpmsg.Headers(nil), h...)
	http1.StripHopByHop(&head)
	head.Del("Content-Length")
	cs.store = c.Begin(cs.key, sig, sec, r.Status, head, maxAge, age)
}

// cacheTee passes the response body through the store in progress.
func (t *Txn) cacheTee(body io.Reader) io.Reader {
	if t.cache.store == nil {
		return body
	}
	return &teeBody{r: body, s: t.cache.store, left: t.Resp.ContentLength}
}

type teeBody struct {
	r    io.Reader
	s    *httpcache.Store
	left int64 // bytes still to come when the length is known, else -1
}

// Read commits the entry at the body's end, before its last bytes are
// written: the client's next request finds it, as HAProxy's filter ends
// the object when the message ends, not when it left. A body of known
// length ends with its last byte (a reader may give the data and its
// end in separate reads, the end after the data went out).
func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.s.Write(p[:n])
		if b.left > 0 {
			if b.left -= int64(n); b.left <= 0 {
				b.s.Commit()
			}
		}
	}
	if err == io.EOF {
		b.s.Commit()
	}
	return n, err
}

// cacheDone ends the store once the response went out. Only the tee
// commits, at the body's end: a store whose body did not go through it
// is dropped, never indexed with a missing body.
func (t *Txn) cacheDone() {
	t.cache.store.Abort()
	t.cache.store = nil
}

// cacheEnd drops a store that did not complete (the transaction ends).
func (t *Txn) cacheEnd() {
	t.cache.store.Abort()
}

// cacheRelayH1 streams a body to an HTTP/1 client while storing it: as
// CopyBody would frame it (chunked when the client gets it chunked), the
// trailers in the last chunk.
func (t *Txn) cacheRelayH1(cw *http1.Writer, body *http1.BodyReader, chunked, flush bool) (rerr, werr error) {
	write := func(p []byte) error { _, err := cw.Write(p); return err }
	if chunked {
		write = cw.WriteChunk
	}
	var fl func() error
	if flush {
		fl = func() error {
			if body.WouldBlock() {
				return cw.Flush()
			}
			return nil
		}
	}
	_, rerr, werr = pump(t.cacheTee(body), write, fl)
	if rerr == nil && werr == nil && chunked {
		werr = cw.WriteLastChunk(body.Trailer())
	}
	return rerr, werr
}

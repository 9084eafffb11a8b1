package proxy

import (
	"io"
	"sync"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/httpcomp"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// compStage is the compression stage of a transaction, HAProxy's
// compression filter: the algorithm is chosen from the request once every
// request rule ran, the response is judged on the server's head before the
// response rules, its head is rewritten after them, and its body is
// compressed as it streams.
type compStage struct {
	algo  httpcomp.Algo // chosen for the request; None: nothing to do
	types []string      // the types of the proxy the algorithms came from
	level int
	on    bool // this response is compressed
}

// compRequest chooses the algorithm once the request rules ran; with
// "compression offload" a choice made from Accept-Encoding removes it so
// the server sends a plain body.
func (t *Txn) compRequest(fe *Frontend, be *Backend) {
	if fe.Comp == nil && be.Comp == nil {
		return
	}
	p := httpcomp.Combine(fe.Comp, be.Comp)
	algo, matched := httpcomp.Negotiate(t.Req.Header, p.Algos)
	if matched && p.Offload {
		t.Req.Header.Del("Accept-Encoding")
	}
	t.comp = compStage{algo: algo, types: p.Types, level: fe.CompLevel}
}

// compResponse decides, on the server's head, whether the response is
// compressed. knownLength: the body is not delimited by the server's close.
func (t *Txn) compResponse(knownLength bool) {
	c := &t.comp
	if c.algo == httpcomp.None {
		return
	}
	r := &t.Resp
	c.on = httpcomp.Compress(&httpcomp.Response{
		ClientHTTP11: t.Req.Major > 1 || t.Req.Major == 1 && t.Req.Minor >= 1,
		ServerHTTP11: r.Major > 1 || r.Major == 1 && r.Minor >= 1,
		Head:         t.Req.Method == "HEAD",
		Status:       r.Status,
		KnownLength:  knownLength,
		Bodyless:     r.NoBody || r.ContentLength == 0,
		Header:       r.Header,
	}, c.types) && t.sess.fe.CompLimits.allow()
	t.acl.CompAlgo = ""
	if c.on {
		t.acl.CompAlgo = c.algo.String()
	}
}

// compHead rewrites the head of a response being compressed, after the
// response rules, and reports whether it is.
func (t *Txn) compHead() bool {
	if !t.comp.on {
		return false
	}
	httpcomp.PrepareHead(&t.Resp.Header, t.comp.algo)
	return true
}

// compBufPool holds the read buffers of compressed bodies: larger than a
// plain copy's, so what the server already sent is compressed, flushed and
// written in one go rather than in a flush (and a write) per 16 KiB.
var compBufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// compBody streams body compressed to write (flush after each flush
// point, as in pump) and accounts it as HAProxy's comp_in, comp_out and,
// for identity, comp_byp.
func (t *Txn) compBody(body io.Reader, write func([]byte) error, flush func() error, wouldBlock func() bool) (rerr, werr error) {
	enc := httpcomp.NewEncoder(t.comp.algo, t.comp.level)
	defer enc.Release()
	bp := compBufPool.Get().(*[]byte)
	defer compBufPool.Put(bp)
	if t.comp.algo != httpcomp.Identity {
		body, write = t.sess.fe.CompLimits.count(body, write)
	}
	in, out, rerr, werr := enc.Stream(body, *bp, write, flush, wouldBlock)
	fc, bc := t.sess.fe.Counters, t.be.Counters
	if t.comp.algo == httpcomp.Identity {
		fc.CompByp.Add(uint64(in))
		bc.CompByp.Add(uint64(in))
	} else {
		fc.CompIn.Add(uint64(in))
		bc.CompIn.Add(uint64(in))
		fc.CompOut.Add(uint64(out))
		bc.CompOut.Add(uint64(out))
	}
	return rerr, werr
}

// compDone counts a compressed response that reached its end (comp_rsp).
func (t *Txn) compDone() {
	if t.comp.on {
		t.sess.fe.Counters.CompRsp.Add(1)
		t.be.Counters.CompRsp.Add(1)
	}
}

// compService compresses a local service's page (the stats page) as
// HAProxy's filter compresses its applets' answers: the same choice of
// algorithm and the same checks, the proxy serving it standing for the
// backend. The page is in memory, so it is compressed whole and keeps a
// Content-Length.
func (t *Txn) compService(be *Backend) {
	fe, r := t.sess.fe, t.reply
	var bc *httpcomp.Settings
	if be != nil {
		bc = be.Comp
	}
	if (fe.Comp == nil && bc == nil) || r == nil || len(r.Header) == 1 && r.Header[0].Name == rawMarker[0].Name {
		return
	}
	p := httpcomp.Combine(fe.Comp, bc)
	algo, _ := httpcomp.Negotiate(t.Req.Header, p.Algos)
	if algo == httpcomp.None || !httpcomp.Compress(&httpcomp.Response{
		ClientHTTP11: t.Req.Major > 1 || t.Req.Major == 1 && t.Req.Minor >= 1,
		ServerHTTP11: true,
		Head:         t.Req.Method == "HEAD",
		Status:       r.Status,
		KnownLength:  true,
		Bodyless:     len(r.Body) == 0,
		Header:       r.Header,
	}, p.Types) || !fe.CompLimits.allow() {
		return
	}
	enc := httpcomp.NewEncoder(algo, fe.CompLevel)
	defer enc.Release()
	_ = enc.Write(r.Body) // into memory: cannot fail
	_ = enc.Close()
	out := &Reply{Status: r.Status, AsIs: r.AsIs, Body: append([]byte(nil), enc.Pending()...)}
	out.Header = append(make(httpmsg.Headers, 0, len(r.Header)+2), r.Header...)
	httpcomp.PrepareHead(&out.Header, algo)
	t.reply = out
	t.acl.CompAlgo = algo.String()
	in, n := uint64(len(r.Body)), uint64(len(out.Body))
	if l := fe.CompLimits; l != nil && algo != httpcomp.Identity {
		l.P.Compressed(ratelimit.Millis(clock.Mono()), in, n)
	}
	for _, c := range [...]*counters.Proxy{fe.Counters, beCounters(be)} {
		if c == nil {
			continue
		}
		if algo == httpcomp.Identity {
			c.CompByp.Add(in)
		} else {
			c.CompIn.Add(in)
			c.CompOut.Add(n)
		}
		c.CompRsp.Add(1)
	}
}

func beCounters(be *Backend) *counters.Proxy {
	if be == nil {
		return nil
	}
	return be.Counters
}

// Package counters holds the live counters the data plane bumps and the
// stats package reads. It is a leaf: no data-plane package imports stats.
package counters

import (
	"sync/atomic"
	"time"
)

// Proxy counts a frontend or a backend (a listen has one of each).
type Proxy struct {
	CurSess   atomic.Int64
	MaxSess   atomic.Int64
	TotSess   atomic.Uint64 // stot
	LastSess  atomic.Int64  // unix seconds of the last session
	BytesIn   atomic.Uint64 // from clients (frontend) / sent to servers (backend)
	BytesOut  atomic.Uint64
	DenyReq   atomic.Uint64 // dreq
	DenyResp  atomic.Uint64 // dresp
	DenyConn  atomic.Uint64 // dcon
	DenySess  atomic.Uint64 // dses: tcp-request session rejects
	ErrReq    atomic.Uint64 // ereq (frontend)
	ErrConn   atomic.Uint64 // econ (backend)
	ErrResp   atomic.Uint64 // eresp (backend)
	Retries   atomic.Uint64 // wretr
	WRew      atomic.Uint64 // wrew: header rewrites that did not fit (tune.maxrewrite)
	Redisp    atomic.Uint64 // wredis
	LbTot     atomic.Uint64 // lbtot (backend): load-balancing decisions
	ReqTot    atomic.Uint64 // req_tot
	ConnTot   atomic.Uint64 // conn_tot (frontend)
	Intercept atomic.Uint64 // intercepted requests (stats, redirects, returns)
	CliAbort  atomic.Uint64
	SrvAbort  atomic.Uint64
	HRsp      [6]atomic.Uint64 // 1xx, 2xx, 3xx, 4xx, 5xx, other
	// Compression (HAProxy's comp_in, comp_out, comp_byp, comp_rsp): body
	// bytes fed to the compressor, bytes it produced, bytes that went
	// through the identity algorithm, and compressed responses completed.
	CompIn, CompOut, CompByp, CompRsp atomic.Uint64
	// HTTP cache lookups and hits of the proxy's cache-use rules.
	CacheLookups, CacheHits atomic.Uint64
	Rate                    Rate      // sessions per second
	ReqRate                 Rate      // requests per second (frontend)
	RespTime                Histogram // backend: request sent -> response head (Tr)
	TotalTime               Histogram // backend: request head -> end of response (Ta)

	// Errors keeps the last invalid request (frontend) and response
	// (backend) for "show errors".
	Errors ErrorCapture

	// ReqHistory is requests per second over the last minute (frontend:
	// requests; backend: sessions; tcp mode: sessions), for the stats page.
	ReqHistory RateHistory
}

// CountSession records a new session and returns a func to end it.
func (p *Proxy) OpenSession(now time.Time) {
	cur := p.CurSess.Add(1)
	for {
		m := p.MaxSess.Load()
		if cur <= m || p.MaxSess.CompareAndSwap(m, cur) {
			break
		}
	}
	p.TotSess.Add(1)
	p.LastSess.Store(now.Unix())
	p.Rate.Tick(now)
}

// CloseSession ends a session opened by OpenSession.
func (p *Proxy) CloseSession() { p.CurSess.Add(-1) }

// CountStatus bumps the hrsp_Nxx counter for status.
func (p *Proxy) CountStatus(status int) {
	i := status/100 - 1
	if i < 0 || i > 4 {
		i = 5
	}
	p.HRsp[i].Add(1)
}

// Rate is a one-second event counter with the previous second kept, the
// way HAProxy reports "rate" (events over the last second).
type Rate struct {
	sec  atomic.Int64
	cur  atomic.Uint64
	prev atomic.Uint64
	max  atomic.Uint64
}

// Tick counts one event at now.
func (r *Rate) Tick(now time.Time) {
	s := now.Unix()
	if old := r.sec.Load(); old != s && r.sec.CompareAndSwap(old, s) {
		c := r.cur.Swap(0)
		if s == old+1 {
			r.prev.Store(c)
		} else {
			r.prev.Store(0)
		}
		if c > r.max.Load() {
			r.max.Store(c)
		}
	}
	r.cur.Add(1)
}

// Value returns events in the last complete second (or the current one if higher).
func (r *Rate) Value(now time.Time) uint64 {
	s := now.Unix()
	old := r.sec.Load()
	switch {
	case old == s:
		return max(r.prev.Load(), r.cur.Load())
	case old == s-1:
		return r.cur.Load()
	}
	return 0
}

// Max returns the highest per-second rate seen.
func (r *Rate) Max() uint64 { return max(r.max.Load(), r.cur.Load()) }

package counters

import (
	"sync/atomic"
	"time"
)

// TimeSamples is the window of HAProxy's response time averages
// (qtime, ctime, rtime, ttime): the last 1024 requests or connections.
const TimeSamples = 1024

// Server counts one server of a backend. Session fields mirror Proxy's so
// stats can render both with the same columns.
type Server struct {
	CurSess  atomic.Int64  // scur: connections/sessions currently using the server
	MaxSess  atomic.Int64  // smax
	TotSess  atomic.Uint64 // stot
	LastSess atomic.Int64  // unix seconds of the last session (lastsess)
	LbTot    atomic.Uint64 // lbtot: times the server was chosen by load balancing

	BytesIn  atomic.Uint64 // sent to the server
	BytesOut atomic.Uint64 // received from the server
	ErrConn  atomic.Uint64 // econ
	ErrResp  atomic.Uint64 // eresp
	Retries  atomic.Uint64 // wretr
	Redisp   atomic.Uint64 // wredis
	CliAbort atomic.Uint64
	SrvAbort atomic.Uint64
	ReqTot   atomic.Uint64 // req_tot
	HRsp     [6]atomic.Uint64

	// Connection reuse: new connections made and idle ones reused.
	Connect atomic.Uint64
	Reuse   atomic.Uint64

	// Sliding averages over the last TimeSamples samples, in milliseconds.
	QTime, CTime, RTime, TTime SlidingAvg

	Rate Rate // sessions per second
	// ReqHistory is sessions (requests) per second over the last minute,
	// for the stats page's sparkline.
	ReqHistory RateHistory

	// Latency distributions for Prometheus (HAProxy only has averages).
	RespTime  Histogram // request sent -> response head (Tr)
	TotalTime Histogram // request head -> end of response (Ta)
}

// CountStatus bumps the hrsp_Nxx counter for status.
func (s *Server) CountStatus(status int) {
	i := status/100 - 1
	if i < 0 || i > 4 {
		i = 5
	}
	s.HRsp[i].Add(1)
}

// OpenSession records a session start at now (the current count is kept by
// the caller in CurSess, which may be bounded by maxconn).
func (s *Server) OpenSession(now time.Time) {
	s.TotSess.Add(1)
	s.LastSess.Store(now.Unix())
	s.Rate.Tick(now)
}

// NoteCur raises MaxSess to cur when higher.
func (s *Server) NoteCur(cur int64) {
	for {
		m := s.MaxSess.Load()
		if cur <= m || s.MaxSess.CompareAndSwap(m, cur) {
			return
		}
	}
}

// SlidingAvg is HAProxy's "swrate": a sum that decays by 1/n per sample, so
// sum/n approximates the average of the last n samples without keeping
// them. Until n samples were seen the window is the number seen, so the
// first values are not diluted by zeros.
type SlidingAvg struct {
	sum   atomic.Uint64
	count atomic.Uint64
}

// Add records one sample.
func (a *SlidingAvg) Add(v uint64) {
	n := a.count.Add(1)
	for {
		old := a.sum.Load()
		var decay uint64
		if n > TimeSamples {
			decay = (old + TimeSamples - 1) / TimeSamples
		}
		if a.sum.CompareAndSwap(old, old-decay+v) {
			return
		}
	}
}

// AddDuration records d in milliseconds.
func (a *SlidingAvg) AddDuration(d time.Duration) {
	if d < 0 {
		d = 0
	}
	a.Add(uint64(d / time.Millisecond))
}

// Avg returns the current average (0 before any sample).
func (a *SlidingAvg) Avg() uint64 {
	n := min(a.count.Load(), TimeSamples)
	if n == 0 {
		return 0
	}
	return (a.sum.Load() + n - 1) / n
}

// Samples returns how many samples were recorded in total.
func (a *SlidingAvg) Samples() uint64 { return a.count.Load() }

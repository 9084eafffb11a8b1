package app

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/stats"
)

// newRates is the process-wide limits state for cfg: maxconnrate,
// maxsessrate, maxsslrate, maxcomprate, maxcompcpuusage.
func newRates(cfg *config.Config) *ratelimit.Process {
	r := cfg.Global.Rates
	return ratelimit.NewProcess(ratelimit.Config{ConnRate: r.ConnRate, SessRate: r.SessRate, SSLRate: r.SSLRate, MaxSSLConn: r.MaxSSLConn,
		CompRate: r.CompRate, CompCPU: r.CompCPU, CompCPUSet: r.CompCPUSet})
}

// bindGate is what the accept loop of one bind checks and counts: the
// process's limits, its frontend's rate-limit sessions (fe, nil without)
// and, for an SSL bind, maxsslrate. afterRules: tcp-request connection
// rules decide whether each connection is a session (they report it).
func (b *builder) bindGate(fe *ratelimit.Frontend, bind *config.Bind, afterRules bool) *ratelimit.Gate {
	return &ratelimit.Gate{P: b.g.Rates, FE: fe, SSL: bind.SSL, AfterRules: afterRules}
}

func nowMillis() int64 { return ratelimit.Millis(clock.Mono()) }

// waitRate holds the accept loop while a rate limit is reached: nothing
// is accepted, the connections wait in the kernel's backlog, and a timer
// ends the wait at the first moment the rates allow one more (a "set
// rate-limit" ends it earlier). False, when the box is replaced or the
// listener stops meanwhile.
func (b *handlerBox) waitRate(stop <-chan struct{}) bool {
	g := b.gate
	if g == nil || g.Delay(nowMillis()) == 0 {
		return true
	}
	for {
		changed := g.P.Changed() // before Delay: a Set after it closes this one
		d := g.Delay(nowMillis())
		if d == 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-changed:
			t.Stop()
		case <-b.replaced:
			t.Stop()
			return false
		case <-stop:
			t.Stop()
			return false
		}
	}
}

// accepted counts a connection the box's listener accepted.
func (b *handlerBox) accepted() {
	if b.gate != nil {
		b.gate.Accepted(nowMillis())
	}
}

// rateInfo fills the process's rates and limits of "show info".
func (g *Graph) rateInfo(in *stats.Info) {
	p := g.Rates
	if p == nil {
		return
	}
	now := nowMillis()
	in.ConnRate = p.Conn.Read(now)
	in.ConnRateLimit, in.MaxConnRate = p.Get(ratelimit.ConnLimit), p.Conn.Max()
	in.SessRate, in.SessRateLimit, in.MaxSessRate = p.Sess.Read(now), p.Get(ratelimit.SessLimit), p.Sess.Max()
	in.SSLRate, in.SSLRateLimit, in.MaxSSLRate = p.SSL.Read(now), p.Get(ratelimit.SSLLimit), p.SSL.Max()
	in.CompBpsIn, in.CompBpsOut, in.CompBpsLim = p.CompIn.Read(now), p.CompOut.Read(now), p.Get(ratelimit.CompLimit)
}

// compLimits gives the compression stage the process's limits and the
// idle measure maxcompcpuusage compares with.
func (b *builder) compLimits() *proxy.CompLimits {
	idle := b.g.idle
	return &proxy.CompLimits{P: b.g.Rates, Idle: func() int { return idle.percent(time.Now()) }}
}

// SetRateLimit is the runtime API's "set rate-limit ... global".
func (t *graphTarget) SetRateLimit(l ratelimit.Limit, v uint64) { t.ops.g.Rates.Set(l, v) }

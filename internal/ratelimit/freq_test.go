package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestCounterSlides: HAProxy's freq_ctr arithmetic on a driven clock: the
// current period counts whole, the previous one by the share of the
// period still ahead, nothing after two periods.
func TestCounterSlides(t *testing.T) {
	var c Counter
	if c.Read(5) != 0 {
		t.Fatal("an unused counter reads 0")
	}
	base := int64(10_000)
	for range 10 {
		c.Add(base, 1)
	}
	for _, s := range []struct {
		at   int64
		want uint64
	}{
		{base, 10}, {base + 999, 10}, {base + 1000, 10}, // still the first period
		{base + 1250, 7}, // previous period: 10 * 750/1000
		{base + 1500, 5},
		{base + 1900, 1}, // 10 * 100/1000
		{base + 2001, 0}, // two periods later: gone
		{base + 9000, 0},
	} {
		if got := c.Read(s.at); got != s.want {
			t.Errorf("Read(+%d) = %d, want %d", s.at-base, got, s.want)
		}
	}
	// One event a second does not flap between 0 and 1.
	var one Counter
	one.Add(0, 1)
	if got := one.Read(1700); got != 1 {
		t.Errorf("a single event reads %d late in the next period, want 1", got)
	}
	if c.Max() != 10 {
		t.Errorf("Max %d, want 10", c.Max())
	}
	if got := c.Add(base+1100, 3); got != 3 {
		t.Errorf("Add in a new period returns %d, want its count 3", got)
	}
	if c.Remain(base+1100, 20, 0) != 20-(3+9) {
		t.Errorf("Remain %d, want 8 (3 now + 9 of the previous 10)", c.Remain(base+1100, 20, 0))
	}
	if c.Remain(base+1100, 20, 8) != 0 {
		t.Errorf("8 pending events use what remains")
	}
}

// TestDelayIsFirstFreeMillisecond: Delay names exactly the first
// millisecond at which Remain allows an event, for random histories
// (checked by walking the clock one millisecond at a time).
func TestDelayIsFirstFreeMillisecond(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var c Counter
		now := int64(r.IntN(5000))
		freq := uint64(1 + r.IntN(50))
		for range r.IntN(int(3 * freq)) {
			now += int64(r.IntN(60))
			c.Add(now, 1)
		}
		now += int64(r.IntN(1500))
		pend := uint64(r.IntN(3))
		if pend >= freq {
			pend = 0
		}
		d := c.Delay(now, freq, pend)
		want := int64(0)
		for c.Remain(now+want, freq, pend) == 0 {
			want++
			if want > 3000 {
				t.Fatalf("case %d: never free", i)
			}
		}
		if want == 0 && d != 0 || want > 0 && d != time.Duration(want)*time.Millisecond {
			t.Fatalf("case %d (freq %d, pend %d): Delay %v, first free after %dms", i, freq, pend, d, want)
		}
	}
}

// TestPausedAcceptRate: a listener that waits Delay and then accepts, with
// 100 connections waiting, accepts the limit in the first second and the
// limit in each second after (one every 1/limit s), never more: the
// sliding window of HAProxy's maxconnrate, on a driven clock.
func TestPausedAcceptRate(t *testing.T) {
	for _, limit := range []uint64{1, 7, 20, 333} {
		var c Counter
		now := int64(50_000)
		start := now
		perSec := map[int64]uint64{}
		waits, accepted := 0, 0
		for accepted < 100 || now-start < 3000 {
			d := c.Delay(now, limit, 0)
			if d > 0 {
				now += d.Milliseconds()
				waits++
				continue
			}
			c.Add(now, 1)
			accepted++
			perSec[(now-start)/1000]++
		}
		for s := int64(0); s < 3; s++ {
			if perSec[s] != limit {
				t.Errorf("limit %d: second %d accepted %d", limit, s, perSec[s])
			}
		}
		// At most one timer per accept past the first burst, never a spin.
		if waits > accepted {
			t.Errorf("limit %d: %d waits for %d accepts", limit, waits, accepted)
		}
	}
}

// TestGatePending: with connection rules the session counts once they
// accept it; until they ran it holds its place against maxsessrate, and a
// rejected one never counts.
func TestGatePending(t *testing.T) {
	p := NewProcess(Config{SessRate: 2, SSLRate: 1})
	g := &Gate{P: p, AfterRules: true, SSL: true}
	if g.Delay(0) != 0 {
		t.Fatal("limited before any connection")
	}
	g.Accepted(0)
	if g.Delay(0) == 0 {
		t.Fatal("maxsslrate 1: a pending SSL session must hold the listener")
	}
	g.Admitted(1, false)
	if p.Sess.Read(1) != 0 || p.SSL.Read(1) != 0 || p.Conn.Read(1) != 1 {
		t.Fatalf("rejected: sess %d ssl %d conn %d, want 0 0 1", p.Sess.Read(1), p.SSL.Read(1), p.Conn.Read(1))
	}
	if g.Delay(1) != 0 {
		t.Fatal("a rejected connection still holds the listener")
	}
	g.Accepted(2)
	g.Admitted(2, true)
	if p.Sess.Read(3) != 1 || p.SSL.Read(3) != 1 {
		t.Fatalf("admitted: sess %d ssl %d", p.Sess.Read(3), p.SSL.Read(3))
	}
	if d := g.Delay(3); d < 999*time.Millisecond {
		t.Fatalf("maxsslrate 1 reached: Delay %v, want about a second", d)
	}
	// A plain bind is not held by maxsslrate, only by maxsessrate (2).
	plain := &Gate{P: p}
	if plain.Delay(3) != 0 {
		t.Fatal("a plain bind waits on maxsslrate")
	}
	plain.Accepted(3)
	if plain.Delay(4) == 0 {
		t.Fatal("maxsessrate 2 reached, the plain bind accepts on")
	}
	// set rate-limit sessions global 0 lifts it and wakes the waiters.
	ch := p.Changed()
	p.Set(SessLimit, 0)
	select {
	case <-ch:
	default:
		t.Fatal("Set did not wake the waiters")
	}
	if plain.Delay(4) != 0 {
		t.Fatal("still limited after the limit was lifted")
	}
}

// TestFrontendLimit: rate-limit sessions holds its frontend only.
func TestFrontendLimit(t *testing.T) {
	p := NewProcess(Config{})
	fe := NewFrontend(3)
	a, b := &Gate{P: p, FE: fe}, &Gate{P: p}
	for range 3 {
		if a.Delay(0) != 0 {
			t.Fatal("limited too early")
		}
		a.Accepted(0)
	}
	if a.Delay(0) == 0 {
		t.Fatal("the limited frontend accepts a fourth session in its second")
	}
	if b.Delay(0) != 0 {
		t.Fatal("another frontend is held by rate-limit sessions")
	}
	if NewFrontend(0) != nil || (*Frontend)(nil).Limit() != 0 {
		t.Fatal("rate-limit sessions 0 is no limit")
	}
}

// TestCompressLimits: maxcomprate compares the input rate with the limit
// in bytes; maxcompcpuusage the idle percentage with 100-usage.
func TestCompressLimits(t *testing.T) {
	p := NewProcess(Config{CompRate: 1, CompCPU: 80, CompCPUSet: true})
	idle := func(v int) func() int { return func() int { return v } }
	if !p.Compress(0, idle(50)) {
		t.Fatal("nothing compressed yet, idle 50% >= 20%: compress")
	}
	p.Compressed(0, 1024, 100)
	if !p.Compress(0, idle(50)) {
		t.Fatal("1024 B/s is not above 1 kB/s")
	}
	p.Compressed(0, 1, 0)
	if p.Compress(0, idle(50)) {
		t.Fatal("1025 B/s is above maxcomprate 1")
	}
	if !p.Compress(2001, idle(50)) {
		t.Fatal("two seconds later the rate is 0")
	}
	if p.Compress(2001, idle(19)) {
		t.Fatal("idle 19% < 100-80: no compression")
	}
	if !p.Compress(2001, idle(-1)) {
		t.Fatal("an unmeasured idle does not stop compression")
	}
	p.Set(CompLimit, 0)
	if NewProcess(Config{CompCPU: 100, CompCPUSet: true}).minIdle != 0 {
		t.Fatal("maxcompcpuusage 100 is no limit")
	}
}

// BenchmarkGateAccept: what every accepted connection costs the accept
// loop without a limit set (the counters still count for show info), and
// with one that is not reached.
func BenchmarkGateAccept(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"unlimited", Config{}}, {"limited", Config{ConnRate: 1 << 30, SessRate: 1 << 30}}} {
		b.Run(c.name, func(b *testing.B) {
			g := &Gate{P: NewProcess(c.cfg)}
			for i := range b.N {
				now := int64(i) / 1000
				if g.Delay(now) != 0 {
					b.Fatal("limited")
				}
				g.Accepted(now)
			}
		})
	}
}

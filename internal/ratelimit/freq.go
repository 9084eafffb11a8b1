// Package ratelimit holds the per-process and per-frontend rate limits of
// HAProxy's configuration (maxconnrate, maxsessrate, maxsslrate,
// maxcomprate, maxcompcpuusage, rate-limit sessions) and the one-second
// event counters they are measured with, HAProxy's freq_ctr. It is a leaf:
// the listeners (app), the compression stage (proxy) and the statistics
// read it; it knows nothing of them.
package ratelimit

import (
	"sync"
	"time"
)

// period is a counter's period in milliseconds: every limit here is per
// second.
const period = 1000

// Counter counts events over one-second periods as HAProxy's freq_ctr
// does: the count of the current period plus the previous period's count
// weighted by the part of the period still ahead, so the rate slides
// instead of dropping to zero at each boundary. Times are milliseconds of
// a monotonic clock (Millis), passed in so that tests drive the clock.
type Counter struct {
	mu      sync.Mutex
	started bool
	tick    int64  // start of the current period (ms)
	curr    uint64 // events in the current period
	prev    uint64 // events in the previous period
	max     uint64 // highest count a period reached (HAProxy's cps_max, sps_max, ...)
}

// roll starts a new period when the current one is over: its count
// becomes the previous one when exactly one period passed, both are
// cleared after two or more (update_freq_ctr_period).
func (c *Counter) roll(now int64) {
	if !c.started {
		c.started, c.tick = true, now
		return
	}
	el := now - c.tick
	if el < period {
		return
	}
	if el < 2*period {
		c.prev = c.curr
		c.tick += period
	} else {
		c.prev = 0
		c.tick = now
	}
	c.curr = 0
}

// Add counts n events at now and returns the current period's count, as
// update_freq_ctr does; the highest such count is Max.
func (c *Counter) Add(now int64, n uint64) uint64 {
	c.mu.Lock()
	c.roll(now)
	c.curr += n
	v := c.curr
	c.max = max(c.max, v)
	c.mu.Unlock()
	return v
}

// total is freq_ctr_total: curr*period + prev*(ms left in the period),
// with pend events counted in the current period. The caller holds mu.
func (c *Counter) total(now int64, pend uint64) uint64 {
	if !c.started {
		return pend * period
	}
	curr, past := c.curr, c.prev
	remain := c.tick + period - now
	if remain < 0 {
		// Past the period: what it counted is the previous one now,
		// weighted by what is left of the next; gone after two.
		remain += period
		past, curr = curr, 0
		if remain < 0 {
			past, remain = 0, 0
		}
	}
	remain = min(remain, period) // a reading older than tick: the whole period
	return past*uint64(remain) + (curr+pend)*period
}

// Read is the rate at now (read_freq_ctr): events over the last second,
// the previous period's share included. A rate of at most one event per
// period with nothing new reads as that event, so that it does not flap
// between 0 and 1 as HAProxy avoids.
func (c *Counter) Read(now int64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return 0
	}
	t := c.total(now, 0)
	remain := c.tick + period - now
	past, curr := c.prev, c.curr
	if remain < 0 {
		past, curr = curr, 0
		if remain+period < 0 {
			past = 0
		}
	}
	if past <= 1 && curr == 0 {
		return past
	}
	return t / period
}

// Max is the highest count a period reached.
func (c *Counter) Max() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

// Remain is how many more events may happen at now without exceeding
// freq per second, pend events being already under way
// (freq_ctr_remain); 0 when the limit is reached.
func (c *Counter) Remain(now int64, freq, pend uint64) uint64 {
	c.mu.Lock()
	avg := c.total(now, pend) / period
	c.mu.Unlock()
	if avg >= freq {
		return 0
	}
	return freq - avg
}

// pendRecheck is how long to wait when pending events alone hold the
// limit: they end as soon as their connection rules ran, which no clock
// tells.
const pendRecheck = 5 * time.Millisecond

// Delay is how long to wait from now until Remain is above 0, given no new
// event: 0 when it already is. Unlike HAProxy's next_event_delay, which
// polls again every millisecond while the limit holds, it computes when
// the previous period's weight has decayed enough, so a paused listener
// sleeps until the moment it may accept.
func (c *Counter) Delay(now int64, freq, pend uint64) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := freq * period
	if c.total(now, pend) < limit {
		return 0
	}
	if pend*period >= limit {
		return pendRecheck
	}
	at := c.freeAt(now, limit, pend)
	return time.Duration(max(at-now, 1)) * time.Millisecond
}

// freeAt is the first millisecond t >= now at which total(t) < limit.
// Within the current period total decays as prev*(tick+period-t); once it
// is over, the current count decays in turn over the next period.
func (c *Counter) freeAt(now int64, limit, pend uint64) int64 {
	end := c.tick + period
	if now <= end {
		fixed := (c.curr + pend) * period
		if fixed < limit {
			// prev*x < limit-fixed, x the ms left in the period: the
			// largest such x, then the time it is reached.
			x := int64((limit - fixed - 1) / max(c.prev, 1))
			return max(end-x, now)
		}
		now = end + 1
	}
	if now > end+period {
		return now
	}
	if c.curr == 0 {
		return now
	}
	x := int64((limit - pend*period - 1) / c.curr)
	return max(end+period-x, now, end+1)
}

// Millis converts a monotonic reading (clock.Mono, ns) to the counters'
// milliseconds.
func Millis(mono int64) int64 { return mono / int64(time.Millisecond) }

// Package clock reads the monotonic clock the cheap way.
//
// time.Now reads two clocks (wall and monotonic: two vDSO calls, ~40 ns
// each on this class of VM); the hot path only compares and adds
// durations, for which the monotonic reading alone is enough, and the
// wall time it logs can be derived from the monotonic one. HAProxy goes
// further and reads the clock once per poll loop; a Go proxy has no poll
// loop of its own, so the saving here is in reading one clock, and in
// reading it only where a wait ended.
package clock

import (
	"sync/atomic"
	"time"
)

var epoch = time.Now()

// Mono returns monotonic nanoseconds since the process started.
func Mono() int64 { return int64(time.Since(epoch)) }

// resyncEvery bounds how long the wall time derived from the monotonic
// clock may lag a step of the system's clock (NTP, an operator): Now reads
// the wall clock again once this much monotonic time has passed.
const resyncEvery = time.Second

// anchor pairs a wall clock reading with the Mono reading it was taken at.
type anchor struct {
	wall time.Time // carries its own monotonic reading
	mono int64
}

var current atomic.Pointer[anchor]

func init() { current.Store(&anchor{wall: epoch}) }

// Now is time.Now from one clock read: the monotonic reading is exact and
// the wall time is the last wall reading plus the monotonic time since,
// taken again every resyncEvery.
func Now() time.Time { return at(Mono(), true) }

// Time converts a Mono reading to a time.Time (monotonic reading exact,
// wall time as Now's), for deadlines and timestamps.
func Time(mono int64) time.Time { return at(mono, false) }

func at(mono int64, resync bool) time.Time {
	a := current.Load()
	if resync && mono-a.mono >= int64(resyncEvery) {
		wall := time.Now()
		a = &anchor{wall: wall, mono: At(wall)}
		current.Store(a)
	}
	return a.wall.Add(time.Duration(mono - a.mono))
}

// At converts t (which must carry a monotonic reading, as time.Now's and
// Now's do) to a Mono reading.
func At(t time.Time) int64 { return int64(t.Sub(epoch)) }

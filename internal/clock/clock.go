// Package clock reads the monotonic clock the cheap way.
//
// time.Now reads two clocks (wall and monotonic: two vDSO calls, ~40 ns
// each on this class of VM); the hot path only compares and adds
// durations, for which the monotonic reading alone is enough. HAProxy
// goes further and reads the clock once per poll loop; a Go proxy has no
// poll loop of its own, so the saving here is in reading one clock, and
// in reading it only where a wait ended.
package clock

import "time"

var epoch = time.Now()

// Mono returns monotonic nanoseconds since the process started.
func Mono() int64 { return int64(time.Since(epoch)) }

// Time converts a Mono reading to a time.Time (wall clock derived from
// the process start, monotonic reading exact), for APIs such as
// net.Conn.SetDeadline that take one.
func Time(mono int64) time.Time { return epoch.Add(time.Duration(mono)) }

// At converts t (which must carry a monotonic reading, as time.Now's do)
// to a Mono reading.
func At(t time.Time) int64 { return int64(t.Sub(epoch)) }

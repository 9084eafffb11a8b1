package counters

import (
	"sync/atomic"
	"time"
)

// HistorySeconds is how many seconds a RateHistory reports.
const HistorySeconds = 60

// historySlots is the ring size: more than HistorySeconds so that the slot
// of the second being counted is never one being reported, and a power of
// two so that the slot is a mask of the second.
const historySlots = 64

// RateHistory counts events per second over the last minute, for the stats
// page's sparklines. Tick is lock-free and allocation-free: on the hot path
// one atomic load and one atomic add; once per second and slot a
// compare-and-swap starts the slot's new second. The zero value is ready.
//
// Each slot packs the low 32 bits of its Unix second (high half) with the
// count of that second (low half), so a slot is restarted and counted with
// single-word atomics and a reader never sees a count with the wrong second.
type RateHistory struct {
	slots [historySlots]atomic.Uint64
}

// Tick counts one event at now. Events more than a ring's length older
// than the slot's current second are dropped rather than erasing newer
// counts.
func (h *RateHistory) Tick(now time.Time) {
	sec := uint32(now.Unix())
	slot := &h.slots[sec&(historySlots-1)]
	for {
		v := slot.Load()
		switch stamp := uint32(v >> 32); {
		case stamp == sec:
			slot.Add(1)
			return
		case int32(sec-stamp) < 0 && v != 0:
			return // a stale clock reading: its second has left the ring
		}
		if slot.CompareAndSwap(v, uint64(sec)<<32|1) {
			return
		}
	}
}

// Snapshot returns the counts of the HistorySeconds complete seconds before
// now's second, oldest first: the last element is the second before now,
// as HAProxy's "rate" columns report the last second. Seconds without
// events are 0.
func (h *RateHistory) Snapshot(now time.Time) [HistorySeconds]uint64 {
	var out [HistorySeconds]uint64
	cur := uint32(now.Unix())
	for i := range out {
		sec := cur - HistorySeconds + uint32(i)
		v := h.slots[sec&(historySlots-1)].Load()
		if uint32(v>>32) == sec {
			out[i] = v & 0xffffffff
		}
	}
	return out
}

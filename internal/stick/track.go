package stick

import (
	"encoding/binary"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/clock"
)

// KeyIPAddr returns the key of an address in a table of type ip or ipv6:
// an ip table takes IPv4 addresses and IPv4-mapped IPv6 ones, an ipv6
// table stores every address in its IPv6 form, as HAProxy converts them.
func (t *Table) KeyIPAddr(a netip.Addr) (string, bool) {
	switch t.cfg.Type {
	case KeyIP:
		a = a.Unmap()
		if !a.Is4() {
			return "", false
		}
		b := a.As4()
		return string(b[:]), true
	case KeyIPv6:
		b := a.As16()
		return string(b[:]), true
	}
	return "", false
}

// AppendKeyIP appends the key of a to dst as KeyIPAddr does, without
// allocating: the data path tracks the client address on every request.
func (t *Table) AppendKeyIP(dst []byte, a netip.Addr) ([]byte, bool) {
	switch t.cfg.Type {
	case KeyIP:
		a = a.Unmap()
		if !a.Is4() {
			return dst, false
		}
		b := a.As4()
		return append(dst, b[:]...), true
	case KeyIPv6:
		b := a.As16()
		return append(dst, b[:]...), true
	}
	return dst, false
}

// KeyInt returns the key of an integer (a 32-bit key, as HAProxy's).
func (t *Table) KeyInt(v int64) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(v)))
	return string(b[:])
}

// KeyString returns the key of a string or binary: strings are cut at the
// table's len, binaries cut or padded with zeros to it.
func (t *Table) KeyString(s string) string {
	n := t.cfg.KeyLen
	if len(s) > n {
		s = s[:n]
	}
	if t.cfg.Type == KeyBinary && len(s) < n {
		b := make([]byte, n)
		copy(b, s)
		s = string(b)
	}
	return s
}

// Slots is the number of tracking counters (sc0..sc2).
const Slots = 3

type tracked struct {
	t *Table
	e *Entry
	// inherited: the session's tracking, lent to a stream (inherit.go);
	// the stream's Release leaves it to the session.
	inherited bool
}

// Tracker holds the entries a stream tracks (track-sc0..2). Its zero value
// tracks nothing. One stream uses it at a time; Release ends the tracking.
type Tracker struct {
	s [Slots]tracked
	// Clock is the stream's clock reading (clock.Mono), which its owner
	// zeroes whenever something may have waited: a zero one is read and
	// kept. Tables on the default clock use it instead of a reading per
	// operation, as HAProxy's now_ms is one per poll loop. nil: read the
	// clock every time.
	Clock *int64
}

// now returns the time in ms for an operation on t.
func (k *Tracker) now(t *Table) int64 {
	if k.Clock == nil || !t.mono {
		return t.now()
	}
	if *k.Clock == 0 {
		*k.Clock = clock.Mono()
	}
	return msOf(*k.Clock)
}

// Tracking reports whether slot n tracks an entry, and in which table.
func (k *Tracker) Tracking(n int) (*Table, bool) {
	if n < 0 || n >= Slots || k.s[n].e == nil {
		return nil, false
	}
	return k.s[n].t, true
}

// Key returns the key slot n tracks.
func (k *Tracker) Key(n int) string { return k.s[n].e.key }

// Track starts tracking key of table t in slot n, unless the slot already
// tracks something (only the first track-scN applies). As HAProxy's
// stream_track_stkctr, it counts a connection: conn_cur, conn_cnt and
// conn_rate; http also counts the request (http_req_cnt, http_req_rate),
// as an http-request track-sc does. It returns false when the slot was in
// use or the table is full.
func (k *Tracker) Track(n int, t *Table, key string, http bool) bool {
	return k.track(n, t, nil, key, http)
}

// TrackBytes is Track with the key in a buffer: no allocation unless a
// new entry is made.
func (k *Tracker) TrackBytes(n int, t *Table, key []byte, http bool) bool {
	return k.track(n, t, key, "", http)
}

func (k *Tracker) track(n int, t *Table, kb []byte, key string, http bool) bool {
	if k.s[n].e != nil {
		return false
	}
	now := k.now(t)
	t.mu.Lock()
	var e *Entry
	if kb != nil {
		e = t.m[string(kb)]
	} else {
		e = t.m[key]
	}
	if e == nil || t.expired(e, now) {
		if kb != nil {
			key = string(kb)
		}
		var err error
		if e, err = t.getLocked(key, true, now); err != nil {
			t.mu.Unlock()
			return false
		}
	}
	e.ref++
	t.addPair(e, ConnCnt, ConnRate, 1, now)
	if o := t.off[ConnCur]; o >= 0 {
		e.data[o]++
	}
	if http {
		t.addPair(e, HTTPReqCnt, HTTPReqRate, 1, now)
	}
	t.touch(e, now)
	t.mu.Unlock()
	k.s[n] = tracked{t: t, e: e}
	return true
}

// Release ends every tracking: conn_cur goes down and the entries' idle
// expiry starts again from now.
func (k *Tracker) Release() {
	for i := range k.s {
		s := &k.s[i]
		if s.e == nil || s.inherited {
			*s = tracked{}
			continue
		}
		t := s.t
		now := k.now(t)
		t.mu.Lock()
		if o := t.off[ConnCur]; o >= 0 && s.e.data[o] > 0 {
			s.e.data[o]--
		}
		s.e.ref--
		if s.e.next != nil { // still in the table
			t.touchAs(s.e, now, false) // conn_cur is never shared
		}
		t.mu.Unlock()
		*s = tracked{}
	}
}

// slot returns the tracking of counter n, or nil.
func (k *Tracker) slot(n int) *tracked {
	if n < 0 || n >= Slots || k.s[n].e == nil {
		return nil
	}
	return &k.s[n]
}

// Get reads d of the entry slot n tracks; ok is false when the slot tracks
// nothing or the table does not have d (the fetch then fails, as in
// HAProxy; gpc0, gpc1, their rates and gpt0 fall back to the arrays).
func (k *Tracker) Get(n int, d DataType) (v uint64, ok bool) { return k.GetAt(n, d, 0) }

// GetAt is Get of element idx of an array type.
func (k *Tracker) GetAt(n int, d DataType, idx int) (v uint64, ok bool) {
	s := k.slot(n)
	if s == nil {
		return 0, false
	}
	t := s.t
	d, idx = t.find(d, idx)
	o := t.word(d, idx)
	if o < 0 {
		return 0, false
	}
	now := k.now(t)
	t.mu.Lock()
	v = t.readAt(s.e, d, o, now)
	t.mu.Unlock()
	return v, true
}

// IncGPC increments gpc0 or gpc1 (idx) and its rate in slot n and returns
// the new counter (0 when only the rate is stored); ok is false when the
// slot tracks nothing or the table stores neither. A table storing the
// gpc/gpc_rate arrays instead has their element idx incremented, as
// HAProxy's sc-inc-gpc0/1 and sc_inc_gpc0/1 do.
func (k *Tracker) IncGPC(n, idx int) (v uint64, ok bool) {
	if s := k.slot(n); s != nil {
		return s.t.addEntry(s.e, gpcRef(s.t, idx, false), 1)
	}
	return 0, false
}

// IncGPCAt increments element idx of the gpc array and of gpc_rate, as
// sc-inc-gpc(idx,n) and sc_inc_gpc(idx,n) do (no fallback to gpc0/gpc1).
func (k *Tracker) IncGPCAt(n, idx int) (v uint64, ok bool) { return k.AddGPCAt(n, idx, 1) }

// AddGPCAt adds v (cut to 32 bits) to element idx of gpc and gpc_rate
// (sc-add-gpc); the entry is refreshed even when v is 0.
func (k *Tracker) AddGPCAt(n, idx int, v uint64) (uint64, bool) {
	if s := k.slot(n); s != nil {
		return s.t.addEntry(s.e, gpcRef(s.t, idx, true), uint64(uint32(v)))
	}
	return 0, false
}

// ClearGPC sets gpc0 or gpc1 (or the gpc array's element standing for
// it) to 0 and returns its previous value.
func (k *Tracker) ClearGPC(n, idx int) (v uint64, ok bool) {
	if s := k.slot(n); s != nil {
		r := gpcRef(s.t, idx, false)
		return s.t.swapEntry(s.e, r.c, r.ci, 0)
	}
	return 0, false
}

// ClearGPCAt sets element idx of the gpc array to 0 and returns its
// previous value (sc_clr_gpc).
func (k *Tracker) ClearGPCAt(n, idx int) (v uint64, ok bool) {
	if s := k.slot(n); s != nil {
		return s.t.swapEntry(s.e, GPC, idx, 0)
	}
	return 0, false
}

// SetGPT0 sets gpt0 (or gpt[0] in a table storing the gpt array) in slot
// n; false when nothing is tracked or stored.
func (k *Tracker) SetGPT0(n int, v uint64) bool {
	if s := k.slot(n); s != nil {
		d, i := s.t.find(GPT0, 0)
		_, ok := s.t.swapEntry(s.e, d, i, v)
		return ok
	}
	return false
}

// SetGPTAt sets element idx of the gpt array (sc-set-gpt).
func (k *Tracker) SetGPTAt(n, idx int, v uint64) bool {
	if s := k.slot(n); s != nil {
		_, ok := s.t.swapEntry(s.e, GPT, idx, v)
		return ok
	}
	return false
}

// CountSession counts a session (sess_cnt, sess_rate) on every entry
// tracked now. HAProxy's session_count_new runs once the tcp-request
// connection and session rules accepted the connection, before the
// content rules: only their trackers count it.
func (k *Tracker) CountSession() { k.count(SessCnt, SessRate, 1) }

// AddBytes counts bytes from the client (in) and to it (out) on every
// tracked entry: bytes_in_cnt/rate and bytes_out_cnt/rate.
func (k *Tracker) AddBytes(in, out uint64) {
	if in > 0 {
		k.count(BytesInCnt, BytesInRate, in)
	}
	if out > 0 {
		k.count(BytesOutCnt, BytesOutRate, out)
	}
}

// Response counts a response's status on every tracked entry, as HAProxy
// does at the end of a response: a 4xx is an HTTP error (http_err_cnt,
// http_err_rate), a 5xx other than 501 and 505 a failure (http_fail_*).
func (k *Tracker) Response(status int) {
	switch {
	case status >= 400 && status < 500:
		k.count(HTTPErrCnt, HTTPErrRate, 1)
	case status >= 500 && status < 600 && status != 501 && status != 505:
		k.count(HTTPFailCnt, HTTPFailRate, 1)
	}
}

// Denied counts a request an http-request deny refused, whatever its
// status: HAProxy counts it as an HTTP error (http_err_cnt, http_err_rate).
func (k *Tracker) Denied() { k.count(HTTPErrCnt, HTTPErrRate, 1) }

func (k *Tracker) count(cnt, rate DataType, n uint64) {
	for i := range k.s {
		s := &k.s[i]
		if s.e == nil {
			continue
		}
		t := s.t
		if t.off[cnt] < 0 && t.off[rate] < 0 {
			continue
		}
		now := k.now(t)
		t.mu.Lock()
		t.addPair(s.e, cnt, rate, n, now)
		if t.onChange != nil {
			t.onChange(s.e.key, true)
		}
		t.mu.Unlock()
	}
}

// Stream is a stream's stick-table stage: the counters it tracks, the
// tables its rules may name, and the table of the proxy whose rules run
// (the default of src_* fetches and track-sc without 'table').
type Stream struct {
	Tracker
	Tables  map[string]*Table // every table by proxy name; shared, read-only
	Current *Table
}

// Table returns the table named name, or the current one for "".
func (s *Stream) Table(name string) *Table {
	if name == "" {
		return s.Current
	}
	return s.Tables[name]
}

package stick

import (
	"encoding/binary"
	"net/netip"
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
	now := t.now()
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
	t.addLocked(e, ConnCnt, ConnRate, 1, now)
	if o := t.off[ConnCur]; o >= 0 {
		e.data[o]++
	}
	if http {
		t.addLocked(e, HTTPReqCnt, HTTPReqRate, 1, now)
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
		now := t.now()
		t.mu.Lock()
		if o := t.off[ConnCur]; o >= 0 && s.e.data[o] > 0 {
			s.e.data[o]--
		}
		s.e.ref--
		if _, live := t.m[s.e.key]; live {
			t.touch(s.e, now)
		}
		t.mu.Unlock()
		*s = tracked{}
	}
}

// Get reads d of the entry slot n tracks; ok is false when the slot tracks
// nothing or the table does not store d (the fetch then fails, as in HAProxy).
func (k *Tracker) Get(n int, d DataType) (v uint64, ok bool) {
	if n < 0 || n >= Slots {
		return 0, false
	}
	s := &k.s[n]
	if s.e == nil || s.t.off[d] < 0 {
		return 0, false
	}
	t := s.t
	now := t.now()
	t.mu.Lock()
	v = t.readLocked(s.e, d, now)
	t.mu.Unlock()
	return v, true
}

// IncGPC increments gpc0 or gpc1 (idx) and its rate in slot n and returns
// the new counter (0 when only the rate is stored); ok is false when the
// slot tracks nothing or the table stores neither.
func (k *Tracker) IncGPC(n, idx int) (v uint64, ok bool) {
	cnt, rate := GPC0, GPC0Rate
	if idx == 1 {
		cnt, rate = GPC1, GPC1Rate
	}
	if n < 0 || n >= Slots || k.s[n].e == nil {
		return 0, false
	}
	s := &k.s[n]
	t := s.t
	if t.off[cnt] < 0 && t.off[rate] < 0 {
		return 0, false
	}
	now := t.now()
	t.mu.Lock()
	t.addLocked(s.e, cnt, rate, 1, now)
	if o := t.off[cnt]; o >= 0 {
		v = s.e.data[o]
	}
	t.touch(s.e, now)
	t.mu.Unlock()
	return v, true
}

// ClearGPC sets gpc0 or gpc1 to 0 and returns its previous value.
func (k *Tracker) ClearGPC(n, idx int) (v uint64, ok bool) {
	cnt := GPC0
	if idx == 1 {
		cnt = GPC1
	}
	if n < 0 || n >= Slots || k.s[n].e == nil || k.s[n].t.off[cnt] < 0 {
		return 0, false
	}
	s := &k.s[n]
	t := s.t
	t.mu.Lock()
	o := t.off[cnt]
	v, s.e.data[o] = s.e.data[o], 0
	t.touch(s.e, t.now())
	t.mu.Unlock()
	return v, true
}

// SetGPT0 sets gpt0 in slot n; false when nothing is tracked or stored.
func (k *Tracker) SetGPT0(n int, v uint64) bool {
	if n < 0 || n >= Slots || k.s[n].e == nil || k.s[n].t.off[GPT0] < 0 {
		return false
	}
	s := &k.s[n]
	t := s.t
	t.mu.Lock()
	s.e.data[t.off[GPT0]] = v
	t.touch(s.e, t.now())
	t.mu.Unlock()
	return true
}

// Response counts a response's status on every tracked entry, as HAProxy
// does at the end of a response: a 4xx is an HTTP error (http_err_cnt,
// http_err_rate), a 5xx other than 501 and 505 a failure (http_fail_*).
func (k *Tracker) Response(status int) {
	switch {
	case status >= 400 && status < 500:
		k.count(HTTPErrCnt, HTTPErrRate)
	case status >= 500 && status < 600 && status != 501 && status != 505:
		k.count(HTTPFailCnt, HTTPFailRate)
	}
}

// Denied counts a request an http-request deny refused, whatever its
// status: HAProxy counts it as an HTTP error (http_err_cnt, http_err_rate).
func (k *Tracker) Denied() { k.count(HTTPErrCnt, HTTPErrRate) }

func (k *Tracker) count(cnt, rate DataType) {
	for i := range k.s {
		s := &k.s[i]
		if s.e == nil {
			continue
		}
		t := s.t
		now := t.now()
		t.mu.Lock()
		t.addLocked(s.e, cnt, rate, 1, now)
		if t.onChange != nil {
			t.onChange(s.e.key)
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

package stick

// Peek describes an entry without touching it: what the table_expire,
// table_idle and table_trackers converters read.
type Peek struct {
	Expire   int64 // ms until the entry expires; 0 in a table without expire
	Idle     int64 // ms since the entry was last touched; 0 without expire
	Trackers int64 // streams tracking the entry (show table's use=)
}

// PeekKey returns key's entry's expiry, idle time and trackers without
// creating, refreshing or tracking it; false when the key is absent.
func (t *Table) PeekKey(key string) (Peek, bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, _ := t.getLocked(key, false, now)
	if e == nil {
		return Peek{}, false
	}
	p := Peek{Trackers: int64(e.ref)}
	if exp := int64(t.cfg.Expire.Milliseconds()); exp > 0 {
		// HAProxy: tick_remain(now, expire), and the idle time is the
		// table's expire minus that (0 once expired).
		if rem := e.exp - now; rem > 0 {
			p.Expire = rem
			p.Idle = exp - rem
		}
	}
	return p, true
}

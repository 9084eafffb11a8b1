package stick

// Persistence by table ("stick on|match|store-request|store-response"):
// an entry remembers the server that served its key, as server_id (the
// server's numeric id) and server_key (its name, or address with
// "srvkey addr"). HAProxy keeps server keys in a dictionary; here the
// server_key word holds an index into the table's own list of keys (one
// per server ever stored, so it stays small), 0 for none.

// SrvKey is a table's "srvkey": what its server_key holds, the server's
// name (the default) or its address ("addr").
type SrvKey uint8

const (
	SrvKeyName SrvKey = iota
	SrvKeyAddr
)

// EnableServer adds server_id and server_key to a table's stored types,
// as HAProxy does for a table that stick rules use.
func (c *Config) EnableServer() {
	for _, d := range []DataType{ServerID, ServerKey} {
		has := false
		for _, s := range c.Store {
			has = has || s.Type == d
		}
		if !has {
			c.Store = append(c.Store, Store{Type: d})
		}
	}
}

// Server reads the server key's entry stored: its server_id and
// server_key ("" when none), refreshing the entry's expiry as a stick
// match does; found is false when the key has no live entry.
func (t *Table) Server(key string) (id int, skey string, found bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, _ := t.getLocked(key, false, now)
	if e == nil {
		return 0, "", false
	}
	if o := t.off[ServerID]; o >= 0 {
		id = int(int32(e.data[o]))
	}
	skey = t.srvKeyLocked(e)
	t.touch(e, now)
	return id, skey, true
}

// StoreServer records that key's request went to server id (skey its
// name or address), creating the entry if needed, as HAProxy's
// process_store_rules does once the server is known.
func (t *Table) StoreServer(key string, id int, skey string) error {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.getLocked(key, true, now)
	if err != nil {
		return err
	}
	if o := t.off[ServerID]; o >= 0 {
		e.data[o] = uint64(uint32(int32(id)))
	}
	if o := t.off[ServerKey]; o >= 0 && skey != "" {
		i, ok := t.skeyIdx[skey]
		if !ok {
			t.skeys = append(t.skeys, skey)
			i = uint64(len(t.skeys))
			if t.skeyIdx == nil {
				t.skeyIdx = map[string]uint64{}
			}
			t.skeyIdx[skey] = i
		}
		e.data[o] = i
	}
	t.touch(e, now)
	return nil
}

// srvKeyLocked is e's server_key, "" when none.
func (t *Table) srvKeyLocked(e *Entry) string {
	o := t.off[ServerKey]
	if o < 0 || e.data[o] == 0 || e.data[o] > uint64(len(t.skeys)) {
		return ""
	}
	return t.skeys[e.data[o]-1]
}

package peers

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// remoteTable is a table the peer defined: the local table it matches
// (nil: not shared here, its updates are skipped) and its definition.
type remoteTable struct {
	def   *tableDef
	local *shared
	index int
}

// sent is an update pushed and not yet acknowledged.
type sent struct {
	id   uint32
	key  string
	data bool // counted in unackedKeys
}

// session is one established connection with a peer.
type session struct {
	p  *peer
	c  net.Conn
	br *bufio.Reader

	closeOnce sync.Once
	closed    chan struct{}
	// lastRead and lastWrite (unix ns) time the liveness check and the
	// next heartbeat for show peers.
	lastRead, lastWrite atomic.Int64

	mu       sync.Mutex
	remote   map[uint64]*remoteTable // by the peer's table id
	cur      *remoteTable            // the table updates are for
	lastGet  map[int]uint32          // per local table: last update id received
	gotAny   map[int]bool
	ackedGet map[int]uint32 // what was acknowledged of lastGet
	remoteID map[int]uint64 // per local table: the peer's id for it (acks name it)
	learn    bool           // this process asked (or must ask) the peer for a lesson
	reqSent  bool
	teach    bool // the peer asked for a lesson
	confirm  int  // resync confirmations to send
	nextID   []uint32
	unacked  [][]sent
	// unackedKeys counts each key's updates in unacked, per table: the
	// peer may not have seen those changes yet.
	unackedKeys []map[string]int
	wake        chan struct{}
	protoFail   error
}

func newSession(p *peer, c net.Conn, br *bufio.Reader) *session {
	n := len(p.s.tables)
	now := time.Now().UnixNano()
	ss := &session{p: p, c: c, br: br, closed: make(chan struct{}), remote: map[uint64]*remoteTable{},
		lastGet: map[int]uint32{}, gotAny: map[int]bool{}, ackedGet: map[int]uint32{}, remoteID: map[int]uint64{},
		nextID: make([]uint32, n), unacked: make([][]sent, n), unackedKeys: make([]map[string]int, n), wake: make(chan struct{}, 1)}
	for i := range ss.unackedKeys {
		ss.unackedKeys[i] = map[string]int{}
	}
	ss.lastRead.Store(now)
	ss.lastWrite.Store(now)
	return ss
}

func (ss *session) close() {
	ss.closeOnce.Do(func() {
		close(ss.closed)
		ss.c.Close()
	})
}

func (ss *session) poke() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// requestResync asks the peer for a lesson at the next write.
func (ss *session) requestResync() {
	ss.mu.Lock()
	ss.learn, ss.reqSent = true, false
	ss.mu.Unlock()
	ss.poke()
}

// serve runs the session: the writer in its own goroutine, the reader
// here; either's end ends both. Unacknowledged updates are pushed again
// on the next session.
func (ss *session) serve() {
	p := ss.p
	s := p.s
	if p.local {
		// A local process teaches without being asked.
		if s.assign(p) {
			ss.mu.Lock()
			ss.learn, ss.reqSent = true, true
			ss.mu.Unlock()
		}
	} else if s.assign(p) {
		ss.mu.Lock()
		ss.learn = true
		ss.mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ss.writeLoop()
		ss.close()
	}()
	err := ss.readLoop()
	ss.close()
	wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
		s.logf("peers '%s': session with '%s' ended: %v", s.cfg.Name, p.name, err)
	}
	unacked := 0
	for _, l := range ss.unacked {
		unacked += len(l)
	}
	s.debugf("peers '%s': session with '%s' (%s -> %s) ended (%v); %d updates not acknowledged go on the next one", s.cfg.Name, p.name, ss.c.RemoteAddr(), ss.c.LocalAddr(), err, unacked)
	for i, l := range ss.unacked {
		keys := make([]string, len(l))
		for j, u := range l {
			keys[j] = u.key
		}
		p.requeue(i, keys)
	}
}

// protoError is a message this process cannot accept: the peer is told
// (an error message) and the session ends.
type protoError struct {
	typ byte
	err error
}

func (e *protoError) Error() string { return e.err.Error() }
func (e *protoError) Unwrap() error { return e.err }

func (ss *session) readLoop() error {
	for {
		ss.c.SetReadDeadline(time.Now().Add(deadAfter))
		m, err := readMessage(ss.br)
		ss.lastRead.Store(time.Now().UnixNano())
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, errTooLarge):
				ss.fail(errSizeLimit, err)
			case errors.Is(err, errVarint):
				ss.fail(errProtocol, err)
			case errors.As(err, &ne) && ne.Timeout():
				ss.p.mu.Lock()
				ss.p.noHbt++
				ss.p.mu.Unlock()
			}
			return err
		}
		if err := ss.handle(m); err != nil {
			var pe *protoError
			if errors.As(err, &pe) {
				ss.fail(pe.typ, pe.err)
			}
			return err
		}
	}
}

// fail sends an error message and ends the session.
func (ss *session) fail(typ byte, err error) {
	ss.p.mu.Lock()
	ss.p.protoErr++
	ss.p.mu.Unlock()
	ss.c.SetWriteDeadline(time.Now().Add(time.Second))
	ss.mu.Lock()
	ss.protoFail = err
	ss.mu.Unlock()
	ss.c.Write([]byte{classError, typ})
}

func (ss *session) handle(m message) error {
	p := ss.p
	switch m.class {
	case classControl:
		switch m.typ {
		case ctrlResyncReq:
			ss.mu.Lock()
			ss.teach = true
			ss.mu.Unlock()
			ss.poke()
		case ctrlResyncFinished, ctrlResyncPartial:
			ss.mu.Lock()
			wasLearning := ss.learn
			ss.learn = false
			ss.confirm++
			ss.mu.Unlock()
			if wasLearning {
				p.s.learned(p, m.typ == ctrlResyncFinished)
			}
			ss.poke()
		case ctrlResyncConfirm:
		case ctrlHeartbeat:
			p.mu.Lock()
			p.rxHbt++
			p.mu.Unlock()
		}
		return nil
	case classError:
		return errors.New("peers: the peer reported an error")
	case classReserved:
		return &protoError{errProtocol, errors.New("peers: message of the reserved class")}
	case classStickTable:
	default:
		return nil
	}
	switch m.typ {
	case stktDefine:
		def, err := decodeTableDef(m.data)
		if err != nil {
			return &protoError{errProtocol, err}
		}
		ss.define(def)
	case stktSwitch:
		id, _, err := readVarint(m.data)
		if err != nil {
			return &protoError{errProtocol, err}
		}
		ss.mu.Lock()
		ss.cur = ss.remote[id]
		ss.mu.Unlock()
	case stktUpdate, stktIncUpdate, stktUpdateTimed, stktIncUpdateTimed:
		ss.mu.Lock()
		rt := ss.cur
		ss.mu.Unlock()
		if rt == nil || rt.local == nil {
			return nil // a table not shared here
		}
		u, err := decodeUpdate(m.typ, m.data, rt.def, rt.local.maxKey)
		if err != nil {
			return &protoError{errProtocol, err}
		}
		ss.apply(rt, u)
	case stktAck:
		id, upd, err := decodeAck(m.data)
		if err != nil {
			return &protoError{errProtocol, err}
		}
		ss.ack(id, upd)
	}
	return nil
}

// define records a peer's table definition and matches it with the
// local table of the same name, key type and key size; a mismatch is
// not an error (HAProxy ignores such a table), its updates are skipped.
func (ss *session) define(def *tableDef) {
	rt := &remoteTable{def: def}
	for i, sh := range ss.p.s.tables {
		if sh.wireName == def.name && sh.def.keyType == def.keyType && sh.def.keyLen == def.keyLen {
			rt.local, rt.index = sh, i
		}
	}
	ss.mu.Lock()
	for id, o := range ss.remote {
		if id == def.id || (rt.local != nil && o.local == rt.local) {
			delete(ss.remote, id)
		}
	}
	ss.remote[def.id] = rt
	ss.cur = rt
	if rt.local != nil {
		ss.remoteID[rt.index] = def.id
	}
	ss.mu.Unlock()
	if rt.local == nil {
		ss.p.s.logf("peers '%s': peer '%s' shares table '%s', which has no match here", ss.p.s.cfg.Name, ss.p.name, def.name)
	}
}

// apply stores an update: the data types both sides store, except the
// local ones (conn_cur), with the sender's expiry for a timed update and
// the table's own otherwise.
func (ss *session) apply(rt *remoteTable, u *update) {
	sh := rt.local
	vals := make([]stick.PeerValue, 0, len(u.vals))
	for _, v := range u.vals {
		if wireTypes[v.n].local || !sh.stickOK[v.n] {
			continue
		}
		dt := sh.stickOf[v.n]
		if sh.t.Words(dt) != len(v.words) {
			continue // an array of another size
		}
		switch wireTypes[v.n].std {
		case stdSint:
			// An int sent sign-extended; the table keeps its 32 bits.
			for i, w := range v.words {
				v.words[i] = uint64(uint32(w))
			}
		case stdFrqp:
			// A rate's age is HAProxy's (unsigned int)(now_ms -
			// curr_tick), 32-bit tick arithmetic: a period started by a
			// thread whose clock ran a few ms ahead of the sender's comes
			// as 2^32 minus those ms, a start in the future, which HAProxy
			// reads (signed) as the current period. Taken as a 4-billion-ms
			// age, the rate lost its count here. The period starts now
			// instead: kept in the future, it would go back to HAProxy as
			// such an age, and HAProxy 2.6's next count there (an
			// unsigned comparison in update_freq_ctr_period) takes it for
			// periods long gone and drops what the rate held.
			for i := 0; i < len(v.words); i += 3 {
				v.words[i] = uint64(max(int32(uint32(v.words[i])), 0))
			}
		}
		vals = append(vals, stick.PeerValue{Type: dt, Words: v.words})
	}
	exp := sh.t.Config().Expire.Milliseconds()
	if u.timed {
		exp = int64(u.expireIn)
	}
	// An update the peer sent before it saw a local change of the same
	// entry's shared data (not yet pushed, or pushed and not
	// acknowledged; a stream's end changes none) would roll that change
	// back, and the push would then carry the peer's older
	// values: the change lost on both sides. The local entry wins; the
	// peer gets it with the push. (Two changes crossing each other still
	// keep one, as HAProxy's whole-entry updates do.)
	pending := func(key string) bool { return ss.localPending(rt.index, key) }
	if _, err := sh.t.WritePeerUnless(u.key, exp, vals, pending); err != nil {
		ss.p.s.logf("peers '%s': update from '%s' for table '%s' not stored: %v", ss.p.s.cfg.Name, ss.p.name, sh.wireName, err)
	}
	// Counted as received (and to acknowledge) once stored, so what the
	// acknowledgement covers is in the table.
	ss.mu.Lock()
	if u.hasID {
		ss.lastGet[rt.index] = u.id
	} else {
		ss.lastGet[rt.index]++
	}
	ss.gotAny[rt.index] = true
	ss.mu.Unlock()
	ss.poke() // an acknowledgement is due
}

// localPending reports whether table i's key has a local change of its
// shared data the peer has not acknowledged: to push, being pushed, or pushed on this session
// and not acknowledged. It runs with the table locked (the change hook's
// lock order: table, then dirty sets, then session).
func (ss *session) localPending(i int, key string) bool {
	if ss.p.pending(i, key) {
		return true
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.unackedKeys[i][key] > 0
}

// ack drops the updates the peer acknowledged.
func (ss *session) ack(tableID uint64, upd uint32) {
	i := int(tableID) - 1
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if i < 0 || i >= len(ss.unacked) {
		return
	}
	l := ss.unacked[i]
	n := 0
	for n < len(l) && int32(l[n].id-upd) <= 0 {
		if k := l[n].key; l[n].data {
			if ss.unackedKeys[i][k] <= 1 {
				delete(ss.unackedKeys[i], k)
			} else {
				ss.unackedKeys[i][k]--
			}
		}
		n++
	}
	ss.unacked[i] = l[n:]
}

package peers

import (
	"bufio"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// writer is the sending half of a session.
type writer struct {
	ss        *session
	bw        *bufio.Writer
	lastTable int // the table the last definition was for; -1 none
	lastWrite time.Time
	buf       []byte
}

// writeLoop sends what is due whenever there is something (local
// changes, a lesson, acknowledgements) and a heartbeat when nothing else
// went out for heartbeatEvery.
func (ss *session) writeLoop() {
	w := &writer{ss: ss, bw: bufio.NewWriterSize(ss.c, 32<<10), lastTable: -1, lastWrite: time.Now()}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := w.round(); err != nil {
			return
		}
		select {
		case <-ss.closed:
			return
		case <-ss.wake:
		case <-ss.p.wake:
		case <-tick.C:
		}
	}
}

func (w *writer) msg(class, typ byte, data []byte) error {
	w.buf = appendMessage(w.buf[:0], class, typ, data)
	_, err := w.bw.Write(w.buf)
	return err
}

// round writes everything due and flushes.
func (w *writer) round() error {
	ss := w.ss
	p := ss.p
	s := p.s
	ss.c.SetWriteDeadline(time.Now().Add(deadAfter))
	start := w.bw.Buffered()
	wrote := false

	ss.mu.Lock()
	askLesson := ss.learn && !ss.reqSent
	ss.reqSent = ss.reqSent || askLesson
	teach := ss.teach
	ss.teach = false
	type ackDue struct {
		id  uint64
		upd uint32
	}
	var acks []ackDue
	for i := range s.tables {
		if ss.gotAny[i] && ss.lastGet[i] != ss.ackedGet[i] {
			acks = append(acks, ackDue{ss.remoteID[i], ss.lastGet[i]})
			ss.ackedGet[i] = ss.lastGet[i]
		}
	}
	ss.mu.Unlock()

	if askLesson {
		if err := w.msg(classControl, ctrlResyncReq, nil); err != nil {
			return err
		}
	}
	for _, a := range acks {
		if err := w.msg(classStickTable, stktAck, encodeAck(a.id, a.upd)); err != nil {
			return err
		}
	}
	if teach {
		// A lesson: every entry, with its remaining life.
		for i, sh := range s.tables {
			if err := w.push(i, sh, sh.t.Keys(), true, nil); err != nil {
				return err
			}
		}
		s.mu.Lock()
		synced := s.isSyncedLocked()
		s.mu.Unlock()
		typ := byte(ctrlResyncFinished)
		if !synced {
			typ = ctrlResyncPartial
		}
		if err := w.msg(classControl, typ, nil); err != nil {
			return err
		}
	}
	for i, sh := range s.tables {
		keys, data, all := p.takeDirty(i)
		if all {
			keys = sh.t.Keys()
		}
		if len(keys) > 0 {
			if err := w.push(i, sh, keys, false, data); err != nil {
				p.requeue(i, keys)
				return err
			}
		}
	}
	ss.mu.Lock()
	confirm := ss.confirm
	ss.confirm = 0
	ss.mu.Unlock()
	for ; confirm > 0; confirm-- {
		if err := w.msg(classControl, ctrlResyncConfirm, nil); err != nil {
			return err
		}
	}
	wrote = w.bw.Buffered() != start
	if !wrote && time.Since(w.lastWrite) >= heartbeatEvery {
		if err := w.msg(classControl, ctrlHeartbeat, nil); err != nil {
			return err
		}
		p.mu.Lock()
		p.txHbt++
		p.mu.Unlock()
		wrote = true
	}
	if w.bw.Buffered() > 0 {
		if err := w.bw.Flush(); err != nil {
			return err
		}
	}
	if wrote {
		w.lastWrite = time.Now()
		ss.lastWrite.Store(w.lastWrite.UnixNano())
	}
	return nil
}

// push sends the entries of keys in table i (those still present), after
// the table's definition when the previous updates were for another;
// those in changed (their shared data changed) are in flight from
// takeDirty until remembered as unacknowledged, or requeued on an error
// (session.localPending).
func (w *writer) push(i int, sh *shared, keys []string, timed bool, changed map[string]bool) error {
	ss := w.ss
	if len(changed) > 0 {
		defer ss.p.sent(i, changed) // what is left of it
	}
	if w.lastTable != i {
		if err := w.msg(classStickTable, stktDefine, sh.def.encode()); err != nil {
			return err
		}
		w.lastTable = i
	}
	u := update{hasID: true, timed: timed}
	var data []byte
	for _, k := range keys {
		u.vals = u.vals[:0]
		exp, ok := sh.t.ReadPeer(k, func(d stick.DataType, words []uint64) {
			for n := range wireTypes {
				if sh.def.has(n) && sh.types[n] == d {
					u.vals = append(u.vals, wireValue{n: n, words: append([]uint64(nil), words...)})
					return
				}
			}
		})
		if !ok {
			w.landed(i, changed, k)
			continue // gone since it changed
		}
		ss.mu.Lock()
		ss.nextID[i]++
		u.id = ss.nextID[i]
		// The entry read may hold what the peer sent since the round's
		// acknowledgements: acknowledge it first, so that the peer does
		// not take this update for one crossing its own (session.apply).
		var ack []byte
		if ss.gotAny[i] && ss.lastGet[i] != ss.ackedGet[i] {
			ack = encodeAck(ss.remoteID[i], ss.lastGet[i])
			ss.ackedGet[i] = ss.lastGet[i]
		}
		ss.mu.Unlock()
		if ack != nil {
			if err := w.msg(classStickTable, stktAck, ack); err != nil {
				return err
			}
		}
		u.key, u.expireIn = k, uint32(exp)
		var err error
		if data, err = encodeUpdate(data[:0], sh.def, &u); err != nil || len(data) > maxMsgLen {
			w.landed(i, changed, k)
			continue
		}
		typ := byte(stktUpdate)
		if timed {
			typ = stktUpdateTimed
		}
		if err := w.msg(classStickTable, typ, data); err != nil {
			return err
		}
		ss.p.recordPush(i, k, ss.p.s.clock())
		ss.mu.Lock()
		if len(ss.unacked[i]) < 1<<16 {
			ss.unacked[i] = append(ss.unacked[i], sent{u.id, k, changed[k]})
			if changed[k] {
				ss.unackedKeys[i][k]++
			}
		}
		ss.mu.Unlock()
		w.landed(i, changed, k)
	}
	return nil
}

// landed ends the flight of key k (push): it is unacknowledged now, or
// gone. An acknowledgement may come before the round ends: the key must
// not stay pending then, or the peer's next update would be dropped.
func (w *writer) landed(i int, changed map[string]bool, k string) {
	if changed[k] {
		w.ss.p.sent(i, map[string]bool{k: true})
		delete(changed, k)
	}
}

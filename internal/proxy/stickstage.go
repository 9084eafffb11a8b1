package proxy

import "github.com/gatehouse/gatehouse/internal/stick"

// StickTables is the stick-table stage of a proxy: its own table (the
// default of track-sc and src_* in its rules) and every table by name.
// The transaction reaches the stage through stick.Stream only: rules and
// fetches track and read through it, and it ends with the transaction.
type StickTables struct {
	Own *stick.Table
	All map[string]*stick.Table
}

// stickBegin opens the stage for a transaction of frontend fe.
func (t *Txn) stickBegin(fe *Frontend) {
	if fe.Stick == nil {
		return
	}
	t.stick.Tables = fe.Stick.All
	t.stick.Current = fe.Stick.Own
	t.acl.Stick = &t.stick
	t.stick.Inherit(&t.sess.stick.Tracker)
}

// stickProxy makes st's table the current one (backend rules, then the
// frontend's response rules).
func (t *Txn) stickProxy(st *StickTables) {
	if t.acl.Stick == nil {
		return
	}
	t.stick.Current = nil
	if st != nil {
		t.stick.Current = st.Own
	}
}

// Stick returns the transaction's stick-table stage (actions of rules).
func (t *Txn) Stick() *stick.Stream { return &t.stick }

// stickEnd releases what the transaction tracks (conn_cur goes down).
func (t *Txn) stickEnd() { t.stick.Release() }

// stickDone ends a completed transaction's tracking: its tracked entries
// count the request's and the response's bytes (bytes_in_*, bytes_out_*),
// the same bytes as the log's %U and %B, heads included. HAProxy counts
// its internal (HTX) form of an HTTP message, a few bytes off the wire
// size per head.
func (t *Txn) stickDone() {
	t.stick.AddBytes(uint64(max(0, t.bytesIn)), uint64(max(0, t.bytesOut)))
	t.stickEnd()
}

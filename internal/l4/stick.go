package l4

import (
	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// Track is a tcp-request connection|content track-scN rule: Key's value,
// cast to Table's key type, is tracked with counter Slot. As HAProxy's
// stream_track_stkctr it counts a connection (conn_cnt, conn_rate,
// conn_cur until the session ends); only the first track-scN of a session
// applies, whichever rule set it comes from.
type Track struct {
	Slot  int
	Table *stick.Table
	Key   *acl.Expr
}

// StickStage is what a frontend's rules reach of the stick tables: its
// own table (the default of src_* fetches) and every table by name.
type StickStage struct {
	Own *stick.Table
	All map[string]*stick.Table
}

// stickBegin opens the session's stick stage; the caller releases it.
func (s *session) stickBegin() bool {
	st := s.fe.Stick
	if st == nil {
		return false
	}
	s.stick.Tables, s.stick.Current = st.All, st.Own
	s.txn.Stick = &s.stick
	return true
}

func (s *session) track(tr *Track) {
	if k, ok := tr.Key.StickKey(&s.txn, tr.Table); ok {
		s.stick.Track(tr.Slot, tr.Table, k, false)
	}
}

// SCAction is an sc-* action (sc-inc-gpc0/1, sc-set-gpt0, sc-inc-gpc,
// sc-set-gpt, sc-add-gpc) on the entry counter Slot tracks (nothing when
// it tracks none).
type SCAction struct {
	Op   stick.SCOp
	Slot int
	Idx  int       // the array element of sc-inc-gpc, sc-set-gpt, sc-add-gpc
	Set  *acl.Expr // the value of the actions taking one; nil: Value
	// Value is the integer value.
	Value int64
}

func (s *session) sc(a *SCAction) {
	v := a.Value
	if a.Set != nil {
		var ok bool
		if v, ok = a.Set.Int(&s.txn); !ok {
			return
		}
	}
	s.stick.Apply(a.Op, a.Slot, a.Idx, uint64(v))
}

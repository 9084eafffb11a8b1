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

// SCAction is sc-inc-gpc0(N), sc-inc-gpc1(N) or sc-set-gpt0(N) <value>
// on the entry counter Slot tracks (nothing when it tracks none).
type SCAction struct {
	Slot int
	GPC  int       // 0 or 1: sc-inc-gpc0/1; -1: sc-set-gpt0
	Set  *acl.Expr // sc-set-gpt0's value; nil: Value
	// Value is sc-set-gpt0's integer.
	Value int64
}

func (s *session) sc(a *SCAction) {
	if a.GPC >= 0 {
		s.stick.IncGPC(a.Slot, a.GPC)
		return
	}
	v := a.Value
	if a.Set != nil {
		var ok bool
		if v, ok = a.Set.Int(&s.txn); !ok {
			return
		}
	}
	s.stick.SetGPT0(a.Slot, uint64(v))
}

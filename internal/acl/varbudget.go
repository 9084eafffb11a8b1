package acl

import "sync/atomic"

// VarBudget is tune.vars.*-max-size: byte limits on what variables hold,
// as HAProxy 2.6 accounts them (vars.c var_accounting_add): each variable
// costs the size of HAProxy's struct var plus its string or binary bytes.
// The accounting is hierarchical: a req/res variable counts in its
// stream's reqres size, its txn size, its session's size and the process
// total; txn ones from txn up, sess ones from sess up. A level is counted
// only while it has a limit, and a set-var that would pass one fails.
type VarBudget struct {
	Global, Proc, Sess, Txn, ReqRes int64 // 0: no limit

	total atomic.Int64 // HAProxy's proc_vars.size: every scope
}

// varCost is sizeof(struct var) in HAProxy 2.6 on 64-bit builds: list
// head 16, name hash 8, flags 4 (+4), sample_data 48.
const varCost = 80

func (b *VarBudget) countsTotal() bool { return b.Proc > 0 || b.Global > 0 }

// Total is the process-wide size counted (0 without proc or global limit).
func (b *VarBudget) Total() int64 { return b.total.Load() }

// SetBudget makes b the limits of the runtime whose proc variables s
// holds; every stream reaches it through them.
func (s *SharedVars) SetBudget(b *VarBudget) { s.budget.Store(b) }

func (v *Vars) budget() *VarBudget {
	if v == nil || v.Proc == nil {
		return nil
	}
	return v.Proc.budget.Load()
}

// reserve is var_accounting_add: false when n more bytes in scope sc
// would pass a limit; otherwise they are counted.
func (v *Vars) reserve(sc varScope, n int64) bool {
	b := v.budget()
	if b == nil {
		return true
	}
	switch sc {
	case scopeReq, scopeRes:
		if b.ReqRes > 0 && v.ReqRes.size+n > b.ReqRes {
			return false
		}
		fallthrough
	case scopeTxn:
		if b.Txn > 0 && v.Txn.size+n > b.Txn {
			return false
		}
		fallthrough
	case scopeSess:
		if b.Sess > 0 && v.Sess != nil && v.Sess.size.Load()+n > b.Sess {
			return false
		}
		fallthrough
	case scopeProc:
		t := b.total.Load()
		if b.Proc > 0 && t+n > b.Proc || b.Global > 0 && t+n > b.Global {
			return false
		}
	}
	v.diff(sc, n)
	return true
}

// diff is var_accounting_diff: n bytes more (or fewer) in scope sc.
func (v *Vars) diff(sc varScope, n int64) {
	b := v.budget()
	if b == nil || n == 0 {
		return
	}
	switch sc {
	case scopeReq, scopeRes:
		if b.ReqRes > 0 {
			v.ReqRes.size += n
		}
		fallthrough
	case scopeTxn:
		if b.Txn > 0 {
			v.Txn.size += n
		}
		fallthrough
	case scopeSess:
		if b.Sess > 0 && v.Sess != nil {
			v.Sess.size.Add(n)
		}
		fallthrough
	case scopeProc:
		if b.countsTotal() {
			b.total.Add(n)
		}
	}
	if sc == scopeSess && v.Sess != nil {
		v.Sess.budget.Store(b) // for End, which has no stream
	}
}

// cost is what HAProxy frees when it prunes the list.
func (l *VarList) cost() int64 {
	var n int64
	for i := range l.v {
		n += l.v[i].cost()
	}
	return n
}

func (v *variable) cost() int64 {
	return varCost + v.dataCost()
}

func (v *variable) dataCost() int64 {
	if v.set && (v.typ == tStr || v.typ == tBin) {
		return int64(len(v.b))
	}
	return 0
}

// End drops a connection's sess variables when it ends, giving their
// bytes back to the session's and the process's counts
// (vars_prune_per_sess).
func (s *SharedVars) End() {
	s.mu.Lock()
	n := s.l.cost()
	s.l.Clear()
	s.mu.Unlock()
	b := s.budget.Load()
	if b == nil {
		return
	}
	if b.Sess > 0 {
		s.size.Add(-n)
	}
	if b.countsTotal() {
		b.total.Add(-n)
	}
}

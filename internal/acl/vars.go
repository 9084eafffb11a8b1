package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
)

// Variables, as HAProxy 2.6's (src/vars.c). A name carries its scope:
// proc (the runtime's, shared by every stream), sess (the client
// connection's), txn (the transaction's), req and res (one channel's: the
// request's variables are dropped when the request leaves for the server or
// a reply is made, and res starts empty) and check (health checks', which
// no rule reaches). A variable keeps the type of the sample it was set
// from. Nothing is allocated until a rule sets one.

type varScope uint8

const (
	scopeProc varScope = iota
	scopeSess
	scopeTxn
	scopeReq
	scopeRes
	scopeCheck
)

// VarName is a parsed "<scope>.<name>".
type VarName struct {
	scope varScope
	name  string // without the scope
	full  string
}

func (n VarName) String() string { return n.full }

// IsProc reports a process-wide variable (proc.*).
func (n VarName) IsProc() bool { return n.scope == scopeProc }

// ParseVarName checks a variable name as HAProxy's vars_hash_name does.
func ParseVarName(s string) (VarName, error) {
	if s == "" {
		return VarName{}, errors.New("Empty variable name cannot be accepted")
	}
	var sc varScope
	rest := ""
	switch {
	case len(s) > 5 && strings.HasPrefix(s, "proc."):
		sc, rest = scopeProc, s[5:]
	case len(s) > 5 && strings.HasPrefix(s, "sess."):
		sc, rest = scopeSess, s[5:]
	case len(s) > 4 && strings.HasPrefix(s, "txn."):
		sc, rest = scopeTxn, s[4:]
	case len(s) > 4 && strings.HasPrefix(s, "req."):
		sc, rest = scopeReq, s[4:]
	case len(s) > 4 && strings.HasPrefix(s, "res."):
		sc, rest = scopeRes, s[4:]
	case len(s) > 6 && strings.HasPrefix(s, "check."):
		sc, rest = scopeCheck, s[6:]
	default:
		return VarName{}, fmt.Errorf("invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", s)
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			return VarName{}, fmt.Errorf("invalid syntax at char '%s'", rest[i:])
		}
	}
	return VarName{scope: sc, name: rest, full: s}, nil
}

// variable is one stored value; set is false for a proc variable that was
// unset (it keeps existing, as HAProxy's permanent ones).
type variable struct {
	name string
	set  bool
	typ  smpType
	i    int64
	ip   netip.Addr
	b    []byte // tStr, tBin: owned
}

func (v *variable) sample() sample {
	switch v.typ {
	case tInt, tBool:
		return sample{typ: v.typ, i: v.i}
	case tIP:
		return ipSmp(v.ip)
	}
	return sample{typ: v.typ, s: view(v.b)}
}

// VarList is one scope's variables: a short list searched in order, like
// HAProxy's. Cleared lists keep their storage for the next transaction.
type VarList struct {
	v    []variable
	size int64 // bytes counted against a tune.vars limit (varbudget.go)
}

// maxKeptVar bounds the value buffer a cleared list keeps for reuse.
const maxKeptVar = 4096

func (l *VarList) find(name string) *variable {
	for i := range l.v {
		if l.v[i].name == name {
			return &l.v[i]
		}
	}
	return nil
}

func (l *VarList) add(name string) *variable {
	n := len(l.v)
	if n < cap(l.v) {
		l.v = l.v[:n+1]
		b := l.v[n].b[:0]
		l.v[n] = variable{name: name, b: b}
	} else {
		l.v = append(l.v, variable{name: name})
	}
	return &l.v[n]
}

func (l *VarList) remove(v *variable) {
	last := len(l.v) - 1
	for i := range l.v {
		if &l.v[i] == v {
			// The removed entry's buffer moves to the spare slot.
			l.v[i], l.v[last] = l.v[last], l.v[i]
			l.v = l.v[:last]
			return
		}
	}
}

// Len returns the number of variables held.
func (l *VarList) Len() int { return len(l.v) }

// Clear drops every variable, keeping small buffers for reuse.
func (l *VarList) Clear() {
	for i := range l.v {
		if cap(l.v[i].b) > maxKeptVar {
			l.v[i].b = nil
		}
	}
	l.v = l.v[:0]
}

// SharedVars is a scope more than one goroutine reaches: proc (every
// stream of a runtime) and sess (an HTTP/2 connection's streams).
type SharedVars struct {
	mu sync.Mutex
	l  VarList
	// serial makes one set-var's read of its expression and its store
	// one step for the scope's other writers: HAProxy runs a connection's
	// streams on one thread, so "set-var(sess.n) var(sess.n),add(1)"
	// never loses a count there, and must not here.
	serial sync.Mutex
	// size and budget: the tune.vars accounting (varbudget.go); budget
	// is the runtime's, set on proc variables and on a session's once one
	// of its variables is counted.
	size   atomic.Int64
	budget atomic.Pointer[VarBudget]
}

// Len returns the number of variables held.
func (s *SharedVars) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l.Len()
}

// Clear drops every variable.
func (s *SharedVars) Clear() {
	s.mu.Lock()
	s.l.Clear()
	s.mu.Unlock()
}

// Vars is what a stream's rules and fetches reach, by scope. The proxy
// keeps one per transaction and points Txn.Vars at it.
type Vars struct {
	Proc *SharedVars // the runtime's; nil: none
	Sess *SharedVars // the client connection's; nil: none
	Txn  VarList
	// ReqRes holds req.* until ToResponse, then res.*.
	ReqRes VarList
	resp   bool
	// NoStream is set while tcp-request connection rules run: HAProxy has
	// no stream yet, so only proc and sess variables exist.
	NoStream bool
}

// ToResponse drops the request's variables: from here req/res holds the
// response's, as HAProxy switches when the request leaves for the server
// or a reply is produced.
func (v *Vars) ToResponse() {
	if !v.resp {
		v.diff(scopeReq, -v.ReqRes.cost())
		v.ReqRes.Clear()
		v.resp = true
	}
}

// Reset ends a transaction: its txn, req and res variables go; the
// connection's and the runtime's stay.
func (v *Vars) Reset() {
	v.diff(scopeReq, -v.ReqRes.cost())
	v.diff(scopeTxn, -v.Txn.cost())
	v.Txn.Clear()
	v.ReqRes.Clear()
	v.resp = false
	v.NoStream = false
}

// shared returns the shared store of scope sc, nil for a stream's own.
func (t *Txn) shared(sc varScope) *SharedVars {
	if v := t.Vars; v != nil {
		switch sc {
		case scopeProc:
			return v.Proc
		case scopeSess:
			return v.Sess
		}
	}
	return nil
}

// list returns the list holding scope sc and its lock (nil for a stream's
// own lists), or nil when the scope does not exist here.
func (t *Txn) varList(sc varScope) (*VarList, *sync.Mutex) {
	v := t.Vars
	if v == nil {
		return nil, nil
	}
	switch sc {
	case scopeProc:
		if v.Proc != nil {
			return &v.Proc.l, &v.Proc.mu
		}
	case scopeSess:
		if v.Sess != nil {
			return &v.Sess.l, &v.Sess.mu
		}
	case scopeTxn:
		if !v.NoStream {
			return &v.Txn, nil
		}
	case scopeReq:
		if !v.NoStream && !v.resp {
			return &v.ReqRes, nil
		}
	case scopeRes:
		if !v.NoStream && v.resp {
			return &v.ReqRes, nil
		}
	}
	return nil, nil
}

// getVar returns a variable's value. A shared scope's value is copied
// into t's fetch scratch, a stream's own is returned in place; either
// stays valid until the next evaluation.
func (t *Txn) getVar(n *VarName) (sample, bool) {
	l, mu := t.varList(n.scope)
	if l == nil {
		return sample{}, false
	}
	if mu == nil {
		v := l.find(n.name)
		if v == nil || !v.set {
			return sample{}, false
		}
		return v.sample(), true
	}
	mu.Lock()
	defer mu.Unlock()
	v := l.find(n.name)
	if v == nil || !v.set {
		return sample{}, false
	}
	s := v.sample()
	if s.typ == tStr || s.typ == tBin {
		t.fbuf = append(t.fbuf[:0], v.b...)
		s.s = view(t.fbuf)
	}
	return s, true
}

// appendVar appends a variable's value cast to a string (a binary one
// stops at its first NUL, as HAProxy's bin-to-str cast); false when unset.
func (t *Txn) appendVar(dst []byte, n *VarName) ([]byte, bool) {
	l, mu := t.varList(n.scope)
	if l == nil {
		return dst, false
	}
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	v := l.find(n.name)
	if v == nil || !v.set {
		return dst, false
	}
	if v.typ == tBin {
		return append(dst, binStr(view(v.b))...), true
	}
	return v.sample().appendTo(dst), true
}

// Set conditions (set-var(<name>,<cond>...)), HAProxy's VF_COND_*.
type varCond uint8

const (
	condIfExists varCond = 1 << iota
	condIfNotExists
	condIfEmpty
	condIfNotEmpty
	condIfSet
	condIfNotSet
	condIfGT
	condIfLT
)

var varCondNames = []struct {
	name string
	c    varCond
}{
	{"ifexists", condIfExists}, {"ifnotexists", condIfNotExists},
	{"ifempty", condIfEmpty}, {"ifnotempty", condIfNotEmpty},
	{"ifset", condIfSet}, {"ifnotset", condIfNotSet},
	{"ifgt", condIfGT}, {"iflt", condIfLT},
}

func parseVarConds(words []string) (varCond, error) {
	var c varCond
	for _, w := range words {
		found := false
		for _, n := range varCondNames {
			if n.name == w {
				c |= n.c
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown condition \"%s\"", w)
		}
	}
	return c, nil
}

// setVar stores s under n when the conditions hold, as HAProxy's var_set:
// the variable is created before the conditions on its state and on the
// input are tested. A proc variable always exists (HAProxy creates them
// while parsing the configuration). It reports whether s was stored.
func (t *Txn) setVar(n *VarName, s sample, cond varCond) bool {
	l, mu := t.varList(n.scope)
	if l == nil {
		return false
	}
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	v := l.find(n.name)
	if (v != nil || n.scope == scopeProc) && cond&condIfNotExists != 0 {
		return false
	}
	if v == nil {
		if cond&condIfExists != 0 && n.scope != scopeProc {
			return false
		}
		if !t.Vars.reserve(n.scope, varCost) {
			return false // tune.vars.*-max-size
		}
		v = l.add(n.name)
	}
	if cond&condIfSet != 0 && !v.set || cond&condIfNotSet != 0 && v.set {
		return false
	}
	str := s.typ == tStr || s.typ == tBin
	if cond&condIfEmpty != 0 && !str {
		return false // a scalar is never empty
	}
	switch s.typ {
	case tInt:
		if v.set && v.typ == tInt && (cond&condIfGT != 0 && !(v.i > s.i) || cond&condIfLT != 0 && !(v.i < s.i)) {
			return false
		}
	case tStr, tBin:
		if cond&condIfNotEmpty != 0 && s.s == "" || cond&condIfEmpty != 0 && s.s != "" {
			return false
		}
	}
	t.Vars.diff(n.scope, -v.dataCost())
	if str && !t.Vars.reserve(n.scope, int64(len(s.s))) {
		// Past a tune.vars limit: as HAProxy, the variable is left a
		// boolean (an integer's value stays, anything else reads 0).
		if !v.set || v.typ != tInt && v.typ != tBool {
			v.i = 0
		}
		v.set, v.typ = true, tBool
		v.b = v.b[:0]
		return false
	}
	v.set, v.typ, v.i, v.ip = true, s.typ, s.i, s.ip
	v.b = v.b[:0]
	if str {
		v.b = append(v.b, s.s...)
	}
	return true
}

// unsetVar removes a variable; a proc one stays, unset.
func (t *Txn) unsetVar(n *VarName) {
	l, mu := t.varList(n.scope)
	if l == nil {
		return
	}
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	v := l.find(n.name)
	if v == nil {
		return
	}
	if n.scope == scopeProc {
		t.Vars.diff(n.scope, -v.dataCost())
		v.set = false
		v.b = v.b[:0]
		return
	}
	t.Vars.diff(n.scope, -v.cost())
	l.remove(v)
}

// binStr is a binary value cast to a string: up to its first NUL.
func binStr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// Show returns a variable of this scope as the runtime API's "get var"
// shows it: HAProxy's type name and the value cast to a string (a binary
// one up to its first NUL); ok is false when it is not set.
func (s *SharedVars) Show(n VarName) (typ, val string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.l.find(n.name)
	if v == nil || !v.set {
		return "", "", false
	}
	switch v.typ {
	case tInt:
		typ = "sint"
	case tBool:
		typ = "bool"
	case tIP:
		typ = "ipv4"
		if !v.ip.Is4() {
			typ = "ipv6"
		}
	case tBin:
		return "bin", binStr(string(v.b)), true
	default:
		typ = "str"
	}
	return typ, string(v.sample().appendTo(nil)), true
}

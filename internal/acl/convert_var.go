package acl

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The var fetch and the converters that read or write variables, with the
// arithmetic and boolean ones of HAProxy 2.6 (sample.c): add, sub, mul,
// div, mod, and, or, xor take an integer or a variable; concat and add_item
// append one; strcmp and secure_memcmp compare with one; set-var and
// unset-var store or drop the value passing through.

// tAny is the static type of a value only known at run time (var); tSame
// marks a converter whose output is its input (set-var, unset-var).
const (
	tAny  smpType = 254
	tSame smpType = 255
)

const (
	cVarFirst convOp = 128 + iota
	cSetVar
	cUnsetVar
	cAdd
	cSub
	cMul
	cDiv
	cMod
	cAnd
	cOr
	cXor
	cNeg
	cCpl
	cBool
	cNot
	cOdd
	cEven
	cConcat
	cAddItem
	cStrcmp
	cSecureMemcmp
)

func varFetches() []fetchDef {
	return []fetchDef{
		{name: "var", args: "SS", out: tAny, fn: fetchVar, check: checkVarArg,
			doc: "the variable <scope>.<name> with the type it was set with; when it is not set, <default> as a string if given, else nothing (req variables do not exist in responses, res ones before: nothing then, not even the default)"},
	}
}

func checkVarArg(a *fetchArgs) error {
	n, err := ParseVarName(a.str[0])
	if err != nil {
		return err
	}
	a.vr = &n
	return nil
}

func fetchVar(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	if l, _ := t.varList(a.vr.scope); l == nil {
		// The scope does not exist here (req in a response, res before
		// it): no value, not even the default, as in HAProxy.
		return sample{}, c, fNone
	}
	if s, ok := t.getVar(a.vr); ok {
		return s, c, fVal
	}
	if a.n > 1 {
		return strSmp(a.str[1]), c, fVal
	}
	return sample{}, c, fNone
}

const opDoc = "; <value> is an integer or a variable name"

func varConvs() []convDef {
	return []convDef{
		{name: "set-var", args: "SSSSS", out: tSame, op: cSetVar,
			doc: "store the input in variable <var> (keeping its type) when the conditions hold (ifexists, ifnotexists, ifempty, ifnotempty, ifset, ifnotset, ifgt, iflt) and pass it through; no value when nothing was stored"},
		{name: "unset-var", args: "S", out: tSame, op: cUnsetVar, doc: "unset variable <var>; the input passes through (no value where the scope does not exist)"},
		{name: "add", args: "S", out: tInt, op: cAdd, doc: "the integer input plus <value>, saturated" + opDoc},
		{name: "sub", args: "S", out: tInt, op: cSub, doc: "the integer input minus <value>, saturated" + opDoc},
		{name: "mul", args: "S", out: tInt, op: cMul, doc: "the integer input times <value>, saturated" + opDoc},
		{name: "div", args: "S", out: tInt, op: cDiv, doc: "the integer input divided by <value>; the largest integer when <value> is 0" + opDoc},
		{name: "mod", args: "S", out: tInt, op: cMod, doc: "the remainder of the integer input divided by <value>; 0 when <value> is 0" + opDoc},
		{name: "and", args: "S", out: tInt, op: cAnd, doc: "bitwise AND of the integer input and <value>" + opDoc},
		{name: "or", args: "S", out: tInt, op: cOr, doc: "bitwise OR of the integer input and <value>" + opDoc},
		{name: "xor", args: "S", out: tInt, op: cXor, doc: "bitwise XOR of the integer input and <value>" + opDoc},
		{name: "neg", out: tInt, op: cNeg, doc: "the opposite of the integer input"},
		{name: "cpl", out: tInt, op: cCpl, doc: "the ones' complement of the integer input"},
		{name: "bool", out: tBool, op: cBool, doc: "true when the integer input is not 0"},
		{name: "not", out: tBool, op: cNot, doc: "true when the integer input is 0"},
		{name: "odd", out: tBool, op: cOdd, doc: "true when the integer input is odd"},
		{name: "even", out: tBool, op: cEven, doc: "true when the integer input is even"},
		{name: "concat", args: "SSS", out: tStr, op: cConcat,
			doc: "the input as a string followed by <start>, the variable <var> as a string (nothing when unset) and <end>"},
		{name: "add_item", args: "sSS", out: tStr, op: cAddItem,
			doc: "append <delim> (only to a non-empty input, and only when the variable or <suffix> is not empty), the variable <var> and <suffix>"},
		{name: "strcmp", args: "S", out: tInt, op: cStrcmp,
			doc: "compare the string input with variable <var> as strcmp(3) does: 0 when equal; no value when the variable is unset"},
		{name: "secure_memcmp", args: "S", out: tBool, op: cSecureMemcmp,
			doc: "true when the binary input equals variable <var>, compared in constant time when the lengths are equal"},
	}
}

// compileVarConv checks the arguments of the converters above.
func compileVarConv(d *convDef, a fetchArgs) (conv, error) {
	c := conv{op: d.op, name: d.name, out: d.out, a: a}
	name := func(i int) error {
		n, err := ParseVarName(a.str[i])
		if err != nil {
			return err
		}
		c.a.vr = &n
		return nil
	}
	switch d.op {
	case cSetVar:
		if err := name(0); err != nil {
			return c, err
		}
		cond, err := parseVarConds(a.str[1:a.n])
		if err != nil {
			return c, err
		}
		c.a.num[0] = int64(cond)
	case cUnsetVar:
		return c, name(0)
	case cAdd, cSub, cMul, cDiv, cMod, cAnd, cOr, cXor:
		// A variable name first, else an integer (HAProxy's check_operator).
		if name(0) == nil {
			return c, nil
		}
		v, rest := readInt64(a.str[0])
		if rest != "" {
			return c, errors.New("expects an integer or a variable name")
		}
		c.a.num[0] = v
	case cConcat:
		if a.str[1] != "" {
			if err := name(1); err != nil {
				return c, fmt.Errorf("failed to register variable name '%s'", a.str[1])
			}
		}
	case cAddItem:
		if a.str[1] != "" {
			if err := name(1); err != nil {
				return c, fmt.Errorf("failed to register variable name '%s'", a.str[1])
			}
		}
		if a.str[1] == "" && a.str[2] == "" {
			return c, errors.New("one of the optional arguments has to be nonempty")
		}
	case cStrcmp, cSecureMemcmp:
		if a.str[0] == "" {
			return c, errors.New("missing variable name")
		}
		if err := name(0); err != nil {
			return c, fmt.Errorf("failed to register variable name '%s'", a.str[0])
		}
	}
	return c, nil
}

// run applies c to b[start:], a value of run-time type typ, and returns
// the result's type.
func (c *conv) run(t *Txn, typ smpType, b []byte, start int) ([]byte, smpType, bool) {
	if c.op > cTableFirst && c.op < cVarFirst {
		return c.runTable(t, typ, b, start) // convert_table.go
	}
	if c.op > cMoreFirst && c.op < cVarFirst {
		return c.runMore(t, typ, b, start) // convert_more.go
	}
	if c.op < cVarFirst {
		b, ok := c.apply(b, start)
		return b, c.out, ok
	}
	in := view(b[start:])
	switch c.op {
	case cSetVar:
		// No value when nothing was stored (a condition, a missing scope),
		// as HAProxy's smp_conv_store.
		s, ok := bytesSample(typ, in)
		if !ok || !t.setVar(c.a.vr, s, varCond(c.a.num[0])) {
			return b[:start], typ, false
		}
		return b, typ, true
	case cUnsetVar:
		if l, _ := t.varList(c.a.vr.scope); l == nil {
			return b[:start], typ, false // the scope does not exist here
		}
		t.unsetVar(c.a.vr)
		return b, typ, true
	case cConcat, cAddItem:
		if typ == tBin {
			b = b[:start+len(binStr(in))]
		}
		return c.concat(t, b, start), tStr, true
	case cStrcmp:
		if typ == tBin {
			in = binStr(in)
		}
		n := len(b)
		vb, ok := t.appendVar(b, c.a.vr)
		if !ok {
			return b[:start], tStr, false
		}
		r := strncmp(in, view(vb[n:]))
		return strconv.AppendInt(b[:start], r, 10), tInt, true
	case cSecureMemcmp:
		x, ok := bytesSample(typ, in)
		if !ok {
			return b[:start], typ, false
		}
		v, ok := t.getVar(c.a.vr)
		if !ok {
			return b[:start], typ, false
		}
		var xb, vb [16]byte
		l, r := x.binView(&xb), v.binView(&vb)
		eq := len(l) == len(r) && subtle.ConstantTimeCompare(l, r) == 1
		return boolSmp(eq).appendTo(b[:start]), tBool, true
	}
	x, ok := castInt(typ, in)
	if !ok {
		return b[:start], typ, false
	}
	var r int64
	outT := tInt
	switch c.op {
	case cNeg:
		r = -x
		if x == math.MinInt64 {
			r = math.MaxInt64
		}
	case cCpl:
		r = ^x
	case cBool, cNot, cOdd, cEven:
		outT = tBool
		var v bool
		switch c.op {
		case cBool:
			v = x != 0
		case cNot:
			v = x == 0
		case cOdd:
			v = x&1 == 1
		default:
			v = x&1 == 0
		}
		if v {
			r = 1
		}
	default:
		y := c.a.num[0]
		if c.a.vr != nil {
			s, ok := t.getVar(c.a.vr)
			if !ok {
				return b[:start], typ, false
			}
			if y, ok = s.castInt(); !ok {
				return b[:start], typ, false
			}
		}
		r = arith(c.op, x, y)
	}
	return strconv.AppendInt(b[:start], r, 10), outT, true
}

func (c *conv) concat(t *Txn, b []byte, start int) []byte {
	if c.op == cConcat {
		b = append(b, c.a.str[0]...)
		if c.a.vr != nil {
			b, _ = t.appendVar(b, c.a.vr)
		}
		return append(b, c.a.str[2]...)
	}
	// add_item: the delimiter only between a non-empty input and a
	// non-empty item.
	n := len(b)
	b = append(b, c.a.str[0]...)
	m := len(b)
	found := false
	if c.a.vr != nil {
		b, found = t.appendVar(b, c.a.vr)
	}
	if n == start || !(found && len(b) > m || c.a.str[2] != "") {
		b = append(b[:n], b[m:]...)
	}
	return append(b, c.a.str[2]...)
}

// arith computes the binary operators with HAProxy's saturation.
func arith(op convOp, x, y int64) int64 {
	switch op {
	case cAdd:
		return addSat(x, y)
	case cSub:
		if y == math.MinInt64 {
			r := addSat(x, math.MaxInt64)
			if r < math.MaxInt64 {
				r++
			}
			return r
		}
		return addSat(x, -y)
	case cMul:
		if x == 0 || y == 0 {
			return 0
		}
		if x == math.MinInt64 && y == -1 {
			return math.MaxInt64
		}
		p := x * y
		if p/y != x {
			if (x < 0) == (y < 0) {
				return math.MaxInt64
			}
			return math.MinInt64
		}
		return p
	case cDiv:
		if y == 0 {
			return math.MaxInt64
		}
		if x == math.MinInt64 && y == -1 {
			return math.MaxInt64
		}
		return x / y
	case cMod:
		if y == 0 || x == math.MinInt64 && y == -1 {
			return 0
		}
		return x % y
	case cAnd:
		return x & y
	case cOr:
		return x | y
	}
	return x ^ y // cXor
}

func addSat(a, b int64) int64 {
	if (a ^ b) >= 0 { // same signs: the sum may overflow
		if a < 0 && math.MinInt64-a > b {
			return math.MinInt64
		}
		if a >= 0 && math.MaxInt64-a < b {
			return math.MaxInt64
		}
	}
	return a + b
}

// readInt64 reads a leading signed decimal as HAProxy's read_int64
// (saturating) and returns what follows it.
func readInt64(s string) (int64, string) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var u uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			u = math.MaxUint64
		} else {
			u = u*10 + d
		}
	}
	rest := s[i:]
	if neg {
		if u > 1<<63 {
			return math.MinInt64, rest
		}
		return -int64(u), rest
	}
	if u > math.MaxInt64 {
		return math.MaxInt64, rest
	}
	return int64(u), rest
}

// castInt casts a value of run-time type typ, in its string form, to an
// integer as HAProxy's sample casts do: strings by their leading digits
// (an empty one fails), IPv4 addresses as their 32 bits; IPv6 addresses
// and binary values do not cast.
func castInt(typ smpType, s string) (int64, bool) {
	switch typ {
	case tInt, tBool:
		v, _ := readInt64(s)
		return v, true
	case tStr:
		if s == "" {
			return 0, false
		}
		v, _ := readInt64(s)
		return v, true
	case tIP:
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return 0, false
		}
		b := a.As4()
		return int64(binary.BigEndian.Uint32(b[:])), true
	}
	return 0, false
}

func (s sample) castInt() (int64, bool) {
	switch s.typ {
	case tInt, tBool:
		return s.i, true
	case tIP:
		if !s.ip.Is4() {
			return 0, false
		}
		b := s.ip.As4()
		return int64(binary.BigEndian.Uint32(b[:])), true
	case tStr:
		return castInt(tStr, s.s)
	}
	return 0, false
}

// binView is s cast to binary as HAProxy casts: integers and booleans as
// 8 big-endian bytes, addresses as their 4 or 16 bytes, strings as they
// are. Scalars are written into buf.
func (s sample) binView(buf *[16]byte) []byte {
	switch s.typ {
	case tInt, tBool:
		binary.BigEndian.PutUint64(buf[:8], uint64(s.i))
		return buf[:8]
	case tIP:
		if s.ip.Is4() {
			a := s.ip.As4()
			return append(buf[:0], a[:]...)
		}
		a := s.ip.As16()
		return append(buf[:0], a[:]...)
	}
	return unsafeBytes(s.s)
}

// strncmp compares as HAProxy's strcmp converter (strncmp over the
// shorter length, then the lengths): the difference of the first unequal
// bytes, or -1/1 when one is a prefix of the other.
func strncmp(a, b string) int64 {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return int64(a[i]) - int64(b[i])
		}
		if a[i] == 0 {
			return 0
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// bytesSample reads back a value of type typ from its string form.
func bytesSample(typ smpType, s string) (sample, bool) {
	switch typ {
	case tInt, tBool:
		v, _ := readInt64(s)
		return sample{typ: typ, i: v}, true
	case tIP:
		a, err := netip.ParseAddr(s)
		return ipSmp(a), err == nil
	case tBin:
		return sample{typ: tBin, s: s}, true
	}
	return strSmp(s), true
}

// VarAction is a compiled set-var, set-var-fmt or unset-var rule action.
type VarAction struct {
	name  VarName
	cond  varCond
	expr  *Expr
	unset bool
}

// CompileVarAction compiles "set-var(<name>[,<cond>...]) <expr>" (expr
// given), "set-var-fmt(...)" (expr "", the caller renders the format and
// calls SetString) or "unset-var(<name>)" (unset).
func CompileVarAction(name string, conds []string, expr string, unset bool, pos config.Pos) (*VarAction, error) {
	n, err := ParseVarName(name)
	if err != nil {
		return nil, err
	}
	a := &VarAction{name: n, unset: unset}
	if a.cond, err = parseVarConds(conds); err != nil {
		return nil, err
	}
	if expr != "" {
		if a.expr, err = CompileExpr(expr, pos); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Name returns the variable's name.
func (a *VarAction) Name() VarName { return a.name }

// Expr returns the set-var expression; nil for set-var-fmt and unset-var.
func (a *VarAction) Expr() *Expr { return a.expr }

// Run performs set-var (an expression without a value stores nothing) or
// unset-var.
func (a *VarAction) Run(t *Txn) {
	if a.unset {
		t.unsetVar(&a.name)
		return
	}
	if a.expr == nil {
		return
	}
	if sh := t.shared(a.name.scope); sh != nil {
		sh.serial.Lock()
		defer sh.serial.Unlock()
	}
	if s, ok := a.expr.sample(t); ok {
		t.setVar(&a.name, s, a.cond)
	}
}

// SetString stores a set-var-fmt result, a string.
func (a *VarAction) SetString(t *Txn, s string) {
	t.setVar(&a.name, strSmp(s), a.cond)
}

// sample evaluates e to one typed value.
func (e *Expr) sample(t *Txn) (sample, bool) {
	if e.join {
		b, ok := e.AppendString(t.cbuf[:0], t)
		t.cbuf = b
		return strSmp(view(b)), ok
	}
	s, _, r := e.fetch.fn(t, &e.args, cursor{})
	if r&fVal == 0 {
		return sample{}, false
	}
	return e.value(t, s)
}

// unsafeBytes views s as bytes; the caller must not write them.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

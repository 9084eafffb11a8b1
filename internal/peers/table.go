package peers

import (
	"encoding/binary"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// stdType is how HAProxy 2.6 encodes a data type's values.
type stdType uint8

const (
	stdSint stdType = iota // int: varint of its 64-bit sign extension
	stdUint                // unsigned int (32 bits)
	stdULL                 // unsigned long long
	stdFrqp                // freq_ctr: age of curr_tick, curr_ctr, prev_ctr
	stdDict                // server_key: a dictionary entry
)

// wireType is one data type as the protocol numbers it (a bit of a
// table definition's bitfield): HAProxy 2.6's STKTABLE_DT_* order.
type wireType struct {
	name  string
	std   stdType
	array bool
	local bool // never learned from peers (conn_cur)
}

var wireTypes = [...]wireType{
	{name: "server_id", std: stdSint},
	{name: "gpt0", std: stdUint},
	{name: "gpc0", std: stdUint},
	{name: "gpc0_rate", std: stdFrqp},
	{name: "conn_cnt", std: stdUint},
	{name: "conn_rate", std: stdFrqp},
	{name: "conn_cur", std: stdUint, local: true},
	{name: "sess_cnt", std: stdUint},
	{name: "sess_rate", std: stdFrqp},
	{name: "http_req_cnt", std: stdUint},
	{name: "http_req_rate", std: stdFrqp},
	{name: "http_err_cnt", std: stdUint},
	{name: "http_err_rate", std: stdFrqp},
	{name: "bytes_in_cnt", std: stdULL},
	{name: "bytes_in_rate", std: stdFrqp},
	{name: "bytes_out_cnt", std: stdULL},
	{name: "bytes_out_rate", std: stdFrqp},
	{name: "gpc1", std: stdUint},
	{name: "gpc1_rate", std: stdFrqp},
	{name: "server_key", std: stdDict},
	{name: "http_fail_cnt", std: stdUint},
	{name: "http_fail_rate", std: stdFrqp},
	{name: "gpt", std: stdUint, array: true},
	{name: "gpc", std: stdUint, array: true},
	{name: "gpc_rate", std: stdFrqp, array: true},
}

// Key types on the wire (HAProxy's PEER_KT_*).
const (
	ktSint = 2
	ktIPv4 = 4
	ktIPv6 = 5
	ktStr  = 6
	ktBin  = 7
)

// tableDef is a table definition message.
type tableDef struct {
	id      uint64
	name    string
	keyType uint64
	keyLen  uint64
	data    uint64 // bit n: wire type n is in every update
	expire  uint64 // ms
	// nbelem and period are the data type parameters: arrays' sizes,
	// rates' periods (ms).
	nbelem map[int]uint64
	period map[int]uint64
}

func (d *tableDef) has(n int) bool { return d.data&(1<<uint(n)) != 0 }

func (d *tableDef) elems(n int) int {
	if wireTypes[n].array {
		return int(d.nbelem[n])
	}
	return 1
}

func (d *tableDef) encode() []byte {
	b := appendVarint(nil, d.id)
	b = appendVarint(b, uint64(len(d.name)))
	b = append(b, d.name...)
	b = appendVarint(b, d.keyType)
	b = appendVarint(b, d.keyLen)
	b = appendVarint(b, d.data)
	b = appendVarint(b, d.expire)
	for n := range wireTypes {
		if !d.has(n) {
			continue
		}
		w := wireTypes[n]
		if w.array {
			b = appendVarint(b, uint64(n))
			b = appendVarint(b, d.nbelem[n])
			if w.std == stdFrqp {
				b = appendVarint(b, d.period[n])
			}
		} else if w.std == stdFrqp {
			b = appendVarint(b, uint64(n))
			b = appendVarint(b, d.period[n])
		}
	}
	return b
}

// decodeTableDef reads a definition. Unknown data type bits, a missing
// array size and parameters of the wrong type are errors: the updates
// that follow could not be parsed.
func decodeTableDef(b []byte) (*tableDef, error) {
	d := &tableDef{nbelem: map[int]uint64{}, period: map[int]uint64{}}
	var err error
	var n uint64
	if d.id, b, err = readVarint(b); err != nil {
		return nil, err
	}
	if n, b, err = readVarint(b); err != nil {
		return nil, err
	}
	if n == 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("peers: table name of %d bytes in a definition of %d", n, len(b))
	}
	d.name, b = string(b[:n]), b[n:]
	for _, f := range []*uint64{&d.keyType, &d.keyLen, &d.data} {
		if *f, b, err = readVarint(b); err != nil {
			return nil, err
		}
	}
	if d.data>>len(wireTypes) != 0 {
		return nil, fmt.Errorf("peers: table '%s': unknown data types %#x", d.name, d.data)
	}
	if len(b) == 0 { // before HAProxy 1.9: no expire, no parameters
		for n := range wireTypes {
			if d.has(n) && wireTypes[n].array {
				return nil, fmt.Errorf("peers: table '%s': array '%s' without its size", d.name, wireTypes[n].name)
			}
		}
		return d, nil
	}
	if d.expire, b, err = readVarint(b); err != nil {
		return nil, err
	}
	for n := range wireTypes {
		w := wireTypes[n]
		if !d.has(n) || (!w.array && w.std != stdFrqp) {
			continue
		}
		var t uint64
		if t, b, err = readVarint(b); err != nil {
			return nil, fmt.Errorf("peers: table '%s': parameters of '%s': %w", d.name, w.name, err)
		}
		if t != uint64(n) {
			return nil, fmt.Errorf("peers: table '%s': parameters of data type %d where %d ('%s') was due", d.name, t, n, w.name)
		}
		if w.array {
			if d.nbelem[n], b, err = readVarint(b); err != nil {
				return nil, err
			}
			if d.nbelem[n] == 0 || d.nbelem[n] > 100 { // HAProxy: 1..STKTABLE_MAX_DT_ARRAY_SIZE (100)
				return nil, fmt.Errorf("peers: table '%s': array '%s' of %d elements", d.name, w.name, d.nbelem[n])
			}
		}
		if w.std == stdFrqp {
			if d.period[n], b, err = readVarint(b); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// wireKey returns a table's key type and size as the protocol states
// them; explicitLen says whether a string table's "len" was given
// (HAProxy's key size is then len+1 for the terminating NUL, and 32
// without it).
func wireKey(t *stick.Table, explicitLen bool) (kt, size uint64) {
	c := t.Config()
	switch c.Type {
	case stick.KeyIP:
		return ktIPv4, 4
	case stick.KeyIPv6:
		return ktIPv6, 16
	case stick.KeyInteger:
		return ktSint, 4
	case stick.KeyString:
		if explicitLen {
			return ktStr, uint64(c.KeyLen) + 1
		}
		return ktStr, 32
	}
	return ktBin, uint64(c.KeyLen)
}

// localDef is the definition of a local table: every stored data type
// the protocol can carry. server_key is left out: it travels as an entry
// of a per-connection dictionary Gatehouse does not keep.
func localDef(id uint64, name string, t *stick.Table, explicitLen bool) (*tableDef, []stick.DataType) {
	d := &tableDef{id: id, name: name, nbelem: map[int]uint64{}, period: map[int]uint64{}}
	d.keyType, d.keyLen = wireKey(t, explicitLen)
	d.expire = uint64(t.Config().Expire.Milliseconds())
	types := make([]stick.DataType, len(wireTypes))
	for n, w := range wireTypes {
		dt, ok := stick.ParseDataType(w.name)
		if !ok || w.std == stdDict {
			continue
		}
		words := t.Words(dt)
		if words == 0 {
			continue
		}
		per := 1
		if w.std == stdFrqp {
			per = 3
			d.period[n] = uint64(t.Period(dt).Milliseconds())
		}
		if w.array {
			d.nbelem[n] = uint64(words / per)
		}
		d.data |= 1 << uint(n)
		types[n] = dt
	}
	return d, types
}

// update is one entry of an update message.
type update struct {
	id       uint32 // 0 in an incremental update: the previous id plus one
	hasID    bool
	timed    bool
	expireIn uint32 // ms, timed updates only
	key      string // in the table's key form (stick)
	vals     []wireValue
}

// wireValue is one data type's values: one word per element, three per
// rate element (age of the period start, current and previous counts).
type wireValue struct {
	n     int // wire type
	words []uint64
}

// encodeUpdate builds an update message's data for table def.
func encodeUpdate(b []byte, def *tableDef, u *update) ([]byte, error) {
	if u.hasID {
		b = binary.BigEndian.AppendUint32(b, u.id)
	}
	if u.timed {
		b = binary.BigEndian.AppendUint32(b, u.expireIn)
	}
	switch def.keyType {
	case ktStr:
		b = appendVarint(b, uint64(len(u.key)))
		b = append(b, u.key...)
	default:
		if uint64(len(u.key)) != def.keyLen {
			return nil, fmt.Errorf("peers: table '%s': key of %d bytes, the table's are %d", def.name, len(u.key), def.keyLen)
		}
		b = append(b, u.key...)
	}
	vi := 0
	for n, w := range wireTypes {
		if !def.has(n) {
			continue
		}
		if vi >= len(u.vals) || u.vals[vi].n != n {
			return nil, fmt.Errorf("peers: table '%s': no value for '%s'", def.name, w.name)
		}
		words := u.vals[vi].words
		vi++
		per := 1
		if w.std == stdFrqp {
			per = 3
		}
		if len(words) != per*def.elems(n) {
			return nil, fmt.Errorf("peers: table '%s': '%s' has %d words, want %d", def.name, w.name, len(words), per*def.elems(n))
		}
		for i, v := range words {
			switch {
			case w.std == stdUint, w.std == stdFrqp && i%3 != 0:
				v = uint64(uint32(v)) // HAProxy keeps these in 32 bits
			case w.std == stdFrqp:
				v = uint64(uint32(v)) // the age, as (unsigned int)(now_ms - curr_tick)
			case w.std == stdSint:
				v = uint64(int64(int32(v)))
			}
			b = appendVarint(b, v)
		}
	}
	return b, nil
}

// decodeUpdate reads an update message of type typ for the remote table
// def, whose keys are at most maxKey bytes long in this process (longer
// strings are cut, as HAProxy cuts them to its key size).
func decodeUpdate(typ byte, b []byte, def *tableDef, maxKey int) (*update, error) {
	u := &update{hasID: typ == stktUpdate || typ == stktUpdateTimed, timed: typ == stktUpdateTimed || typ == stktIncUpdateTimed}
	if u.hasID {
		if len(b) < 4 {
			return nil, errTruncated
		}
		u.id, b = binary.BigEndian.Uint32(b), b[4:]
	}
	if u.timed {
		if len(b) < 4 {
			return nil, errTruncated
		}
		u.expireIn, b = binary.BigEndian.Uint32(b), b[4:]
	}
	switch def.keyType {
	case ktStr:
		n, rest, err := readVarint(b)
		if err != nil {
			return nil, err
		}
		if n > uint64(len(rest)) {
			return nil, errTruncated
		}
		k := rest[:n]
		if len(k) > maxKey {
			k = k[:maxKey]
		}
		u.key, b = string(k), rest[n:]
	default:
		if def.keyLen > uint64(len(b)) {
			return nil, errTruncated
		}
		u.key, b = string(b[:def.keyLen]), b[def.keyLen:]
	}
	for n, w := range wireTypes {
		if !def.has(n) {
			continue
		}
		if w.std == stdDict {
			// A dictionary entry: its length, then an id and maybe a
			// value, which this process does not store.
			l, rest, err := readVarint(b)
			if err != nil {
				return nil, err
			}
			if l > uint64(len(rest)) {
				return nil, errTruncated
			}
			b = rest[l:]
			continue
		}
		per := 1
		if w.std == stdFrqp {
			per = 3
		}
		words := make([]uint64, per*def.elems(n))
		for i := range words {
			var err error
			if words[i], b, err = readVarint(b); err != nil {
				return nil, err
			}
		}
		u.vals = append(u.vals, wireValue{n: n, words: words})
	}
	return u, nil
}

// ack is an acknowledgement: the last update id received for a table,
// named by the id its sender gave it.
func encodeAck(tableID uint64, upd uint32) []byte {
	b := appendVarint(nil, tableID)
	return binary.BigEndian.AppendUint32(b, upd)
}

func decodeAck(b []byte) (tableID uint64, upd uint32, err error) {
	if tableID, b, err = readVarint(b); err != nil {
		return 0, 0, err
	}
	if len(b) < 4 {
		return 0, 0, errTruncated
	}
	return tableID, binary.BigEndian.Uint32(b), nil
}

package peers

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// The varint boundaries of doc/peers-v2.0.txt: 1 byte below 240, 2 up to
// 2287, 3 up to 264431, 4 up to 33818863, 5 up to 4328786159.
func TestVarintBoundaries(t *testing.T) {
	cases := []struct {
		v   uint64
		len int
	}{
		{0, 1}, {239, 1}, {240, 2}, {2287, 2}, {2288, 3}, {264431, 3}, {264432, 4},
		{33818863, 4}, {33818864, 5}, {4328786159, 5}, {4328786160, 6}, {math.MaxUint32, 5}, {math.MaxUint64, 10},
	}
	for _, c := range cases {
		b := appendVarint(nil, c.v)
		if len(b) != c.len {
			t.Errorf("%d encodes in %d bytes (% x), want %d", c.v, len(b), b, c.len)
		}
		got, rest, err := readVarint(append(b, 0xAA))
		if err != nil || got != c.v || !bytes.Equal(rest, []byte{0xAA}) {
			t.Errorf("%d: decoded %d rest % x err %v", c.v, got, rest, err)
		}
		for i := 0; i < len(b); i++ {
			if _, _, err := readVarint(b[:i]); !errors.Is(err, errTruncated) {
				t.Errorf("%d cut to %d bytes: err %v, want truncated", c.v, i, err)
			}
		}
	}
	// Known encodings: 240 is F0 00, 1000 is F8 2F (1000-240 = 760 = 0x2F8).
	if b := appendVarint(nil, 240); !bytes.Equal(b, []byte{0xF0, 0x00}) {
		t.Errorf("240 -> % x", b)
	}
	if b := appendVarint(nil, 1000); !bytes.Equal(b, []byte{0xF8, 0x2F}) {
		t.Errorf("1000 -> % x", b)
	}
	// Eleven bytes with the continuation bit: refused, not shifted past 64 bits.
	long := append([]byte{0xFF}, bytes.Repeat([]byte{0xFF}, 10)...)
	if _, _, err := readVarint(long); !errors.Is(err, errVarint) {
		t.Errorf("overlong integer: err %v", err)
	}
}

func TestMessageFraming(t *testing.T) {
	var b []byte
	b = appendMessage(b, classControl, ctrlHeartbeat, nil)
	b = appendMessage(b, classStickTable, stktAck, encodeAck(3, 77))
	big := bytes.Repeat([]byte{1}, 300)
	b = appendMessage(b, classStickTable, stktUpdate, big)
	r := bufio.NewReader(bytes.NewReader(b))
	m, err := readMessage(r)
	if err != nil || m.class != classControl || m.typ != ctrlHeartbeat || m.data != nil {
		t.Fatalf("heartbeat: %v %v", m, err)
	}
	m, err = readMessage(r)
	if err != nil || m.typ != stktAck {
		t.Fatalf("ack: %v %v", m, err)
	}
	id, upd, err := decodeAck(m.data)
	if err != nil || id != 3 || upd != 77 {
		t.Fatalf("ack decoded %d %d %v", id, upd, err)
	}
	m, err = readMessage(r)
	if err != nil || !bytes.Equal(m.data, big) {
		t.Fatalf("update: %v %v", m, err)
	}
	if _, err := readMessage(r); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// Truncated anywhere inside a message: an error, never a short message.
	for i := 1; i < len(b)-1; i++ {
		r := bufio.NewReader(bytes.NewReader(b[:i]))
		var err error
		for err == nil {
			_, err = readMessage(r)
		}
		if i != 2 && i != 2+2+1+5 && err == io.EOF {
			t.Errorf("cut at %d: clean EOF", i)
		}
	}
	// A length over the limit is a size error before any data is read.
	over := appendVarint([]byte{classStickTable, stktUpdate}, maxMsgLen+1)
	if _, err := readMessage(bufio.NewReader(bytes.NewReader(over))); !errors.Is(err, errTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func testTable(t *testing.T, cfg stick.Config) *stick.Table {
	t.Helper()
	tb, err := stick.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// The definition of a table as HAProxy 2.6 writes it: id, name, key type
// (PEER_KT_IPV4 = 4), key size, the data types' bitfield, expire, then
// each rate's type and period.
func TestTableDefinitionBytes(t *testing.T) {
	tb := testTable(t, stick.Config{Name: "t", Type: stick.KeyIP, Size: 10, Expire: 30 * time.Second,
		Store: []stick.Store{{Type: stick.HTTPReqRate, Period: 10 * time.Second}, {Type: stick.GPC0}, {Type: stick.ConnCur}}})
	def, _ := localDef(1, "t", tb, false)
	got := def.encode()
	want := []byte{1, 1, 't', 4, 4}
	want = appendVarint(want, 1<<2|1<<6|1<<10)
	want = appendVarint(want, 30000)
	want = append(want, 10)
	want = appendVarint(want, 10000)
	if !bytes.Equal(got, want) {
		t.Fatalf("definition % x, want % x", got, want)
	}
	back, err := decodeTableDef(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.name != "t" || back.keyType != ktIPv4 || back.keyLen != 4 || back.data != def.data || back.expire != 30000 || back.period[10] != 10000 {
		t.Fatalf("decoded %+v", back)
	}
	// Key sizes: a string table's is len+1 with "len", 32 without.
	st := testTable(t, stick.Config{Name: "s", Type: stick.KeyString, KeyLen: 64, Size: 1})
	if kt, n := wireKey(st, true); kt != ktStr || n != 65 {
		t.Errorf("string len 64: %d %d", kt, n)
	}
	st = testTable(t, stick.Config{Name: "s", Type: stick.KeyString, KeyLen: 32, Size: 1})
	if _, n := wireKey(st, false); n != 32 {
		t.Errorf("string without len: %d", n)
	}
}

func TestTableDefinitionRejects(t *testing.T) {
	ok := (&tableDef{id: 1, name: "t", keyType: ktIPv4, keyLen: 4, data: 1 << 23, expire: 0, nbelem: map[int]uint64{23: 3}}).encode()
	if d, err := decodeTableDef(ok); err != nil || d.nbelem[23] != 3 {
		t.Fatalf("gpc array of 3: %v %v", d, err)
	}
	cases := map[string][]byte{
		"empty":           {},
		"name past end":   {1, 9, 't'},
		"zero name":       {1, 0, 4, 4, 0},
		"unknown type":    append([]byte{1, 1, 't', 4, 4}, appendVarint(nil, 1<<40)...),
		"array no size":   append([]byte{1, 1, 't', 4, 4}, appendVarint(nil, 1<<23)...),
		"wrong param":     append(append([]byte{1, 1, 't', 4, 4}, appendVarint(nil, 1<<10)...), 0, 9, 100),
		"array too large": append(append([]byte{1, 1, 't', 4, 4}, appendVarint(nil, 1<<23)...), 0, 23, 101),
		"missing period":  append(append([]byte{1, 1, 't', 4, 4}, appendVarint(nil, 1<<10)...), 0, 10),
	}
	for name, b := range cases {
		if _, err := decodeTableDef(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	def := &tableDef{id: 1, name: "t", keyType: ktStr, keyLen: 33, data: 1<<0 | 1<<2 | 1<<10 | 1<<13 | 1<<19 | 1<<24,
		nbelem: map[int]uint64{24: 2}, period: map[int]uint64{10: 1000, 24: 1000}}
	u := &update{id: 0xDEADBEEF, hasID: true, timed: true, expireIn: 12345, key: "client-a",
		vals: []wireValue{
			{n: 0, words: []uint64{uint64(1<<64 - 2)}}, // server_id -2
			{n: 2, words: []uint64{7}},
			{n: 10, words: []uint64{250, 3, 9}},
			{n: 13, words: []uint64{1 << 40}},
			{n: 24, words: []uint64{1, 2, 3, 4, 5, 6}},
		}}
	_, err := encodeUpdate(nil, def, u)
	if err == nil {
		t.Fatal("an update without server_key's value encoded")
	}
	// server_key is not sent by Gatehouse, but HAProxy's must be skipped:
	// a dictionary entry of id 1 with value "srv1".
	def.data &^= 1 << 19
	b, err := encodeUpdate(nil, def, u)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeUpdate(stktUpdateTimed, b, def, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, u) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, u)
	}
	def.data |= 1 << 19
	var withDict []byte
	withDict = binary32(withDict, 0xDEADBEEF)
	withDict = binary32(withDict, 12345)
	withDict = append(withDict, 8)
	withDict = append(withDict, "client-a"...)
	withDict = appendVarint(withDict, uint64(1<<64-2))
	withDict = append(withDict, 7)
	withDict = appendVarint(withDict, 250) // two bytes: F0 00 would be 240
	withDict = append(withDict, 3, 9)
	withDict = appendVarint(withDict, 1<<40)
	withDict = append(withDict, 6, 1, 4, 's', 'r', 'v', '1') // server_key: 6 bytes: id 1, len 4, "srv1"
	withDict = append(withDict, 1, 2, 3, 4, 5, 6)
	back, err = decodeUpdate(stktUpdateTimed, withDict, def, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, u) {
		t.Fatalf("with server_key\n got %+v\nwant %+v", back, u)
	}
	// Every truncation is an error.
	for i := 0; i < len(withDict); i++ {
		if _, err := decodeUpdate(stktUpdateTimed, withDict[:i], def, 32); err == nil {
			t.Errorf("cut at %d of %d: accepted", i, len(withDict))
		}
	}
	// A longer key than this process keeps is cut, as HAProxy cuts it.
	back, err = decodeUpdate(stktUpdateTimed, withDict, def, 6)
	if err != nil || back.key != "client" {
		t.Errorf("cut key: %q %v", back.key, err)
	}
}

func binary32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// Counters HAProxy keeps in 32 bits go out in 32 bits, ULL ones whole.
func TestUpdateWidths(t *testing.T) {
	def := &tableDef{keyType: ktSint, keyLen: 4, data: 1<<2 | 1<<13}
	u := &update{hasID: true, key: "\x00\x00\x00\x07", vals: []wireValue{{2, []uint64{1<<32 + 5}}, {13, []uint64{1<<32 + 5}}}}
	b, err := encodeUpdate(nil, def, u)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeUpdate(stktUpdate, b, def, 4)
	if err != nil {
		t.Fatal(err)
	}
	if back.vals[0].words[0] != 5 || back.vals[1].words[0] != 1<<32+5 {
		t.Errorf("widths: %v", back.vals)
	}
	// A key of the wrong size is refused on the way out.
	u.key = "abc"
	if _, err := encodeUpdate(nil, def, u); err == nil {
		t.Error("3-byte key for an integer table encoded")
	}
}

// Untrusted input: decoding never panics, and what decodes encodes back
// to the same bytes' meaning.
func FuzzDecode(f *testing.F) {
	def := &tableDef{id: 1, name: "t", keyType: ktStr, keyLen: 33, data: 1<<2 | 1<<10 | 1<<19 | 1<<23,
		nbelem: map[int]uint64{23: 2}, period: map[int]uint64{10: 1000}}
	seed, _ := encodeUpdate(nil, &tableDef{keyType: ktStr, data: 1 << 2}, &update{hasID: true, key: "k", vals: []wireValue{{2, []uint64{1}}}})
	f.Add(byte(stktUpdate), seed)
	f.Add(byte(stktDefine), def.encode())
	f.Add(byte(stktAck), encodeAck(1, 2))
	f.Add(byte(0), appendMessage(nil, classStickTable, stktIncUpdateTimed, []byte{1, 2, 3, 4, 5}))
	f.Fuzz(func(t *testing.T, typ byte, b []byte) {
		if d, err := decodeTableDef(b); err == nil {
			d2, err := decodeTableDef(d.encode())
			if err != nil || d2.data != d.data || d2.name != d.name {
				t.Fatalf("definition did not survive a round trip: %+v / %+v %v", d, d2, err)
			}
		}
		if u, err := decodeUpdate(typ, b, def, 32); err == nil {
			d := *def
			d.data &^= 1 << 19 // not re-encoded
			if _, err := encodeUpdate(nil, &d, u); err != nil {
				t.Fatalf("a decoded update does not encode: %v", err)
			}
		}
		decodeAck(b)
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			if _, err := readMessage(r); err != nil {
				break
			}
		}
	})
}

package peers

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// discardConn is a connection whose writes vanish.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) SetDeadline(time.Time) error      { return nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
func (discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// FuzzSession feeds a session what a hostile peer could send after the
// handshake: whatever it is, handling it never panics, and the table
// holds no more than its size.
func FuzzSession(f *testing.F) {
	tb, _ := stick.New(stick.Config{Name: "rl", Type: stick.KeyString, KeyLen: 8, Size: 4}, nil)
	def, _ := localDef(1, "rl", tb, false)
	var seed []byte
	seed = appendMessage(seed, classStickTable, stktDefine, def.encode())
	u, _ := encodeUpdate(nil, def, &update{id: 1, hasID: true, key: "k"})
	seed = appendMessage(seed, classStickTable, stktUpdate, u)
	seed = appendMessage(seed, classStickTable, stktAck, encodeAck(1, 1))
	seed = appendMessage(seed, classControl, ctrlResyncReq, nil)
	seed = appendMessage(seed, classControl, ctrlResyncFinished, nil)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, in []byte) {
		tb, err := stick.New(stick.Config{Name: "rl", Type: stick.KeyString, KeyLen: 8, Size: 4,
			Store: []stick.Store{{Type: stick.GPC0}, {Type: stick.HTTPReqRate, Period: time.Second}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Name: "m", Local: "a", Tables: []TableConfig{{Table: tb, WireName: "rl"}},
			Peers: []PeerConfig{{Name: "a"}, {Name: "b", Addr: "127.0.0.1:1"}}})
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(bytes.NewReader(in))
		ss := newSession(s.peers[1], discardConn{}, br)
		for {
			m, err := readMessage(br)
			if err != nil {
				break
			}
			if ss.handle(m) != nil {
				break
			}
		}
		if tb.Len() > 4 {
			t.Fatalf("table holds %d entries, size 4", tb.Len())
		}
	})
}

package logging

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func ringEvents(r *Ring) string {
	var b strings.Builder
	r.ShowEvents(&b, false)
	return b.String()
}

// Without servers the oldest events make room; an event a server has not
// received is kept and new ones are dropped instead, as in HAProxy.
func TestRingEviction(t *testing.T) {
	r := NewRing(RingOptions{Name: "r", MaxLen: 10, Size: 3 * eventCost(5)})
	for _, e := range []string{"aaaaa", "bbbbb", "ccccc", "ddddd", "eeeeeTRUNCATED"} {
		r.Write([]byte(e))
	}
	if got := ringEvents(r); got != "ddddd\neeeeeTRUNC\n" { // the 10-byte event needs two slots
		t.Errorf("events %q", got)
	}
	var b strings.Builder
	r.ShowEvents(&b, true)
	if b.Len() != 0 || r.Dropped() != 0 {
		t.Errorf("-n showed %q; dropped %d", b.String(), r.Dropped())
	}

	// A server that never connects holds every event.
	held := NewRing(RingOptions{Name: "h", MaxLen: 10, Size: 2 * eventCost(5),
		Servers: []RingServer{{Name: "s", Addr: "127.0.0.1:1"}}})
	for _, e := range []string{"aaaaa", "bbbbb", "ccccc"} {
		held.Write([]byte(e))
	}
	if got := ringEvents(held); got != "aaaaa\nbbbbb\n" || held.Dropped() != 1 {
		t.Errorf("held events %q, dropped %d", got, held.Dropped())
	}
}

// A legacy server gets each event ended by a newline, from the oldest
// one, including those written before it connected.
func TestRingForwardLegacy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := NewRing(RingOptions{Name: "r", MaxLen: 100, Size: 1000, ConnectTimeout: 5 * time.Second,
		Servers: []RingServer{{Name: "s", Addr: ln.Addr().String()}}})
	r.Write([]byte("before"))
	r.Start()
	defer r.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.Write([]byte("after"))
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for _, want := range []string{"before\n", "after\n"} {
		if l, err := br.ReadString('\n'); l != want {
			t.Fatalf("read %q (%v), want %q", l, err, want)
		}
	}
}

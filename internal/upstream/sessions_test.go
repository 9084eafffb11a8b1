package upstream

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestOnMarkedShutdown: on-marked-down cuts the held streams of a server
// marked down (not one put in maintenance), and only its own;
// on-marked-up cuts the backup servers' streams when it comes back up;
// released streams are not cut.
func TestOnMarkedShutdown(t *testing.T) {
	mk := func(name string, id int, backup bool, down, up string) *Server {
		cs := &config.Server{Name: name, Weight: 1, Backup: backup, OnMarkedDown: down, OnMarkedUp: up}
		return NewServer(cs, id, netip.MustParseAddrPort("127.0.0.1:1"))
	}
	a := mk("a", 1, false, "shutdown-sessions", "shutdown-backup-sessions")
	b := mk("b", 2, false, "", "")
	bk := mk("bk", 3, true, "", "")
	if _, err := NewFarm("be", []*Server{a, b, bk}, config.Balance{}, FarmOptions{}); err != nil {
		t.Fatal(err)
	}
	cut := map[string]int{}
	hold := func(s *Server) func() { return s.HoldSession(func() { cut[s.Name]++ }) }
	hold(a)
	hold(a)
	hold(b)
	rel := hold(a)
	rel()
	a.SetAdmin(AdminMaint)
	if len(cut) != 0 {
		t.Fatalf("maintenance cut streams: %v", cut)
	}
	a.SetAdmin(AdminReady)
	a.SetUp(false)
	if cut["a"] != 2 || cut["b"] != 0 {
		t.Fatalf("a marked down: cut %v, want a's 2 held streams", cut)
	}
	hold(bk)
	hold(b)
	a.SetUp(true)
	if cut["bk"] != 1 || cut["b"] != 0 {
		t.Fatalf("a marked up: cut %v, want the backup's stream only", cut)
	}
	b.SetUp(false)
	if cut["b"] != 0 {
		t.Fatalf("b has no on-marked-down but was cut: %v", cut)
	}
}

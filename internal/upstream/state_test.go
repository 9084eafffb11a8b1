package upstream

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Server
		set     func(s *Server)
		want    string
		usable  bool
		reached bool
	}{
		{"no check", config.Server{Weight: 1}, func(*Server) {}, "no check", true, true},
		{"checked, fresh (going down at first failure)", config.Server{Weight: 1, Check: true}, func(*Server) {}, "UP 1/3", true, true},
		{"checked, fully up", config.Server{Weight: 1, Check: true}, func(s *Server) { s.SetCheckHealth(4) }, "UP", true, true},
		{"checked, down", config.Server{Weight: 1, Check: true}, func(s *Server) { s.SetCheckHealth(0); s.SetUp(false) }, "DOWN", false, false},
		{"checked, going up", config.Server{Weight: 1, Check: true, Rise: 3}, func(s *Server) { s.SetCheckHealth(1); s.SetUp(false) }, "DOWN 1/3", false, false},
		{"nolb", config.Server{Weight: 1, Check: true}, func(s *Server) { s.SetCheckHealth(4); s.SetOperational(OpNoLB) }, "NOLB", false, true},
		{"drain", config.Server{Weight: 1}, func(s *Server) { s.SetAdmin(AdminDrain) }, "DRAIN", false, true},
		{"drain, checked going down", config.Server{Weight: 1, Check: true}, func(s *Server) { s.SetAdmin(AdminDrain) }, "DRAIN 1/3", false, true},
		{"disabled", config.Server{Weight: 1, Disabled: true}, func(*Server) {}, "MAINT", false, false},
		{"maint wins over down", config.Server{Weight: 1, Check: true}, func(s *Server) { s.SetUp(false); s.SetAdmin(AdminMaint) }, "MAINT", false, false},
		{"weight 0", config.Server{Weight: 0}, func(*Server) {}, "no check", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(&tt.cfg, 1, netip.AddrPort{})
			tt.set(s)
			if got := s.Status(); got != tt.want {
				t.Errorf("Status = %q, want %q", got, tt.want)
			}
			if s.Usable() != tt.usable || s.Reachable() != tt.reached {
				t.Errorf("usable %v reachable %v, want %v %v", s.Usable(), s.Reachable(), tt.usable, tt.reached)
			}
		})
	}
}

func TestStateNotificationsAndDowntime(t *testing.T) {
	s := NewServer(&config.Server{Name: "s", Weight: 1}, 1, netip.AddrPort{})
	var calls atomic.Int32
	s.OnChange(func(*Server) { calls.Add(1) })
	steps := []struct {
		do      func() bool
		changed bool
	}{
		{func() bool { return s.SetUp(true) }, false},
		{func() bool { return s.SetUp(false) }, true},
		{func() bool { return s.SetUp(false) }, false},
		{func() bool { return s.SetAdmin(AdminMaint) }, true},
		{func() bool { return s.SetUp(true) }, true},
		{func() bool { return s.SetAdmin(AdminReady) }, true},
	}
	for i, st := range steps {
		if got := st.do(); got != st.changed {
			t.Errorf("step %d changed = %v, want %v", i, got, st.changed)
		}
	}
	s.SetWeight(5)
	s.SetWeight(5)
	if calls.Load() != 5 {
		t.Errorf("%d notifications, want 5", calls.Load())
	}
	if s.ChkDown() != 1 {
		t.Errorf("chkdown = %d", s.ChkDown())
	}
	if s.Downtime(time.Now()) <= 0 || s.LastChange().IsZero() {
		t.Errorf("downtime %v lastchg %v", s.Downtime(time.Now()), s.LastChange())
	}
	d := s.Downtime(time.Now())
	time.Sleep(2 * time.Millisecond)
	if s.Downtime(time.Now()) != d {
		t.Error("downtime grows while up")
	}
}

func TestFarmRejectsSharedServers(t *testing.T) {
	srvs := mkServers(srvSpec{name: "a", weight: 1})
	if _, err := NewFarm("one", srvs, config.Balance{}, FarmOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFarm("two", srvs, config.Balance{}, FarmOptions{}); err == nil {
		t.Error("a server joined two farms")
	}
	dup := mkServers(srvSpec{name: "a", weight: 1}, srvSpec{name: "a", weight: 1})
	if _, err := NewFarm("three", dup, config.Balance{}, FarmOptions{}); err == nil {
		t.Error("duplicate server names accepted")
	}
}

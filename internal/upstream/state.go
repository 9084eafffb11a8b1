package upstream

import (
	"fmt"
	"time"
)

// AdminState is the state an operator sets (HAProxy "set server state").
type AdminState uint32

const (
	AdminReady AdminState = iota // takes traffic
	AdminDrain                   // keeps established and persistent traffic, no new load-balanced traffic
	AdminMaint                   // takes no traffic at all
)

func (a AdminState) String() string {
	switch a {
	case AdminDrain:
		return "drain"
	case AdminMaint:
		return "maint"
	}
	return "ready"
}

// OpState is the operational state health checks drive.
type OpState uint32

const (
	OpUp   OpState = iota // RUNNING
	OpNoLB                // STOPPING: up but refuses new load-balanced traffic (http-check disable-on-404)
	OpDown                // STOPPED
)

func (o OpState) String() string {
	switch o {
	case OpNoLB:
		return "nolb"
	case OpDown:
		return "down"
	}
	return "up"
}

// Admin returns the admin state: MAINT while DNS gives the server no
// address (HAProxy's RMAINT is one of its maintenance flags) or while the
// server it tracks is in maintenance, else the state the operator or the
// configuration set (DRAIN too while the tracked server drains).
func (s *Server) Admin() AdminState {
	if s.rmaint.Load() || s.imaint.Load() {
		return AdminMaint
	}
	a := AdminState(s.admin.Load())
	if a == AdminReady && s.idrain.Load() {
		return AdminDrain
	}
	return a
}

// ForcedAdmin is the admin state the operator or the configuration set,
// whatever DNS says.
func (s *Server) ForcedAdmin() AdminState { return AdminState(s.admin.Load()) }

// Operational returns the operational state.
func (s *Server) Operational() OpState { return OpState(s.op.Load()) }

// SetAdmin sets the admin state; it reports whether it changed.
func (s *Server) SetAdmin(a AdminState) bool {
	s.mu.Lock()
	before := s.Admin()
	old := AdminState(s.admin.Swap(uint32(a)))
	if after := s.Admin(); before != after {
		s.noteTransition(OpState(s.op.Load()), before, OpState(s.op.Load()), after)
	}
	s.mu.Unlock()
	if old != a {
		s.changed()
	}
	return old != a
}

// SetOperational sets the operational state from health checks; it
// reports whether it changed. Rise/fall counting belongs to the caller.
func (s *Server) SetOperational(o OpState) bool {
	s.mu.Lock()
	old := OpState(s.op.Swap(uint32(o)))
	if old != o {
		a := AdminState(s.admin.Load())
		s.noteTransition(old, a, o, a)
	}
	s.mu.Unlock()
	if old != o {
		s.changed()
		s.onOpChange(old, o)
	}
	return old != o
}

// SetUp is SetOperational(OpUp) or SetOperational(OpDown).
func (s *Server) SetUp(up bool) bool {
	if up {
		return s.SetOperational(OpUp)
	}
	return s.SetOperational(OpDown)
}

// noteTransition keeps lastchg, downtime and chkdown. s.mu is held.
func (s *Server) noteTransition(oldOp OpState, oldAdm AdminState, newOp OpState, newAdm AdminState) {
	now := time.Now().UnixNano()
	s.lastChange.Store(now)
	wasDown := oldOp == OpDown || oldAdm == AdminMaint
	isDown := newOp == OpDown || newAdm == AdminMaint
	switch {
	case !wasDown && isDown:
		s.downSince.Store(now)
	case wasDown && !isDown:
		if since := s.downSince.Swap(0); since != 0 {
			s.downTotal.Add(now - since)
		}
	}
	if oldOp != OpDown && newOp == OpDown {
		s.chkDown.Add(1)
	}
}

// Checked reports whether the server has health checks ("check").
func (s *Server) Checked() bool { return s.checked }

// Rise and Fall are the check thresholds (defaults 2 and 3).
func (s *Server) Rise() int { return int(s.rise) }
func (s *Server) Fall() int { return int(s.fall) }

// CheckHealth is HAProxy's check health counter: 0..rise+fall-1, the
// server being UP at rise or more. The health package owns the counting.
func (s *Server) CheckHealth() int { return int(s.health.Load()) }

// SetCheckHealth stores the check health counter (for the status string).
func (s *Server) SetCheckHealth(h int) { s.health.Store(int32(h)) }

// SetAgentHealth stores the agent check's health (0 after the agent said
// down, 1 otherwise); calling it marks the server as agent-checked.
func (s *Server) SetAgentHealth(h int) { s.agentHealth.Store(int32(h)) }

// AgentHealth is the agent check's health, -1 without "agent-check".
func (s *Server) AgentHealth() int { return int(s.agentHealth.Load()) }

// LastChange is when the state last changed (zero before any change).
func (s *Server) LastChange() time.Time {
	if n := s.lastChange.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Downtime is the total time spent DOWN or in MAINT, up to now.
func (s *Server) Downtime(now time.Time) time.Duration {
	d := s.downTotal.Load()
	if since := s.downSince.Load(); since != 0 {
		d += now.UnixNano() - since
	}
	return time.Duration(d)
}

// ChkDown is how many times the server went operationally DOWN.
func (s *Server) ChkDown() uint64 { return s.chkDown.Load() }

// Status is the server's status as HAProxy's stats show it: "UP",
// "UP 1/3" (going down), "DOWN", "DOWN 1/2" (going up), "DOWN (agent)",
// "NOLB", "DRAIN", "DRAIN (agent)", "MAINT" or "no check" (HAProxy's
// stats_get_srv_state).
func (s *Server) Status() string {
	if s.rmaint.Load() {
		return "MAINT (resolution)"
	}
	if s.Admin() == AdminMaint {
		return "MAINT"
	}
	h, r, f := s.health.Load(), s.rise, s.fall
	agent := s.agentHealth.Load()
	switch s.Operational() {
	case OpDown:
		switch {
		case agent == 0:
			return "DOWN (agent)"
		case s.checked && h == 0:
			return "DOWN"
		case s.checked || agent > 0:
			return fmt.Sprintf("DOWN %d/%d", h, r)
		}
		return "DOWN"
	case OpNoLB:
		if s.checked && h < r+f-1 {
			return fmt.Sprintf("NOLB %d/%d", h-r+1, f)
		}
		return "NOLB"
	}
	st := "UP"
	if s.Admin() == AdminDrain {
		st = "DRAIN"
		if agent >= 0 {
			return "DRAIN (agent)"
		}
	}
	if s.checked && h < r+f-1 {
		return fmt.Sprintf("%s %d/%d", st, h-r+1, f)
	}
	if st == "UP" && !s.checked {
		return "no check"
	}
	return st
}

// RestoreLastChange sets when the state last changed, for a state saved
// by an earlier process (server-state-file) to keep its age.
func (s *Server) RestoreLastChange(t time.Time) { s.lastChange.Store(t.UnixNano()) }

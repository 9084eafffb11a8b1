package upstream

// HAProxy's "track [<backend>/]<server>": a server without checks of its
// own takes the operational state of the server it tracks, and inherits
// its maintenance and drain modes (SRV_ADMF_IMAINT, SRV_ADMF_IDRAIN),
// along a chain of trackers if need be.

// Track makes s follow t from now on; name is how messages and the stats
// name t ("backend/server"). Call it while building, before traffic.
func (s *Server) Track(t *Server, name string) {
	s.tracked, s.trackName = t, name
	t.OnChange(func(*Server) { s.follow() })
	s.follow()
}

// Tracked returns the server s tracks and its "backend/server" name; nil
// when s does not track one.
func (s *Server) Tracked() (*Server, string) { return s.tracked, s.trackName }

// Ref is the server whose checks decide s's state: the end of its track
// chain, or s itself (HAProxy's "ref" in the stats).
func (s *Server) Ref() *Server {
	r := s
	for r.tracked != nil {
		r = r.tracked
	}
	return r
}

// InheritedMaint and InheritedDrain report the modes s took from the
// server it tracks.
func (s *Server) InheritedMaint() bool    { return s.imaint.Load() }
func (s *Server) InheritedDrain() bool    { return s.idrain.Load() }
func (s *Server) inherited() (bool, bool) { return s.imaint.Load(), s.idrain.Load() }

// follow copies the tracked server's state.
func (s *Server) follow() {
	t := s.tracked
	tAdm := t.Admin()
	maint, drain := tAdm == AdminMaint, tAdm == AdminDrain
	s.mu.Lock()
	before, oldOp := s.Admin(), OpState(s.op.Load())
	oldMaint, oldDrain := s.inherited()
	s.imaint.Store(maint)
	s.idrain.Store(drain)
	op := OpState(t.op.Load())
	s.op.Store(uint32(op))
	after := s.Admin()
	changed := oldMaint != maint || oldDrain != drain || oldOp != op
	if before != after || oldOp != op {
		s.noteTransition(oldOp, before, op, after)
	}
	s.mu.Unlock()
	if changed {
		s.changed()
		s.onOpChange(oldOp, op)
	}
}

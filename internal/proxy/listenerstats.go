package proxy

// "option socket-stats": a listener's own counters beside its frontend's.
// These count a request error or denial on both.

func (s *session) countErrReq() {
	s.fe.Counters.ErrReq.Add(1)
	if lc := s.lst.Counters; lc != nil {
		lc.ErrReq.Add(1)
	}
}

func (s *session) countDenyReq() {
	s.fe.Counters.DenyReq.Add(1)
	if lc := s.lst.Counters; lc != nil {
		lc.DenyReq.Add(1)
	}
}

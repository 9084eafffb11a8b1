package upstream

import "net/netip"

// What DNS resolution changes on a server (internal/resolve drives it): the
// address, MAINT (resolution) and, from SRV records, the weight. Connections
// already open to an old address finish their requests; only new ones go to
// the new address.

// SetAddr moves the server to ap. Idle pooled connections to the old
// address are closed so that no new request reaches it.
func (s *Server) SetAddr(ap netip.AddrPort) bool {
	s.mu.Lock()
	old := *s.addr.Load()
	if old == ap {
		s.mu.Unlock()
		return false
	}
	s.addr.Store(&ap)
	s.mu.Unlock()
	s.pool.CloseIdle()
	s.changed()
	return true
}

// HasAddr reports whether the server has an address to connect to (a
// server started with "init-addr none" has none until DNS gives one).
func (s *Server) HasAddr() bool { return s.Addr().Addr().IsValid() }

// ResolutionMaint reports whether the server is in MAINT (resolution).
func (s *Server) ResolutionMaint() bool { return s.rmaint.Load() }

// SetResolutionMaint puts the server in or out of MAINT (resolution), as
// HAProxy's SRV_ADMF_RMAINT: it takes no new traffic while requests in
// flight finish. It reports whether the state changed.
func (s *Server) SetResolutionMaint(on bool) bool {
	s.mu.Lock()
	before := s.Admin()
	if s.rmaint.Swap(on) == on {
		s.mu.Unlock()
		return false
	}
	if after := s.Admin(); before != after {
		op := OpState(s.op.Load())
		s.noteTransition(op, before, op, after)
	}
	s.mu.Unlock()
	if on {
		s.pool.CloseIdle()
	}
	s.changed()
	return true
}

// SetHostname records the name DNS bound the server to (an SRV record's
// target), HAProxy's srv->hostname; "" when it has none.
func (s *Server) SetHostname(h string) {
	if h != "" {
		s.hostnameSet.Store(true)
	}
	s.hostname.Store(&h)
}

// HostnameFromDNS reports whether DNS ever bound the server to a name
// (HAProxy keeps SRV_ADMF_HMAINT from then on).
func (s *Server) HostnameFromDNS() bool { return s.hostnameSet.Load() }

// Hostname is what SetHostname recorded.
func (s *Server) Hostname() string {
	if h := s.hostname.Load(); h != nil {
		return *h
	}
	return ""
}

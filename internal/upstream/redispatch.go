package upstream

// RedispatchNow reports whether a retry after a failure on tried may go to
// another server at once rather than on the last retry only, as HAProxy
// 2.6's stream_choose_redispatch decides with "option redispatch": when
// tried is down, or when the balancing does not hash (roundrobin,
// static-rr, leastconn, first) and more than one active server takes
// traffic, since nothing ties the request to tried. A hashed request keeps
// its server until the last retry.
func (f *Farm) RedispatchNow(tried *Server) bool {
	if tried.Operational() == OpDown {
		return true
	}
	return !f.bal.sticky() && !f.UsingBackups() && f.Live() > 1
}

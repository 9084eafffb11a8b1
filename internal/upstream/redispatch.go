package upstream

// RedispatchNow reports whether a retry after a failure on tried may go to
// another server at once rather than on the last retry only, as HAProxy
// 2.6's stream_choose_redispatch decides with "option redispatch": when
// tried is down, or when the balancing does not hash (roundrobin,
// static-rr, leastconn, first) and more than one active server takes
// traffic, since nothing ties the request to tried. A hashed request keeps
// its server until the last retry.
// RedispatchTurn reports whether retry number n (1 for the first) of at
// most retries is one "option redispatch <after>" moves to another
// server, as HAProxy 2.6's stream_choose_redispatch counts: every
// after-th retry when after > 0, the retries+1+after-th (and its
// multiples) when after < 0 (-1: the last), none when 0.
func RedispatchTurn(n, retries, after int) bool {
	switch {
	case after > 0:
		return n%after == 0
	case after < 0:
		if d := retries + 1 + after; d > 0 {
			return n%d == 0
		}
	}
	return false
}

func (f *Farm) RedispatchNow(tried *Server) bool {
	if tried.Operational() == OpDown {
		return true
	}
	return !f.bal.sticky() && !f.UsingBackups() && f.Live() > 1
}

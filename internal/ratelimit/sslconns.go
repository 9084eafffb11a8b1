package ratelimit

import "sync/atomic"

// SSLConns counts the live TLS connections of a runtime against
// "maxsslconn", as HAProxy's global.sslconns: a TLS connection from a
// client or to a server takes one before its handshake and gives it back
// when it closes; past the limit the connection fails (HAProxy's "Too
// many SSL connections"). A nil *SSLConns never refuses.
type SSLConns struct {
	max      int64 // 0: no limit
	cur, cum atomic.Int64
}

// NewSSLConns returns the count for limit max (0: none).
func NewSSLConns(max int) *SSLConns { return &SSLConns{max: int64(max)} }

// Take counts one more TLS connection, or reports the limit reached.
func (s *SSLConns) Take() bool {
	if s == nil {
		return true
	}
	if s.cur.Add(1) > s.max && s.max > 0 {
		s.cur.Add(-1)
		return false
	}
	s.cum.Add(1)
	return true
}

// Done gives back what Take counted.
func (s *SSLConns) Done() {
	if s != nil {
		s.cur.Add(-1)
	}
}

// Cur is the TLS connections open now; Max the limit (0: none).
func (s *SSLConns) Cur() int64 { return s.cur.Load() }
func (s *SSLConns) Max() int64 { return s.max }

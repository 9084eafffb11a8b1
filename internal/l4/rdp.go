package l4

import (
	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// rdpPersist is "persist rdp-cookie" as HAProxy 2.6's
// tcp_persist_rdp_cookie: unless a use-server rule assigned a server, the
// cookie "<addr>.<port>.<rest>" of the client's RDP connection request
// names the server by its IPv4 address and port, both decimal integers
// of the bytes in network order read little-endian (as the terminal
// servers write them: 10.0.0.1:3389 is "16777226.15629."). The first
// server with that address and port gets the connection when it is up,
// or with "option persist".
func (s *session) rdpPersist() {
	name := s.be.RDPPersist
	if name == "" || s.target != nil {
		return
	}
	v, st := acl.RDPCookie(s.payload, name)
	if st != acl.RDPFound || len(v) == 0 {
		return
	}
	addr, rest := strtoul(v)
	if len(rest) == 0 || rest[0] != '.' {
		return
	}
	p, rest := strtoul(rest[1:])
	if len(rest) == 0 || rest[0] != '.' {
		return
	}
	a4 := [4]byte{byte(addr), byte(addr >> 8), byte(addr >> 16), byte(addr >> 24)}
	port := uint16(p)>>8 | uint16(p)<<8
	always := s.be.Persist != nil && s.be.Persist.Always
	for _, srv := range s.be.Farm.Servers() {
		sa := srv.Addr()
		if !sa.Addr().Is4() || sa.Addr().As4() != a4 || sa.Port() != port {
			continue
		}
		if srv.Reachable() || always {
			s.target = srv
		}
		return
	}
}

// strtoul reads a number as C's strtoul(s, &end, 10) does on a 64-bit
// system: leading white space, an optional sign (a minus negates it
// modulo 2^64), decimal digits saturating at 2^64-1; no digit reads 0
// and consumes nothing. It returns the value and what follows.
func strtoul(s []byte) (uint64, []byte) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	over := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			over = true
		}
		v = v*10 + d
		i++
	}
	if i == start {
		return 0, s
	}
	if over {
		return ^uint64(0), s[i:]
	}
	if neg {
		v = -v
	}
	return v, s[i:]
}

// rdpKey is "balance rdp-cookie"'s hash key: the cookie's value, or none
// (round robin) when the request has no such cookie or an empty one.
func (s *session) rdpKey(key *upstream.Key) {
	name := s.be.RDPBalance
	if name == "" {
		return
	}
	if v, st := acl.RDPCookie(s.payload, name); st == acl.RDPFound && len(v) > 0 {
		key.Sample, key.HasSample = string(v), true
	}
}

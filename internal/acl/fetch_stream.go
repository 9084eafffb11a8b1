package acl

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Stream answers the fetches about the stream's own connection and
// settings: the timeouts set-timeout may have changed, the listening
// socket, the PROXY header and the kernel's TCP counters of the client
// connection. The proxy's transaction implements it.
type Stream interface {
	// CurTimeouts are the server and tunnel timeouts set-timeout gave the
	// stream (0: none); ok is false before a backend is chosen.
	CurTimeouts() (server, tunnel time.Duration, ok bool)
	// Socket is the listener's id in its frontend and its bind name ("":
	// none).
	Socket() (id int, name string)
	// ProxyHeader reports whether the client sent a PROXY header, and
	// the value of one of its v2 TLVs (PP2_TYPE_*).
	ProxyHeader() bool
	ProxyTLV(typ byte) (string, bool)
	// ClientTCPInfo is the kernel's TCP_INFO of the client connection;
	// false when there is none (not TCP, not Linux).
	ClientTCPInfo() (TCPInfo, bool)
}

// TCPInfo is what the fc_rtt family reads of Linux's struct tcp_info.
type TCPInfo struct {
	RTT, RTTVar                                         time.Duration
	Unacked, Sacked, Retrans, Fackets, Lost, Reordering int64
}

const (
	ppTypeAuthority = 0x02
	ppTypeUniqueID  = 0x05
)

func streamFetches() []fetchDef {
	tcpInfo := func(name, doc string, get func(TCPInfo) int64) fetchDef {
		return fetchDef{name: name, out: tInt, need: NeedConn, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			i, ok := t.Stream.ClientTCPInfo()
			if !ok {
				return sample{}, c, fNone
			}
			return intSmp(get(i)), c, fVal
		}, doc: doc}
	}
	rtt := func(name, doc string, get func(TCPInfo) time.Duration) fetchDef {
		return fetchDef{name: name, args: "S", out: tInt, need: NeedConn, check: checkRTTUnit, fn: func(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			i, ok := t.Stream.ClientTCPInfo()
			if !ok {
				return sample{}, c, fNone
			}
			d := get(i)
			if a.str[0] == "us" {
				return intSmp(d.Microseconds()), c, fVal
			}
			return intSmp(d.Milliseconds()), c, fVal
		}, doc: doc}
	}
	timeout := func(name, doc string, tunnel bool) fetchDef {
		return fetchDef{name: name, out: tInt, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			srv, tun, ok := t.Stream.CurTimeouts()
			if !ok {
				return sample{}, c, fNone
			}
			if tunnel {
				srv = tun
			}
			return intSmp(srv.Milliseconds()), c, fVal
		}, doc: doc}
	}
	ppTLV := func(name, doc string, typ byte) fetchDef {
		return fetchDef{name: name, out: tStr, need: NeedConn, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			v, ok := t.Stream.ProxyTLV(typ)
			if !ok {
				return sample{}, c, fNone
			}
			return strSmp(v), c, fVal
		}, doc: doc}
	}
	local := func(name, doc string, addr func(*Txn) netip.AddrPort) fetchDef {
		return fetchDef{name: name, out: tBool, need: NeedConn, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			a := addr(t)
			if !a.IsValid() {
				return sample{}, c, fNone
			}
			return boolSmp(isLocalAddr(a.Addr())), c, fVal
		}, doc: doc}
	}
	return []fetchDef{
		rtt("fc_rtt", "the kernel's round trip time of the client connection, in ms (or 'us')", func(i TCPInfo) time.Duration { return i.RTT }),
		rtt("fc_rttvar", "the kernel's round trip time variance of the client connection, in ms (or 'us')", func(i TCPInfo) time.Duration { return i.RTTVar }),
		tcpInfo("fc_unacked", "the kernel's unacked counter of the client connection", func(i TCPInfo) int64 { return i.Unacked }),
		tcpInfo("fc_sacked", "the kernel's sacked counter of the client connection", func(i TCPInfo) int64 { return i.Sacked }),
		tcpInfo("fc_retrans", "the kernel's retransmits counter of the client connection", func(i TCPInfo) int64 { return i.Retrans }),
		tcpInfo("fc_fackets", "the kernel's fackets counter of the client connection", func(i TCPInfo) int64 { return i.Fackets }),
		tcpInfo("fc_lost", "the kernel's lost counter of the client connection", func(i TCPInfo) int64 { return i.Lost }),
		tcpInfo("fc_reordering", "the kernel's reordering counter of the client connection", func(i TCPInfo) int64 { return i.Reordering }),
		timeout("cur_server_timeout", "the server timeout a set-timeout rule gave the stream, in ms; 0 without one (HAProxy 2.6's answer)", false),
		timeout("cur_tunnel_timeout", "the tunnel timeout a set-timeout rule gave the stream, in ms; 0 without one (HAProxy 2.6's answer)", true),
		{name: "so_id", out: tInt, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			id, _ := t.Stream.Socket()
			return intSmp(int64(id)), c, fVal
		}, doc: "the listening socket's id in its frontend (from 1, in the order of the bind lines)"},
		{name: "so_name", out: tStr, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			_, name := t.Stream.Socket()
			if name == "" {
				return sample{}, c, fNone
			}
			return strSmp(name), c, fVal
		}, doc: "the listening socket's name ('bind ... name'); none without one"},
		{name: "fc_rcvd_proxy", out: tBool, need: NeedConn, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Stream == nil {
				return sample{}, c, fNone
			}
			return boolSmp(t.Stream.ProxyHeader()), c, fVal
		}, doc: "true when the client connection began with a PROXY header"},
		ppTLV("fc_pp_authority", "the authority TLV of the client's PROXY v2 header", ppTypeAuthority),
		ppTLV("fc_pp_unique_id", "the unique ID TLV of the client's PROXY v2 header", ppTypeUniqueID),
		local("fc_src_is_local", "true when the client connection's source address is one of this host's", func(t *Txn) netip.AddrPort { return t.ConnSrc }),
		local("fc_dst_is_local", "true when the client connection's destination address is one of this host's", func(t *Txn) netip.AddrPort { return t.ConnDst }),
		local("src_is_local", "true when the client's address (set-src applies) is one of this host's", func(t *Txn) netip.AddrPort { return t.Src }),
		local("dst_is_local", "true when the destination address (set-dst applies) is one of this host's", func(t *Txn) netip.AddrPort { return t.Dst }),
	}
}

func checkRTTUnit(a *fetchArgs) error {
	switch a.str[0] {
	case "", "ms", "us":
		return nil
	}
	return fmt.Errorf("invalid unit '%s': 'ms' or 'us' expected", a.str[0])
}

// isLocalAddr reports whether a is an address of this host, as HAProxy
// decides it: a socket can be bound to it.
func isLocalAddr(a netip.Addr) bool {
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(a.Unmap(), 0)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

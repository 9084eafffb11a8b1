package acl

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// Fetches of the request-target beyond path and query, and of the client
// connection's own addresses (which set-src and set-dst leave alone).
func urlFetches() []fetchDef {
	return []fetchDef{
		{name: "pathq", out: tStr, need: NeedReq, fn: fetchPathQ,
			doc: "the path and the query, without an absolute target's scheme and authority (the same for HTTP/1.1 and HTTP/2 clients)"},
		{name: "url_ip", out: tIP, need: NeedReq, fn: fetchURLIP,
			doc: "the IPv4 address of an absolute http:// or https:// target written as an address; nothing otherwise"},
		{name: "url_port", out: tInt, need: NeedReq, fn: fetchURLPort,
			doc: "the port of such a target (80, or 443 for https, when not written); nothing when url_ip has nothing"},
		{name: "fc_src", out: tIP, need: NeedConn, fn: fetchFcSrc, doc: "the client connection's source address (http-request set-src does not change it)"},
		{name: "fc_src_port", out: tInt, need: NeedConn, fn: fetchFcSrcPort, doc: "the client connection's source port"},
		{name: "fc_dst", out: tIP, need: NeedConn, fn: fetchFcDst, doc: "the address the client connection reached (http-request set-dst does not change it)"},
		{name: "fc_dst_port", out: tInt, need: NeedConn, fn: fetchFcDstPort, doc: "the port the client connection reached"},
		{name: "bc_src", out: tIP, fn: addrFetch(func(t *Txn) netip.AddrPort { return t.BcSrc }, false), doc: "the source address of the connection to the server, once there is one"},
		{name: "bc_src_port", out: tInt, fn: addrFetch(func(t *Txn) netip.AddrPort { return t.BcSrc }, true), doc: "its source port"},
		{name: "bc_dst", out: tIP, fn: addrFetch(func(t *Txn) netip.AddrPort { return t.BcDst }, false), doc: "the server address the connection reached"},
		{name: "bc_dst_port", out: tInt, fn: addrFetch(func(t *Txn) netip.AddrPort { return t.BcDst }, true), doc: "its port"},
		{name: "fc_http_major", out: tInt, need: NeedReq, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.Req == nil || t.Req.Major == 0 {
				return sample{}, c, fNone
			}
			return intSmp(int64(t.Req.Major)), c, fVal
		}, doc: "the HTTP major version the client speaks (1, or 2 for HTTP/2)"},
		{name: "bc_http_major", out: tInt, fn: func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
			if t.BcHTTPMajor == 0 {
				return sample{}, c, fNone
			}
			return intSmp(int64(t.BcHTTPMajor)), c, fVal
		}, doc: "the HTTP major version spoken with the server (1 or 2)"},
	}
}

// addrFetch reads an address (or its port) the proxy may not know yet.
func addrFetch(get func(*Txn) netip.AddrPort, port bool) fetchFn {
	return func(t *Txn, _ *fetchArgs, c cursor) (sample, cursor, fres) {
		a := get(t)
		switch {
		case !a.IsValid():
			return sample{}, c, fNone
		case port:
			return intSmp(int64(a.Port())), c, fVal
		}
		return ipSmp(a.Addr().Unmap()), c, fVal
	}
}

func fetchPathQ(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Req == nil {
		return sample{}, cursor{}, fNone
	}
	tg, _ := httpmsg.ParseTarget(t.Req.URI)
	p, ok := tg.OriginForm()
	if !ok || tg.Path == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(p), cursor{}, fVal
}

// urlAddr is HAProxy's url2sa as url_ip and url_port use it: an http or
// https absolute target whose host is an IPv4 address, with its port.
func urlAddr(t *Txn) (netip.AddrPort, bool) {
	if t.Req == nil {
		return netip.AddrPort{}, false
	}
	tg, err := httpmsg.ParseTarget(t.Req.URI)
	if err != nil || tg.Form != httpmsg.FormAbsolute {
		return netip.AddrPort{}, false
	}
	port := uint16(80)
	switch strings.ToLower(tg.Scheme) {
	case "http":
	case "https":
		port = 443
	default:
		return netip.AddrPort{}, false
	}
	host, ps, hasPort := strings.Cut(tg.Authority, ":")
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() {
		return netip.AddrPort{}, false
	}
	if hasPort {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return netip.AddrPort{}, false
		}
		port = uint16(n)
	}
	return netip.AddrPortFrom(ip, port), true
}

func fetchURLIP(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	a, ok := urlAddr(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return ipSmp(a.Addr()), cursor{}, fVal
}

func fetchURLPort(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	a, ok := urlAddr(t)
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(a.Port())), cursor{}, fVal
}

func fetchFcSrc(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.ConnSrc.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return ipSmp(t.ConnSrc.Addr().Unmap()), cursor{}, fVal
}

func fetchFcSrcPort(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.ConnSrc.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(t.ConnSrc.Port())), cursor{}, fVal
}

func fetchFcDst(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.ConnDst.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return ipSmp(t.ConnDst.Addr().Unmap()), cursor{}, fVal
}

func fetchFcDstPort(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.ConnDst.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(t.ConnDst.Port())), cursor{}, fVal
}

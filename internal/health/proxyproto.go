package health

import (
	"net"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/proxyproto"
)

// proxyHeader is the PROXY header HAProxy 2.6 sends before a check when
// the server has send-proxy* or check-send-proxy (make_proxy_line with no
// client stream): version 1 carries the check connection's own addresses;
// version 2 is a LOCAL command without addresses (there is no client to
// speak for), with only the TLVs that need no client: "ssl" gives the SSL
// TLV with client=0; authority, unique-id and ALPN have no value to send.
// With "pp2-never-send-local" (PP2NeverSendLocal) version 2 is a PROXY
// command with the check connection's addresses, as version 1.
func (tg *Target) proxyHeader(local, remote net.Addr) []byte {
	if tg.ProxyV2 == nil {
		return proxyproto.AppendV1(nil, addrPort(local), addrPort(remote))
	}
	var src, dst netip.AddrPort
	if tg.PP2NeverSendLocal {
		src, dst = addrPort(local), addrPort(remote)
	}
	return proxyproto.AppendV2(nil, src, dst, &proxyproto.Options{SSL: tg.ProxyV2.SSL})
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

package health

import (
	"fmt"
	"net"
)

// proxyV1 is the PROXY protocol v1 header HAProxy sends before a check
// with "check-send-proxy": the check connection's own addresses.
func proxyV1(local, remote net.Addr) []byte {
	l, lok := local.(*net.TCPAddr)
	r, rok := remote.(*net.TCPAddr)
	if !lok || !rok {
		return []byte("PROXY UNKNOWN\r\n")
	}
	fam := "TCP4"
	if l.IP.To4() == nil {
		fam = "TCP6"
	}
	return []byte(fmt.Sprintf("PROXY %s %s %s %d %d\r\n", fam, l.IP.String(), r.IP.String(), l.Port, r.Port))
}

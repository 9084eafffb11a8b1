package app

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/upstream"
	"golang.org/x/sys/unix"
)

// SockOpts are the bind options that shape a listening socket.
type SockOpts struct {
	// V6Only: IPV6_V6ONLY of an IPv6 socket, 1 on (v6only), 0 off (v4v6),
	// -1 the system's default (net.ipv6.bindv6only), as HAProxy leaves it.
	V6Only int8
}

func sockOpts(bd *config.Bind) SockOpts {
	o := SockOpts{V6Only: -1}
	if bd.V6Only != nil {
		o.V6Only = 0
		if *bd.V6Only {
			o.V6Only = 1
		}
	}
	return o
}

// listenNetwork is the family HAProxy's address means: an IPv4 address
// (the wildcard of "*:80" included) is an AF_INET socket, which takes no
// IPv6 connection; an IPv6 one an AF_INET6 socket. Go's "tcp" would make
// 0.0.0.0 a dual-stack IPv6 socket.
func listenNetwork(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	switch {
	case err != nil:
		return "tcp" // a host name: whatever it resolves to
	case ap.Addr().Is4():
		return "tcp4"
	default:
		return "tcp6"
	}
}

// systemV6Only is net.ipv6.bindv6only, the default of IPV6_V6ONLY that
// HAProxy leaves in place (Go's "tcp6" would always set it).
func systemV6Only() int {
	b, err := os.ReadFile("/proc/sys/net/ipv6/bindv6only")
	if err == nil && strings.TrimSpace(string(b)) == "1" {
		return 1
	}
	return 0
}

func listen(ctx context.Context, addr string, o SockOpts) (net.Listener, error) {
	network := listenNetwork(addr)
	lc := net.ListenConfig{
		// No keep-alive probes unless the frontend asks (option clitcpka,
		// set per connection in acceptLoop), as in HAProxy.
		KeepAlive:       -1,
		KeepAliveConfig: upstream.KeepAlive(false),
		Control: func(network, address string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
				if serr == nil {
					// As HAProxy by default: a new process started with
					// -sf/-st binds beside the old one, so no connection
					// is refused while they hand over.
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
				}
				if serr == nil && network == "tcp6" {
					v := int(o.V6Only)
					if v < 0 {
						v = systemV6Only()
					}
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, v)
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	return lc.Listen(ctx, network, addr)
}

// maxPipes is the "maxpipes" in force (-1: no limit): the configured one,
// else HAProxy's compute_ideal_maxpipes: the larger of the splicing
// frontends' maxconn sum and the splicing backends' fullconn (global
// maxconn when unset) sum, at most the global maxconn, a quarter of it
// from 4 up; unlimited when a splicing proxy is and no global maxconn is set.
func maxPipes(cfg *config.Config) int {
	if cfg.Global.MaxPipes > 0 {
		return cfg.Global.MaxPipes
	}
	nbfe, nbbe, unlimited := 0, 0, false
	for _, p := range cfg.Proxies {
		if !p.SpliceRequest && !p.SpliceResponse {
			continue
		}
		if p.Cap&config.CapFE != 0 {
			nbfe += p.MaxConn
			unlimited = unlimited || p.MaxConn == 0
		}
		if p.Cap&config.CapBE != 0 {
			n := p.FullConn
			if n == 0 {
				n = cfg.Global.MaxConn
			}
			nbbe += n
			unlimited = unlimited || n == 0
		}
	}
	pipes := max(nbfe, nbbe)
	if mc := cfg.Global.MaxConn; mc > 0 {
		if pipes > mc || unlimited {
			pipes = mc
		}
	} else if unlimited {
		return -1
	}
	if pipes >= 4 {
		pipes /= 4
	}
	return pipes
}

// maxAccept is tune.maxaccept in force: 4 by default as in HAProxy 2.6
// (MAX_ACCEPT), 0 for no limit (-1 in the configuration).
func maxAccept(cfg *config.Config) int {
	switch n := cfg.Global.MaxAccept; {
	case n < 0:
		return 0
	case n == 0:
		return 4
	default:
		return n
	}
}

// MaxSock is the descriptors a configuration with a global maxconn needs,
// as HAProxy 2.6's compute_ideal_maxsock counts them: two per connection
// (client and server), two per pipe, and a reserve for the listeners and
// runtime API sockets. 0 without a global maxconn (no limit to honour).
func MaxSock(cfg *config.Config) int {
	mc := cfg.Global.MaxConn
	if mc <= 0 {
		return 0
	}
	n := 16 + 2*mc + 2*max(maxPipes(cfg), 0) + len(cfg.Global.StatsSockets)
	for _, p := range cfg.Proxies {
		n += len(p.Binds)
	}
	return n
}

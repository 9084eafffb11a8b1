package app

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/upstream"
	"golang.org/x/sys/unix"
)

// SockOpts are the bind options that shape a listening socket. They are
// compared on reload: a socket whose options changed is opened anew.
type SockOpts struct {
	// V6Only: IPV6_V6ONLY of an IPv6 socket, 1 on (v6only), 0 off (v4v6),
	// -1 the system's default (net.ipv6.bindv6only), as HAProxy leaves it.
	V6Only int8
	// Backlog is listen(2)'s backlog; 0: Go's (net.core.somaxconn).
	Backlog int
	// DeferAccept: TCP_DEFER_ACCEPT of one second ("defer-accept").
	DeferAccept bool
	// MSS: TCP_MAXSEG ("mss"); < 0 lowers the system's default; 0 none.
	MSS int
	// Interface: SO_BINDTODEVICE ("interface").
	Interface string
	// NoQuickAck: TCP_QUICKACK off (option tcp-smart-accept, on by
	// default for HTTP frontends and TLS binds).
	NoQuickAck bool
	// TFO: TCP Fast Open ("tfo"), its queue the listen backlog, as HAProxy.
	TFO bool
	// NoReusePort: no SO_REUSEPORT (global "noreuseport"). Not compared
	// on reload (sameSocket): a running socket keeps what it was opened with.
	NoReusePort bool
}

// sameSocket: a listener opened with a serves b's options unchanged.
func sameSocket(a, b SockOpts) bool {
	a.NoReusePort = b.NoReusePort
	return a == b
}

// sockOpts are bd's socket options in frontend p, with HAProxy's
// defaults: the backlog is the bind's, else the frontend's "backlog", else
// its maxconn, else the global maxconn; smart accept is automatic for HTTP
// and TLS.
func sockOpts(p *config.Proxy, bd *config.Bind, g *config.Global) SockOpts {
	o := SockOpts{V6Only: -1, DeferAccept: bd.DeferAccept, MSS: bd.MSS, Interface: bd.Interface, TFO: bd.TFO, NoReusePort: g.NoReusePort}
	globalMaxConn := g.MaxConn
	if bd.V6Only != nil {
		o.V6Only = 0
		if *bd.V6Only {
			o.V6Only = 1
		}
	}
	o.Backlog = bd.Backlog
	if o.Backlog == 0 && p != nil {
		o.Backlog = p.Backlog
		if o.Backlog == 0 {
			o.Backlog = bd.MaxConn // listener_backlog(): the bind's maxconn first
		}
		if o.Backlog == 0 {
			o.Backlog = p.MaxConn
		}
		if o.Backlog == 0 {
			o.Backlog = globalMaxConn
		}
	}
	if p != nil {
		if p.SmartAccept != nil {
			o.NoQuickAck = *p.SmartAccept
		} else {
			o.NoQuickAck = p.Mode == config.ModeHTTP || bd.SSL
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
				if serr == nil && !o.NoReusePort {
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
				if serr == nil {
					serr = o.apply(int(fd))
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	// Plain TCP as HAProxy 2.6's: Go makes listeners MPTCP by default,
	// whose sockets refuse TCP options such as TCP_QUICKACK.
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err == nil {
		var lerr error
		err = rc.Control(func(fd uintptr) { lerr = o.afterListen(int(fd)) })
		if err == nil {
			err = lerr
		}
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// afterListen sets what listen(2) would reset or what Go's listen does
// not let one choose: the backlog (Go uses net.core.somaxconn; listening
// again on the bound socket changes it, capped the same way) and
// TCP_QUICKACK, which listen(2) clears and accepted sockets inherit
// (HAProxy sets it after listen too).
func (o SockOpts) afterListen(fd int) error {
	if o.Backlog > 0 {
		if err := syscall.Listen(fd, o.Backlog); err != nil {
			return fmt.Errorf("backlog %d: %w", o.Backlog, err)
		}
	}
	quick := 1
	if o.NoQuickAck {
		quick = 0
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK, quick)
}

// apply sets the bind's TCP options on the socket before it binds, as
// HAProxy's tcp_bind_listener does. A device that cannot be bound is an
// error (HAProxy warns and listens on every interface).
func (o SockOpts) apply(fd int) error {
	if o.Interface != "" {
		if err := unix.BindToDevice(fd, o.Interface); err != nil {
			return fmt.Errorf("cannot bind listener to device '%s': %w", o.Interface, err)
		}
	}
	if o.DeferAccept {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
			return fmt.Errorf("cannot enable DEFER_ACCEPT: %w", err)
		}
	}
	if o.TFO {
		// HAProxy's queue length is listener_backlog(); without one,
		// Go's listen backlog (net.core.somaxconn) is the queue.
		qlen := o.Backlog
		if qlen <= 0 {
			qlen = somaxconn()
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, qlen); err != nil {
			return fmt.Errorf("cannot enable TCP_FASTOPEN: %w", err)
		}
	}
	if o.MSS != 0 {
		mss := o.MSS
		if mss < 0 {
			def, err := defaultMSS()
			if err != nil {
				return err
			}
			mss += def
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG, mss); err != nil {
			return fmt.Errorf("cannot set MSS %d: %w", mss, err)
		}
	}
	return nil
}

// somaxconn is net.core.somaxconn, the backlog Go listens with; 128
// when it cannot be read.
func somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 128
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 128
	}
	return n
}

// serverSockOpts are the socket options of cs's connections in backend
// p (internal/upstream/dialsock.go), with the global tune.*buf.server
// sizes; nil when it has none. The server's
// "source" wins over the backend's, as in HAProxy.
func serverSockOpts(p *config.Proxy, cs *config.Server, bufs config.SockBufs) *upstream.SockOpts {
	src := cs.Source
	if src == nil {
		src = p.Sock.Source
	}
	if !p.Sock.NoLinger && !p.Sock.SmartConnect && !cs.TFO && src == nil && bufs.ServerSnd == 0 && bufs.ServerRcv == 0 {
		return nil
	}
	o := &upstream.SockOpts{NoLinger: p.Sock.NoLinger, SmartConnect: p.Sock.SmartConnect, TFO: cs.TFO, SndBuf: bufs.ServerSnd, RcvBuf: bufs.ServerRcv}
	if src != nil {
		o.Interface = src.Interface
		// 0.0.0.0 without a port leaves the choice to the system, as
		// HAProxy's default.
		if !src.Addr.IsUnspecified() || src.PortLow != 0 {
			o.Source, o.PortLow, o.PortHigh = src.Addr, src.PortLow, src.PortHigh
		}
	}
	return o
}

// autoIDs numbers objects as HAProxy 2.6 numbers proxies, servers and
// listeners: a fixed id (> 0) is kept; any other object takes the first
// free id from a counter starting at first that every object, numbered
// or not, advances by one. cfgparse has refused duplicates.
func autoIDs(fixed []int, first int) []int {
	used := map[int]bool{}
	for _, id := range fixed {
		if id > 0 {
			used[id] = true
		}
	}
	ids := make([]int, len(fixed))
	next := first
	for i, id := range fixed {
		if id > 0 {
			ids[i] = id
		} else {
			for used[next] {
				next++
			}
			ids[i] = next
		}
		next++
	}
	return ids
}

// serverIDs are a backend's server ids ("id", else automatic).
func serverIDs(servers []*config.Server) []int {
	fixed := make([]int, len(servers))
	for i, s := range servers {
		fixed[i] = s.ID
	}
	return autoIDs(fixed, 1)
}

// bindIDs are a frontend's listener ids (one listener per bound address;
// "id", else automatic).
func bindIDs(binds []*config.Bind) []int {
	fixed := make([]int, len(binds))
	for i, b := range binds {
		fixed[i] = b.ID
	}
	return autoIDs(fixed, 1)
}

// caseAdjust is the header case map of "h1-case-adjust" lines and the
// "h1-case-adjust-file" for a proxy whose option asks for it (on); nil
// otherwise, or when the map is empty.
func (b *builder) caseAdjust(on bool) map[string]string {
	hc := b.cfg.Global.H1Case
	if !on || len(hc.Pairs)+len(hc.FilePairs) == 0 {
		return nil
	}
	m := make(map[string]string, len(hc.Pairs)+len(hc.FilePairs))
	maps.Copy(m, hc.FilePairs)
	maps.Copy(m, hc.Pairs) // cfgparse refused names in both
	return m
}

// defaultMSS is the TCP_MAXSEG of a new socket, what a negative "mss"
// counts from (HAProxy's default_tcp_maxseg).
func defaultMSS() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG)
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

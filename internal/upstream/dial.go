package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// ErrKind classifies a failed connection attempt for the proxy's
// termination states and retry-on decisions.
type ErrKind uint8

const (
	ErrOther    ErrKind = iota // other network error (unreachable, reset...)
	ErrRefused                 // the server refused the connection (RST)
	ErrTimeout                 // timeout connect expired (TCP or TLS handshake)
	ErrTLS                     // the TLS handshake failed
	ErrCanceled                // the caller's context was canceled (client gone)
)

func (k ErrKind) String() string {
	switch k {
	case ErrRefused:
		return "connection refused"
	case ErrTimeout:
		return "connection timeout"
	case ErrTLS:
		return "SSL handshake failure"
	case ErrCanceled:
		return "canceled"
	}
	return "connection error"
}

// TermState is the HAProxy termination state of a request that ended on
// this error while connecting: "sC" for a timeout, "CC" when the client
// went away, "SC" otherwise.
func (k ErrKind) TermState() string {
	switch k {
	case ErrTimeout:
		return "sC"
	case ErrCanceled:
		return "CC"
	}
	return "SC"
}

// DialError is the error Dial returns.
type DialError struct {
	Kind ErrKind
	Addr netip.AddrPort
	Err  error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("upstream %s: %s: %v", e.Addr, e.Kind, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Timeout reports a connect timeout (net.Error).
func (e *DialError) Timeout() bool { return e.Kind == ErrTimeout }

// Retryable reports whether "retry-on conn-failure" applies: every
// failure except the caller's own cancellation.
func (e *DialError) Retryable() bool { return e.Kind != ErrCanceled }

// KindOf returns the ErrKind of err (ErrOther when it is no DialError).
func KindOf(err error) ErrKind {
	var de *DialError
	if errors.As(err, &de) {
		return de.Kind
	}
	return ErrOther
}

// KeepAlive is the socket setting for "option clitcpka/srvtcpka": on
// with the system's timers (as HAProxy sets only SO_KEEPALIVE), or off
// (Go would otherwise probe every 15 s where HAProxy sends nothing).
func KeepAlive(on bool) net.KeepAliveConfig {
	if !on {
		return net.KeepAliveConfig{Enable: false, Idle: -1, Interval: -1, Count: -1}
	}
	return net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
}

// Dial connects to srv: TCP (TCP_NODELAY; keepalive when srv.TCPKeepAlive), then TLS when
// tlsConf is not nil, with key.SNI as ServerName and key.ALPN as the
// offered protocols when set. connectTimeout bounds both the TCP connect
// and the handshake; 0 leaves them to ctx. Errors are *DialError.
func Dial(ctx context.Context, srv *Server, key PoolKey, tlsConf *tls.Config, connectTimeout time.Duration) (*Conn, error) {
	c, err := dialAddr(ctx, srv.Addr(), key, tlsConf, connectTimeout, nil, srv.TCPKeepAlive, srv.Socks4, srv.Sock)
	if err == nil {
		srv.Counters.Connect.Add(1)
	}
	return c, err
}

// DialAddr is Dial to an explicit address (a server with port 0 takes the
// client's destination port).
func DialAddr(ctx context.Context, addr netip.AddrPort, key PoolKey, tlsConf *tls.Config, connectTimeout time.Duration, keepAlive bool) (*Conn, error) {
	return dialAddr(ctx, addr, key, tlsConf, connectTimeout, nil, keepAlive, netip.AddrPort{}, nil)
}

// DialAddrVia is DialAddr through srv's SOCKS4 proxy when it has one.
func DialAddrVia(ctx context.Context, srv *Server, addr netip.AddrPort, key PoolKey, tlsConf *tls.Config, connectTimeout time.Duration) (*Conn, error) {
	return dialAddr(ctx, addr, key, tlsConf, connectTimeout, nil, srv.TCPKeepAlive, srv.Socks4, srv.Sock)
}

// DialTo is Dial (DialPreface when preface is not empty) to addr instead
// of the server's own address when addr is valid: a server at 0.0.0.0
// connects to the request's destination.
func DialTo(ctx context.Context, srv *Server, addr netip.AddrPort, key PoolKey, tlsConf *tls.Config, connectTimeout time.Duration, preface []byte) (*Conn, error) {
	if !addr.IsValid() {
		addr = srv.Addr()
	}
	ssl, err := srv.takeSSL(tlsConf, addr)
	if err != nil {
		return nil, err
	}
	c, err := dialAddr(ctx, addr, key, tlsConf, connectTimeout, preface, srv.TCPKeepAlive, srv.Socks4, srv.Sock)
	if err == nil {
		srv.Counters.Connect.Add(1)
		c.ssl.Store(ssl)
	} else {
		ssl.Done()
	}
	return c, err
}

// errTooManySSL is HAProxy's CO_ER_SSL_TOO_MANY.
var errTooManySSL = errors.New("Too many SSL connections")

// takeSSL counts a TLS connection against maxsslconn (SSLConns) before
// it is made, as HAProxy's ssl_sock_init; nil for a clear one.
func (s *Server) takeSSL(tlsConf *tls.Config, addr netip.AddrPort) (*ratelimit.SSLConns, error) {
	if tlsConf == nil || s.SSLConns == nil {
		return nil, nil
	}
	if !s.SSLConns.Take() {
		return nil, &DialError{Kind: ErrOther, Addr: addr, Err: errTooManySSL}
	}
	return s.SSLConns, nil
}

// DialPreface is Dial that writes preface (a PROXY protocol header) on the
// TCP connection before anything else, TLS handshake included.
func DialPreface(ctx context.Context, srv *Server, key PoolKey, tlsConf *tls.Config, connectTimeout time.Duration, preface []byte) (*Conn, error) {
	ssl, err := srv.takeSSL(tlsConf, srv.Addr())
	if err != nil {
		return nil, err
	}
	c, err := dialAddr(ctx, srv.Addr(), key, tlsConf, connectTimeout, preface, srv.TCPKeepAlive, srv.Socks4, srv.Sock)
	if err == nil {
		srv.Counters.Connect.Add(1)
		c.ssl.Store(ssl)
	} else {
		ssl.Done()
	}
	return c, err
}

func dialAddr(ctx context.Context, addr netip.AddrPort, key PoolKey, tlsConf *tls.Config, connectTimeout time.Duration, preface []byte, keepAlive bool, socks4 netip.AddrPort, so *SockOpts) (*Conn, error) {
	parent := ctx
	if connectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	d := net.Dialer{KeepAlive: -1, KeepAliveConfig: KeepAlive(keepAlive)}
	if so != nil {
		d.Control = so.Control // dialsock.go: source, nolinger, smart connect, tfo
	}
	first := addr
	if socks4.IsValid() {
		first = socks4 // "socks4": the TCP connection goes to the proxy
	}
	nc, err := d.DialContext(ctx, "tcp", first.String())
	if err != nil {
		return nil, &DialError{Kind: classify(parent, err, false), Addr: addr, Err: err}
	}
	raw := nc.(*net.TCPConn)
	if socks4.IsValid() {
		dl, _ := ctx.Deadline()
		if err := Socks4Connect(raw, addr, dl); err != nil {
			raw.Close()
			kind := classify(parent, err, false)
			if IsSocks4Refusal(err) {
				kind = ErrRefused
			}
			return nil, &DialError{Kind: kind, Addr: addr, Err: err}
		}
	}
	_ = raw.SetNoDelay(true)
	if len(preface) > 0 {
		if dl, ok := ctx.Deadline(); ok {
			_ = raw.SetWriteDeadline(dl)
		}
		_, err := raw.Write(preface)
		_ = raw.SetWriteDeadline(time.Time{})
		if err != nil {
			raw.Close()
			return nil, &DialError{Kind: classify(parent, err, false), Addr: addr, Err: err}
		}
	}
	if tlsConf == nil {
		return NewConn(sock.Wrap(raw), raw, key), nil
	}
	cfg := tlsConf
	var protos []string
	if key.ALPN != "" {
		protos = strings.Split(key.ALPN, ",")
	}
	if (key.SNI != "" && cfg.ServerName != key.SNI) || (protos != nil && !equalStrings(cfg.NextProtos, protos)) {
		cfg = cfg.Clone()
		if key.SNI != "" {
			cfg.ServerName = key.SNI
		}
		if protos != nil {
			cfg.NextProtos = protos
		}
	}
	under := sock.Wrap(raw)
	rc := &tlsconf.RandomsConn{Conn: under} // ssl_bc_client_random, ssl_bc_server_random
	tc := tls.Client(rc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, &DialError{Kind: classify(parent, err, true), Addr: addr, Err: err}
	}
	c := NewConn(tc, raw, key)
	c.Wire = under // what the proxy's answer waits expect
	c.ClientRandom, c.ServerRandom = rc.Client, rc.Server
	c.Proto = tc.ConnectionState().NegotiatedProtocol
	return c, nil
}

func classify(parent context.Context, err error, handshake bool) ErrKind {
	switch {
	case parent.Err() == context.Canceled:
		return ErrCanceled
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT):
		return ErrTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	if handshake {
		return ErrTLS
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ErrRefused
	}
	return ErrOther
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

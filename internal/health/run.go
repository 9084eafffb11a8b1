package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/upstream"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// maxRead bounds what a check reads from the server (HAProxy's check
// buffer is tune.bufsize, 16kB by default).
const maxRead = 16384

// Target is where and how one server's checks connect.
type Target struct {
	Addr netip.AddrPort // the server's address
	// Live, when set, gives the server's address at each check instead of
	// Addr (DNS resolution moves servers at run time).
	Live      func() netip.AddrPort
	CheckAddr netip.Addr // "addr"; invalid when unset
	Port      int        // "port"; 0 when unset
	// SSL: the default connection uses TLS ("check-ssl", or the server's
	// "ssl" when neither "port" nor "addr" is set, as HAProxy decides).
	SSL bool
	// SendProxy: the default connection starts with a PROXY header (the
	// server's send-proxy*, or "check-send-proxy"). ProxyV2 non-nil makes it
	// version 2 with those TLV options (the server's send-proxy-v2), else
	// version 1; "connect send-proxy" steps send the same header.
	SendProxy bool
	ProxyV2   *proxyproto.Options
	// PP2NeverSendLocal ("pp2-never-send-local"): the v2 header is a
	// PROXY command with the check connection's addresses, not LOCAL.
	PP2NeverSendLocal bool
	TLS               *tlsconf.ClientTemplate // trust and client certificate for TLS checks
	SNI               string                  // "check-sni"
	ALPN              []string                // "check-alpn"
	// Socks4: checks connect through this SOCKS4 proxy
	// ("check-via-socks4"); invalid when they go straight.
	Socks4 netip.AddrPort
	// Control applies the server's socket options ("source" and the
	// others HAProxy sets on every connection to the server) to the
	// check's socket; nil: none.
	Control func(network, address string, c syscall.RawConn) error
}

// Timing bounds one check, with HAProxy's rules: without "timeout check"
// the whole check must end within inter; with it, connecting (TCP and TLS)
// gets min(inter, timeout connect) and reading "timeout check" more.
type Timing struct {
	Inter, Connect, Check time.Duration
}

func (t Timing) connectTimeout() time.Duration {
	if t.Check > 0 && t.Connect > 0 && t.Connect < t.Inter {
		return t.Connect
	}
	return t.Inter
}

// run is the state of one check execution.
type run struct {
	sp       *Spec
	tg       *Target
	tm       Timing
	start    time.Time
	deadline time.Time // of the current phase
	conn     net.Conn
	br       *bufio.Reader
	isTLS    bool
	resp     *httpResp
	nodown   bool // the server is not DOWN (disable-on-404 applies)
	buf      []byte
}

type httpResp struct {
	code   int
	reason string
	body   []byte
}

// Run executes the check once against tg. up tells whether the server is
// currently not DOWN (for disable-on-404).
func (sp *Spec) Run(ctx context.Context, tg *Target, tm Timing, up bool) Result {
	r := &run{sp: sp, tg: tg, tm: tm, start: time.Now(), nodown: up}
	defer r.close()
	res := r.exec(ctx)
	res.Duration = time.Since(r.start)
	return res
}

func (r *run) close() {
	if r.conn != nil {
		r.conn.Close()
	}
}

func (r *run) exec(ctx context.Context) Result {
	if r.sp.Kind == KindProto {
		return r.execProto(ctx)
	}
	var last *rule
	for i := range r.sp.rules {
		ru := &r.sp.rules[i]
		last = ru
		var res Result
		var done bool
		switch ru.kind {
		case ruleConnect:
			res, done = r.connect(ctx, ru)
		case ruleSend, ruleHTTPSend:
			res, done = r.send(ru)
		case ruleExpect:
			res, done = r.expectTCP(ru)
		case ruleHTTPExpect:
			res, done = r.expectHTTP(ru)
		}
		if done {
			return res
		}
	}
	// Every rule passed: the status depends on the last one, as in HAProxy.
	switch {
	case last.kind == ruleHTTPExpect:
		return Result{Status: StatusL7OK, Code: r.resp.code}
	case last.kind == ruleExpect:
		return Result{Status: StatusL7OK, Info: "(tcp-check)"}
	case last.kind == ruleConnect:
		st := StatusL4OK
		if r.isTLS {
			st = StatusL6OK
		}
		info := ""
		if !last.connect.implicit {
			info = "(tcp-check)"
		}
		return Result{Status: st, Info: info}
	}
	return Result{Status: StatusL7OK, Info: "(tcp-check)"}
}

// connect opens the check connection of ru: TCP, then the PROXY header,
// then TLS.
func (r *run) connect(ctx context.Context, ru *rule) (Result, bool) {
	if r.conn != nil {
		r.conn.Close()
		r.conn, r.br, r.resp, r.buf = nil, nil, nil, nil
	}
	c := ru.connect
	srvAddr := r.tg.Addr
	if r.tg.Live != nil {
		srvAddr = r.tg.Live()
	}
	addr := srvAddr.Addr()
	if r.tg.CheckAddr.IsValid() {
		addr = r.tg.CheckAddr
	}
	port := int(srvAddr.Port())
	if r.tg.Port > 0 {
		port = r.tg.Port
	}
	if c.port > 0 {
		port = c.port
	}
	useTLS, sni, alpn, sendProxy := c.ssl, c.sni, c.alpn, c.sendProxy
	if c.implicit {
		useTLS = useTLS || r.tg.SSL
		if sni == "" {
			sni = r.tg.SNI
		}
		if alpn == nil {
			alpn = r.tg.ALPN
		}
		sendProxy = sendProxy || r.tg.SendProxy
	}
	r.deadline = time.Now().Add(r.tm.connectTimeout())
	if r.tm.Check <= 0 {
		r.deadline = r.start.Add(r.tm.Inter)
	}
	dctx, cancel := context.WithDeadline(ctx, r.deadline)
	defer cancel()
	d := net.Dialer{Control: r.tg.Control}
	dst := netip.AddrPortFrom(addr, uint16(port))
	first := dst
	if r.tg.Socks4.IsValid() {
		first = r.tg.Socks4
	}
	conn, err := d.DialContext(dctx, "tcp", first.String())
	if err == nil && r.tg.Socks4.IsValid() {
		if err = upstream.Socks4Connect(conn, dst, r.deadline); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		if dctx.Err() != nil || isTimeout(err) {
			return Result{Status: StatusL4TOUT}, true
		}
		st := StatusL4CON
		var errno syscall.Errno
		if errors.As(err, &errno) && (errno == syscall.EMFILE || errno == syscall.ENFILE || errno == syscall.ENOBUFS || errno == syscall.ENOMEM) {
			st = StatusSOCKERR
		}
		return Result{Status: st, Info: errText(err) + r.connectSuffix(ru, port)}, true
	}
	r.conn = conn
	_ = conn.SetDeadline(r.deadline)
	if sendProxy {
		if _, err := conn.Write(r.tg.proxyHeader(conn.LocalAddr(), conn.RemoteAddr())); err != nil {
			return Result{Status: StatusL4CON, Info: errText(err) + r.connectSuffix(ru, port)}, true
		}
	}
	if useTLS {
		cfg := r.tlsConfig(sni, alpn)
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			if dctx.Err() != nil || isTimeout(err) {
				return Result{Status: StatusL6TOUT}, true
			}
			return Result{Status: StatusL6RSP, Info: "SSL handshake failure"}, true
		}
		r.conn, r.isTLS = tc, true
	}
	// Connected: reading gets "timeout check" from now, or what is left of inter.
	if r.tm.Check > 0 {
		r.deadline = time.Now().Add(r.tm.Check)
	}
	_ = r.conn.SetDeadline(r.deadline)
	r.br = bufio.NewReaderSize(r.conn, 4096)
	return Result{}, false
}

func (r *run) tlsConfig(sni string, alpn []string) *tls.Config {
	var cfg *tls.Config
	if r.tg.TLS != nil {
		cfg = r.tg.TLS.ForSNI(sni).Clone()
	} else {
		cfg = &tls.Config{ServerName: sni, InsecureSkipVerify: true} //nolint:gosec // only without a template (tests)
	}
	cfg.NextProtos = alpn
	// A check must prove the handshake works: never resume a session.
	cfg.ClientSessionCache = nil
	return cfg
}

// connectSuffix is HAProxy's tcp-check step comment on connection errors.
func (r *run) connectSuffix(ru *rule, port int) string {
	if r.sp.Kind != KindTCPCheck {
		return ""
	}
	if ru.step == 0 {
		return " at initial connection step of tcp-check"
	}
	if ru.connect.port > 0 {
		return fmt.Sprintf(" at step %d of tcp-check (connect port %d)", ru.step, port)
	}
	return fmt.Sprintf(" at step %d of tcp-check (connect)", ru.step)
}

func (r *run) send(ru *rule) (Result, bool) {
	if r.conn == nil {
		return Result{Status: StatusSOCKERR, Info: "no connection"}, true
	}
	r.buf = r.buf[:0] // a new exchange: earlier data is not matched again
	if _, err := r.conn.Write(ru.data); err != nil {
		if isTimeout(err) {
			return Result{Status: StatusL7TOUT}, true
		}
		return Result{Status: StatusL4CON, Info: errText(err)}, true
	}
	return Result{}, false
}

// expectTCP reads until the pattern matches, the server closes, the
// buffer fills or the deadline passes.
func (r *run) expectTCP(ru *rule) (Result, bool) {
	e := ru.expect
	tmp := make([]byte, 4096)
	for {
		if match(e, r.buf) {
			if e.negate {
				return Result{Status: StatusL7RSP, Info: tcpMismatch(e, ru.step, true)}, true
			}
			r.buf = r.buf[:0]
			return Result{}, false
		}
		if len(r.buf) >= maxRead {
			break
		}
		n, err := r.br.Read(tmp)
		r.buf = append(r.buf, tmp[:n]...)
		if err != nil {
			if isTimeout(err) {
				return Result{Status: StatusL7TOUT}, true
			}
			if match(e, r.buf) != e.negate {
				continue
			}
			break
		}
	}
	if e.negate {
		r.buf = r.buf[:0]
		return Result{}, false
	}
	return Result{Status: StatusL7RSP, Info: tcpMismatch(e, ru.step, false)}, true
}

func match(e *expectRule, b []byte) bool {
	switch e.kind {
	case "string":
		return bytes.Contains(b, []byte(e.pattern))
	case "binary":
		return bytes.Contains(b, e.bin)
	default:
		return e.re.Match(b)
	}
}

func tcpMismatch(e *expectRule, step int, matched bool) string {
	what := "did not match content"
	if matched {
		what = "matched unwanted content"
	}
	switch e.kind {
	case "binary":
		return fmt.Sprintf("TCPCHK %s (binary) '%s' at step %d", what, e.pattern, step)
	case "rstring":
		return fmt.Sprintf("TCPCHK %s (regex) '%s' at step %d", what, e.pattern, step)
	}
	return fmt.Sprintf("TCPCHK %s '%s' at step %d", what, e.pattern, step)
}

// expectHTTP reads the response (once) and evaluates one expect rule; a
// nil expect is HAProxy's default: 2xx and 3xx pass.
func (r *run) expectHTTP(ru *rule) (Result, bool) {
	if r.resp == nil {
		if res, done := r.readHTTP(ru.expect != nil && (ru.expect.kind == "string" || ru.expect.kind == "rstring")); done {
			return res, true
		}
	}
	rs := r.resp
	if r.sp.disable404 && r.nodown && rs.code == 404 {
		// 404 means "stopping" only while the server is not DOWN.
		return Result{Status: StatusL7OKC, Code: 404}, true
	}
	e := ru.expect
	if e == nil {
		if rs.code >= 200 && rs.code <= 399 {
			return Result{}, false
		}
		return Result{Status: StatusL7STS, Code: rs.code, Info: rs.reason}, true
	}
	var ok bool
	switch e.kind {
	case "status":
		for _, c := range e.codes {
			ok = ok || rs.code >= c[0] && rs.code <= c[1]
		}
	case "rstatus":
		ok = e.re.MatchString(strconv.Itoa(rs.code))
	case "string", "rstring":
		if len(rs.body) == 0 {
			return Result{Status: StatusL7RSP, Info: "HTTP content check could not find a response body"}, true
		}
		ok = match(e, rs.body)
	}
	if ok != e.negate {
		return Result{}, false
	}
	if e.kind == "status" || e.kind == "rstatus" {
		return Result{Status: StatusL7STS, Code: rs.code, Info: rs.reason}, true
	}
	return Result{Status: StatusL7RSP, Code: rs.code, Info: "HTTP content check did not match"}, true
}

func (r *run) readHTTP(wantBody bool) (Result, bool) {
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		if isTimeout(err) {
			return Result{Status: StatusL7TOUT}, true
		}
		return Result{Status: StatusL7RSP}, true
	}
	defer resp.Body.Close()
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	rs := &httpResp{code: resp.StatusCode, reason: reason}
	if wantBody {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxRead))
		if err != nil && isTimeout(err) {
			return Result{Status: StatusL7TOUT}, true
		}
		rs.body = b
	}
	r.resp = rs
	return Result{}, false
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errText is the C library's strerror text HAProxy shows ("Connection
// refused"): Go's errno strings are glibc's, lower-cased.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

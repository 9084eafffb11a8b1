package health

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestRunStatuses(t *testing.T) {
	ok200 := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	plainHTTP := func(t *testing.T) netip.AddrPort { return serve(t, httpReply(ok200)) }
	httpchk := &config.Proxy{HTTPCheck: &config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.1"}}
	with := func(hc config.HTTPCheck) *config.Proxy { return &config.Proxy{HTTPCheck: &hc} }
	tcpchk := func(steps ...*config.TCPCheckStep) *config.Proxy {
		return &config.Proxy{TCPCheck: &config.TCPCheck{Steps: steps}}
	}
	fast := Timing{Inter: 2 * time.Second}
	cases := []struct {
		name   string
		px     *config.Proxy
		addr   func(t *testing.T) netip.AddrPort
		ssl    bool
		tm     Timing
		down   bool
		status Status
		code   int
		info   string
		maxDur time.Duration
	}{
		{name: "L4OK", px: &config.Proxy{}, addr: plainHTTP, status: StatusL4OK},
		{name: "L4CON refused", px: &config.Proxy{}, addr: refused, status: StatusL4CON, info: "Connection refused"},
		{name: "L4TOUT blackhole", px: &config.Proxy{}, addr: blackhole, tm: Timing{Inter: 300 * time.Millisecond}, status: StatusL4TOUT, maxDur: time.Second},
		{name: "L4TOUT timeout connect under check", px: &config.Proxy{}, addr: blackhole, tm: Timing{Inter: 5 * time.Second, Connect: 200 * time.Millisecond, Check: time.Second}, status: StatusL4TOUT, maxDur: time.Second},
		{name: "L6OK", px: &config.Proxy{}, addr: func(t *testing.T) netip.AddrPort { return serveTLS(t, func(net.Conn) {}) }, ssl: true, status: StatusL6OK},
		{name: "L6RSP plain server", px: &config.Proxy{}, addr: func(t *testing.T) netip.AddrPort {
			return serve(t, func(c net.Conn) { c.Read(make([]byte, 512)); c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) })
		}, ssl: true, status: StatusL6RSP, info: "SSL handshake failure"},
		{name: "L6TOUT silent", px: &config.Proxy{}, addr: func(t *testing.T) netip.AddrPort { return serve(t, func(c net.Conn) { time.Sleep(2 * time.Second) }) }, ssl: true, tm: Timing{Inter: 300 * time.Millisecond}, status: StatusL6TOUT},
		{name: "L7OK", px: httpchk, addr: plainHTTP, status: StatusL7OK, code: 200},
		{name: "L7OK over TLS", px: httpchk, addr: func(t *testing.T) netip.AddrPort { return serveTLS(t, httpReply(ok200)) }, ssl: true, status: StatusL7OK, code: 200},
		{name: "L7OK 302", px: httpchk, addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"))
		}, status: StatusL7OK, code: 302},
		{name: "L7STS 404", px: httpchk, addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
		}, status: StatusL7STS, code: 404, info: "Not Found"},
		{name: "L7STS 503", px: httpchk, addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
		}, status: StatusL7STS, code: 503, info: "Service Unavailable"},
		{name: "L7OKC disable-on-404", px: with(config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0", DisableOn404: true}), addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
		}, status: StatusL7OKC, code: 404},
		{name: "disable-on-404 while down", px: with(config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0", DisableOn404: true}), addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
		}, down: true, status: StatusL7STS, code: 404, info: "Not Found"},
		{name: "L7RSP garbage", px: httpchk, addr: func(t *testing.T) netip.AddrPort { return serve(t, httpReply("garbage here\r\n\r\n")) }, status: StatusL7RSP},
		{name: "L7TOUT silent", px: httpchk, addr: func(t *testing.T) netip.AddrPort { return serve(t, func(c net.Conn) { time.Sleep(2 * time.Second) }) }, tm: Timing{Inter: 5 * time.Second, Check: 200 * time.Millisecond}, status: StatusL7TOUT, maxDur: time.Second},
		{name: "expect status 200 gets 404", px: with(config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0", Expect: []*config.CheckExpect{{Kind: "status", Pattern: "200"}}}), addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
		}, status: StatusL7STS, code: 404, info: "Not Found"},
		{name: "expect string", px: with(config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0", Expect: []*config.CheckExpect{{Kind: "string", Pattern: "hello"}}}), addr: plainHTTP, status: StatusL7OK, code: 200},
		{name: "expect string no body", px: with(config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0", Expect: []*config.CheckExpect{{Kind: "string", Pattern: "hello"}}}), addr: func(t *testing.T) netip.AddrPort {
			return serve(t, httpReply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
		}, status: StatusL7RSP, info: "HTTP content check could not find a response body"},
		{name: "expect ! rstatus", px: with(config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.0", Expect: []*config.CheckExpect{{Negate: true, Kind: "rstatus", Pattern: "^5"}}}), addr: plainHTTP, status: StatusL7OK, code: 200},
		{name: "tcp-check expect ok", px: tcpchk(&config.TCPCheckStep{Kind: "expect", Expect: &config.CheckExpect{Kind: "string", Pattern: "+PONG"}}), addr: func(t *testing.T) netip.AddrPort { return serve(t, func(c net.Conn) { c.Write([]byte("+PONG\r\n")) }) }, status: StatusL7OK, info: "(tcp-check)"},
		{name: "tcp-check send expect mismatch", px: tcpchk(&config.TCPCheckStep{Kind: "send", Data: "PING\r\n"}, &config.TCPCheckStep{Kind: "expect", Expect: &config.CheckExpect{Kind: "string", Pattern: "+PANG"}}), addr: func(t *testing.T) netip.AddrPort { return serve(t, func(c net.Conn) { c.Write([]byte("+PONG\r\n")) }) }, status: StatusL7RSP, info: "TCPCHK did not match content '+PANG' at step 2"},
		{name: "tcp-check initial connect refused", px: tcpchk(), addr: refused, status: StatusL4CON, info: "Connection refused at initial connection step of tcp-check"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := NewSpec(tc.px)
			if err != nil {
				t.Fatal(err)
			}
			tm := tc.tm
			if tm.Inter == 0 {
				tm = fast
			}
			tg := &Target{Addr: tc.addr(t), SSL: tc.ssl}
			res := sp.Run(context.Background(), tg, tm, !tc.down)
			if res.Status != tc.status || res.Code != tc.code || res.Info != tc.info {
				t.Fatalf("got %s code %d info %q, want %s code %d info %q", res.Status, res.Code, res.Info, tc.status, tc.code, tc.info)
			}
			if tc.maxDur > 0 && res.Duration > tc.maxDur {
				t.Fatalf("took %v, want at most %v", res.Duration, tc.maxDur)
			}
		})
	}
}

// TestHTTPRequestBytes pins what HAProxy 2.6 sends (captured from it).
func TestHTTPRequestBytes(t *testing.T) {
	cases := []struct {
		hc   config.HTTPCheck
		want string
	}{
		{config.HTTPCheck{Method: "GET", URI: "/", Version: "HTTP/1.1", Headers: [][2]string{{"Host", "x"}}}, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"},
		{config.HTTPCheck{}, "OPTIONS / HTTP/1.0\r\n\r\n"},
		{config.HTTPCheck{Method: "POST", URI: "/p", Version: "HTTP/1.1", Headers: [][2]string{{"Host", "h"}}, Body: "hello"}, "POST /p HTTP/1.1\r\nhost: h\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"},
		{config.HTTPCheck{Method: "GET", URI: "/x", Version: "HTTP/1.0"}, "GET /x HTTP/1.0\r\n\r\n"},
	}
	for _, tc := range cases {
		b, err := httpRequest(&tc.hc)
		if err != nil || string(b) != tc.want {
			t.Errorf("got %q, %v; want %q", b, err, tc.want)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	pos := config.Pos{File: "h.cfg", Line: 7}
	cases := []struct {
		px   *config.Proxy
		want string
	}{
		{&config.Proxy{HTTPCheck: &config.HTTPCheck{Pos: pos, Expect: []*config.CheckExpect{{Pos: pos, Kind: "hdr", Pattern: "x"}}}}, "parsing [h.cfg:7] : 'http-check expect hdr' is not supported"},
		{&config.Proxy{TCPCheck: &config.TCPCheck{Steps: []*config.TCPCheckStep{{Pos: pos, Kind: "comment"}}}}, "parsing [h.cfg:7] : 'tcp-check comment' is not supported"},
		{&config.Proxy{HTTPCheck: &config.HTTPCheck{Pos: pos, Expect: []*config.CheckExpect{{Pos: pos, Kind: "status", Pattern: "2xx"}}}}, "parsing [h.cfg:7] : 'http-check expect status' : invalid status code"},
	}
	for _, tc := range cases {
		_, err := NewSpec(tc.px)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

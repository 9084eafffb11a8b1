package l4

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// TestResponseRules: each verdict of tcp-response content rules on a
// server that sends a banner and then holds its connection open: what
// the client reads, how the session ends (log state and bytes), the
// counters, and that no goroutine or descriptor is left behind (the
// client's direction, still flowing during the inspection, is stopped).
func TestResponseRules(t *testing.T) {
	banner := "220 hello\r\n"
	for _, tc := range []struct {
		name      string
		rules     []Rule
		delay     time.Duration
		want      string // what the client reads before the end
		term      string
		bytes     int
		denyResp  uint64
		denyReq   uint64
		minTt     time.Duration
		closeSent bool // the client ends its side first (the server holds)
	}{
		{name: "accept", rules: []Rule{{Cond: cond(t, "{ res.payload(0,3) -m str 220 }")}, {Reject: true}}, delay: 5 * time.Second,
			want: banner, term: "--", bytes: len(banner), closeSent: true},
		{name: "reject", rules: []Rule{{Reject: true, Cond: cond(t, "{ res.payload(0,3) -m str 220 }")}}, delay: 5 * time.Second,
			term: "PD", bytes: len(banner), denyResp: 1},
		{name: "silent-drop", rules: []Rule{{Drop: true, Cond: cond(t, "{ res.len gt 3 }")}}, delay: 5 * time.Second,
			term: "PD", bytes: len(banner), denyReq: 1},
		{name: "close", rules: []Rule{{Close: true, Cond: cond(t, "{ res.len ge 11 }")}}, delay: 5 * time.Second,
			want: banner, term: "--", bytes: len(banner)},
		{name: "waits for more until the delay", rules: []Rule{{Cond: cond(t, "{ res.len gt 100 }")}, {Reject: true, Cond: cond(t, "WAIT_END")}},
			delay: 300 * time.Millisecond, term: "PD", bytes: len(banner), denyResp: 1, minTt: 300 * time.Millisecond},
		{name: "no delay: decided on nothing", rules: []Rule{{Reject: true, Cond: cond(t, "{ res.len eq 0 }")}},
			term: "PD", denyResp: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			sink, lg := newLogSink(t)
			be := backend(t, "be", func(c net.Conn) {
				io.WriteString(c, banner)
				io.Copy(io.Discard, c)
			})
			be.ResRules, be.ResInspectDelay = tc.rules, tc.delay
			f, err := logging.Compile(logging.TCPLogFormat, config.Pos{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			fe := &Frontend{Name: "fe", Counters: &counters.Proxy{}, ActConn: new(atomic.Int64),
				Timeouts: config.Timeouts{Client: 10 * time.Second}, Default: be, Log: lg, LogFormat: f}
			a := serve(t, &Listener{FE: fe, BindName: "x"})
			raw, err := net.Dial("tcp", a)
			if err != nil {
				t.Fatal(err)
			}
			c := raw.(*net.TCPConn)
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			var got []byte
			if tc.closeSent {
				got = make([]byte, len(banner))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatal(err)
				}
				c.CloseWrite()
				if rest, _ := io.ReadAll(c); len(rest) > 0 {
					t.Errorf("more after the banner: %q", rest)
				}
			} else if tc.name == "silent-drop" {
				// Nothing comes, not even a FIN: with TCP_REPAIR (root)
				// nothing at all, without it the reset of a hop limit of
				// 1, which a local client still gets.
				_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				var ne net.Error
				n, err := c.Read(make([]byte, 64))
				if n != 0 || !(errors.As(err, &ne) && ne.Timeout() || err != nil && strings.Contains(err.Error(), "reset")) {
					t.Errorf("silent-drop: read %d, %v; want a timeout or a reset", n, err)
				}
			} else {
				got, _ = io.ReadAll(c)
			}
			if string(got) != tc.want {
				t.Errorf("client read %q, want %q", got, tc.want)
			}
			line := sink.next(t)
			m := tcplogRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("log line %q does not have the tcplog shape", line)
			}
			if m[8] != tc.term || m[7] != strconv.Itoa(tc.bytes) {
				t.Errorf("log %q: want %d bytes, state %s", line, tc.bytes, tc.term)
			}
			if tt, _ := strconv.Atoi(m[6]); time.Duration(tt)*time.Millisecond < tc.minTt {
				t.Errorf("Tt = %sms, want at least %v", m[6], tc.minTt)
			}
			if d := be.Counters.DenyResp.Load(); d != tc.denyResp || fe.Counters.DenyResp.Load() != tc.denyResp {
				t.Errorf("dresp: backend %d, frontend %d; want %d", d, fe.Counters.DenyResp.Load(), tc.denyResp)
			}
			if d := fe.Counters.DenyReq.Load(); d != tc.denyReq {
				t.Errorf("frontend dreq %d, want %d", d, tc.denyReq)
			}
			if out := be.Counters.BytesOut.Load(); out != uint64(tc.bytes) {
				t.Errorf("backend bytes out %d, want %d", out, tc.bytes)
			}
		})
	}
}

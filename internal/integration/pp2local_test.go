package integration

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// pp2Recorder is a server that reads the PROXY v2 header each connection
// starts with, keeps it and answers an HTTP check.
type pp2Recorder struct {
	port int
	mu   sync.Mutex
	hdrs [][]byte
}

func startPP2Recorder(t *testing.T) *pp2Recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &pp2Recorder{port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				h := make([]byte, 16)
				if _, err := io.ReadFull(c, h); err != nil {
					return
				}
				h = append(h, make([]byte, binary.BigEndian.Uint16(h[14:]))...)
				if _, err := io.ReadFull(c, h[16:]); err != nil {
					return
				}
				// The check connection's source port varies: zero it.
				if h[13] == 0x11 && len(h) >= 28 {
					h[24], h[25] = 0, 0
				}
				r.mu.Lock()
				r.hdrs = append(r.hdrs, h)
				r.mu.Unlock()
				c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	return r
}

func (r *pp2Recorder) first() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.hdrs) == 0 {
		return nil
	}
	return r.hdrs[0]
}

// TestPP2NeverSendLocalMatchesHAProxy: a check of a send-proxy-v2 server
// starts with a PROXY v2 LOCAL header without addresses; with the global
// "pp2-never-send-local" it is a PROXY command carrying the check
// connection's source and the server's address, byte for byte as HAProxy
// 2.6 sends them (the source port aside), the SSL TLV included.
func TestPP2NeverSendLocalMatchesHAProxy(t *testing.T) {
	got := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		for _, kw := range []string{"", "    pp2-never-send-local\n"} {
			rec := startPP2Recorder(t)
			stop := testenv.StartSide(t, name, fmt.Sprintf(`global
%s
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout check 2s
    option httpchk GET /

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s 127.0.0.1:%d send-proxy-v2 proxy-v2-options ssl check inter 200ms
`, kw, testenv.FreePort(t), rec.port))
			testenv.Eventually(t, 20*time.Second, func() bool { return rec.first() != nil },
				"%s %q: no check connection", name, kw)
			stop()
			h := rec.first()
			if kw != "" {
				if h[13] != 0x11 || binary.BigEndian.Uint16(h[26:]) != uint16(rec.port) {
					t.Errorf("%s: header %x does not carry the server's port %d", name, h, rec.port)
				}
				h[26], h[27] = 0, 0
			}
			got[name+" "+kw] = fmt.Sprintf("%x", h)
		}
	}
	for _, kw := range []string{"", "    pp2-never-send-local\n"} {
		if got["haproxy "+kw] != got["gatehouse "+kw] {
			t.Errorf("%q:\n   haproxy: %s\n gatehouse: %s", kw, got["haproxy "+kw], got["gatehouse "+kw])
		}
	}
	t.Logf("%q", got)
}

package h2

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// TestSendTimeoutWindowShut: a client that never opens its flow-control
// window loses the connection after SendTimeout ("timeout client"); the
// handler's write fails instead of waiting forever.
func TestSendTimeoutWindowShut(t *testing.T) {
	writeErr := make(chan error, 1)
	srv := startServer(t, &Config{SendTimeout: 200 * time.Millisecond}, nil, func(st *Stream) {
		if err := st.WriteHead(&httpmsg.Response{Status: 200}, false); err != nil {
			writeErr <- err
			return
		}
		_, err := st.Write([]byte(strings.Repeat("x", 1000)))
		writeErr <- err
	})
	c := dialRaw(t, srv.addr())
	c.handshake(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	start := time.Now()
	c.headers(1, true, getReq...)
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("a write into a shut window succeeded")
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
			t.Fatalf("write failed after %v, want about the 200ms send timeout", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the write waited past the send timeout")
	}
	c.expectClosed()
}

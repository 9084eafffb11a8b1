package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// udpLogSink receives syslog datagrams on a loopback port.
func udpLogSink(t *testing.T) (addr string, next func() string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String(), func() string {
		buf := make([]byte, 8192)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no log line: %v", err)
		}
		return string(buf[:n])
	}
}

// TestJSONLogAndStructuredData: "option jsonlog" writes one JSON object per
// request; "log-format-sd" adds RFC 5424 structured data.
func TestJSONLogAndStructuredData(t *testing.T) {
	be := echoBackend(t, "b1")
	jsonSink, nextJSON := udpLogSink(t)
	sdSink, nextSD := udpLogSink(t)
	p1, p2 := freePort(t), freePort(t)
	start(t, testDefaults+fmt.Sprintf(`
frontend j
    bind 127.0.0.1:%d
    log udp@%s format raw local0
    option jsonlog
    default_backend app
frontend s
    bind 127.0.0.1:%d
    log udp@%s format rfc5424 local0
    option httplog
    log-format-sd [exampleSDID@32473\ id=\"%%ID\"]
    default_backend app
backend app
    server s1 %s
`, p1, jsonSink, p2, sdSink, hostPort(be)))
	for _, p := range []int{p1, p2} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/logged?x=1", p))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	line := nextJSON()
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &m); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, line)
	}
	if m["status"] != float64(200) || m["backend"] != "app" || !strings.Contains(fmt.Sprint(m), "/logged?x=1") {
		t.Errorf("JSON log line: %s", line)
	}
	sd := nextSD()
	if !strings.Contains(sd, `[exampleSDID@32473 id="`) || !strings.Contains(sd, `"GET /logged?x=1 HTTP/1.1"`) {
		t.Errorf("rfc5424 line with structured data: %s", sd)
	}
}

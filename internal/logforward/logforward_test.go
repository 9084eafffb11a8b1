package logforward

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// A stream with both framings is relayed message by message; a broken
// frame closes the connection, as HAProxy's syslog_io_handler does.
func TestStreamFraming(t *testing.T) {
	out, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	lg, err := logging.NewLogger([]*config.Log{{Target: out.LocalAddr().String(), Format: "raw", FormatSet: true, Facility: "local0"}}, logging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := New(Options{Streams: []net.Listener{ln}, Out: lg})
	f.Start()
	defer f.Stop()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "9 <13>hello<14>second\r\n<15>third\nxbroken\n")
	out.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 1024)
	for _, want := range []string{"hello\n", "second\n", "third\n"} {
		n, _, err := out.ReadFrom(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("got %q (%v), want %q", buf[:n], err, want)
		}
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(buf); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the connection stayed open after a broken frame: %v", err)
	}
}

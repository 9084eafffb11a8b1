package main

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDemoBusyPort: when a port the demo needs is taken (8080 often is),
// the demo says why and which flags choose others, and prints no
// instructions: a page of URLs above the error would point at nothing.
func TestDemoBusyPort(t *testing.T) {
	busy := testenv.FreePort(t)
	ln, err := net.Listen("tcp4", fmt.Sprintf(":%d", busy)) // where the demo's 'bind :PORT' goes
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errb bytes.Buffer
	code := run([]string{"demo", fmt.Sprintf("-port=%d", busy), fmt.Sprintf("-tls-port=%d", testenv.FreePort(t)),
		fmt.Sprintf("-stats-port=%d", testenv.FreePort(t))}, &out, &errb)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if strings.Contains(out.String(), "Ctrl-C stops") || strings.Contains(out.String(), "curl") {
		t.Errorf("the demo printed its instructions although its edge never served:\n%s", out.String())
	}
	for _, want := range []string{"cannot bind socket", fmt.Sprintf(":%d", busy), "choose others with -port, -tls-port and -stats-port"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

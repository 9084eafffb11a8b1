package integration

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// bindBeside binds a SO_REUSEPORT socket to the local port a proxy listens
// on, without listening: "bound" when the proxy's socket has SO_REUSEPORT
// too, "in use" when it has not.
func bindBeside(t *testing.T, port int) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		t.Fatal(err)
	}
	err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	switch {
	case err == nil:
		return "bound"
	case errors.Is(err, unix.EADDRINUSE):
		return "in use"
	}
	t.Fatalf("bind: %v", err)
	return ""
}

// TestNoReusePortMatchesHAProxy: listeners have SO_REUSEPORT, so another
// socket with it binds beside them, unless "noreuseport" is set, as with
// HAProxy 2.6.
func TestNoReusePortMatchesHAProxy(t *testing.T) {
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		var out string
		for _, global := range []string{"", "    noreuseport\n"} {
			port := testenv.FreePort(t)
			stop := testenv.StartSide(t, name, fmt.Sprintf(`global
%s
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    http-request return status 200
`, global, port))
			out += fmt.Sprintf("[%q: %s]", global, bindBeside(t, port))
			stop()
		}
		results[name] = out
		t.Logf("%s: %s", name, out)
	}
	if results["haproxy"] != results["gatehouse"] {
		t.Errorf("outcomes differ:\n   haproxy: %s\n gatehouse: %s", results["haproxy"], results["gatehouse"])
	}
	if want := `["": bound]["    noreuseport\n": in use]`; results["gatehouse"] != want {
		t.Errorf("gatehouse: %s, want %s", results["gatehouse"], want)
	}
}

package runtimeapi

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stats"
)

// nopTarget answers every command with nothing.
type nopTarget struct{}

func (nopTarget) Snapshot() *stats.Snapshot                     { return &stats.Snapshot{} }
func (nopTarget) ServersState(string) ([]ServerState, error)    { return nil, nil }
func (nopTarget) SetServerState(string, string, string) error   { return nil }
func (nopTarget) SetServerWeight(string, string, string) error  { return nil }
func (nopTarget) ServerWeight(string, string) (int, int, error) { return 1, 1, nil }

// ask sends one line on a new connection and reads the answer to EOF.
func ask(t *testing.T, network, addr, line string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, line+"\n")
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return string(b)
}

// promptSession opens an interactive session and waits for its prompt,
// so the server counts it as accepted.
func promptSession(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("unix", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "prompt\n")
	br := bufio.NewReader(c)
	if _, err := br.ReadString('>'); err != nil {
		t.Fatalf("no prompt: %v", err)
	}
	return c, br
}

func TestMaxConnLeavesClientsWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	s, err := Listen(path, nopTarget{}, Options{MaxConn: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c1, _ := promptSession(t, path)
	c2, _ := promptSession(t, path)
	defer c2.Close()

	// The third connects (the backlog takes it) but is not served.
	c3, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	io.WriteString(c3, "show info\n")
	c3.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var one [1]byte
	if n, err := c3.Read(one[:]); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third session served beyond maxconn 2: n=%d err=%v", n, err)
	}
	// Once one ends, the waiting one is served.
	c1.Close()
	c3.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c3)
	if err != nil || !strings.Contains(string(b), "Name: ") {
		t.Fatalf("waiting session after a slot freed: %q %v", b, err)
	}
}

func TestTimeoutClosesIdleSession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	s, err := Listen(path, nopTarget{}, Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, br := promptSession(t, path)
	defer c.Close()
	start := time.Now()
	rest, err := io.ReadAll(br) // nothing sent: the server closes after its timeout
	if err != nil || strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("idle session: want a close, got %q %v", rest, err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before the 300ms timeout", d)
	}
}

func TestListenTCP(t *testing.T) {
	s, err := ListenTCP("tcp4", "127.0.0.1:0", nopTarget{}, Options{Level: LevelUser})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := ask(t, "tcp", s.Addr().String(), "help"); !strings.Contains(got, "show info") {
		t.Fatalf("help over TCP: %q", got)
	}
	if got := ask(t, "tcp", s.Addr().String(), "show sess"); got != PermissionDenied+"\n" {
		t.Fatalf("show sess at level user over TCP: %q", got)
	}
}

func TestSocketModeAndOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	gid := os.Getgid()
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if g != gid {
			gid = g // a group of ours that is not the default proves the chown
			break
		}
	}
	s, err := Listen(path, nopTarget{}, Options{Mode: 0o640, Owner: &Owner{UID: -1, GID: gid}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %o, want 640", fi.Mode().Perm())
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Gid) != gid || int(st.Uid) != os.Getuid() {
		t.Errorf("owner %d:%d, want %d:%d", st.Uid, st.Gid, os.Getuid(), gid)
	}
	// A reload's options apply to the open socket.
	if err := s.Update(nopTarget{}, Options{Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after Update %o, want 600", fi.Mode().Perm())
	}
}

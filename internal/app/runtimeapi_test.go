package app

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
)

// cli sends one request line on a fresh connection to the socket at path
// and returns everything read until the server closes (one-shot mode).
func cli(t *testing.T, path, line string) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v (read %q)", line, err, b)
	}
	return string(b)
}

// apiConfig is a graph with an admin and a user socket, and a backend of
// two servers.
func apiConfig(dir string, port int, s1, s2 string) string {
	return fmt.Sprintf(`
global
    stats socket %s/admin.sock level admin mode 600
    stats socket %s/user.sock level user
`, dir, dir) + testDefaults + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    balance roundrobin
    server s1 %s weight 10
    server s2 %s
`, port, s1, s2)
}

func TestRuntimeAPICommands(t *testing.T) {
	dir := t.TempDir()
	start(t, apiConfig(dir, freePort(t), hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2"))))
	admin, user := filepath.Join(dir, "admin.sock"), filepath.Join(dir, "user.sock")
	if fi, err := os.Stat(admin); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v, mode %v (want 0600)", err, fi)
	}
	tests := []struct {
		name, sock, line string
		want             []string // substrings of the answer
		exact            string   // the whole answer, when set
	}{
		{name: "help", sock: admin, line: "help", want: []string{"The following commands are valid at this level:\n", "  show servers state [<backend>]", "  set server <bk>/<srv>"}},
		{name: "help at user level hides admin commands", sock: user, line: "help", want: []string{"show stat"}},
		{name: "show info", sock: user, line: "show info", want: []string{"Name: Gatehouse\n", "Version: test\n", "Uptime_sec: ", "Process_num: 1\n"}},
		{name: "show stat is the CSV", sock: user, line: "show stat", want: []string{"# pxname,svname,qcur,", "\nbe,s1,", "\nbe,BACKEND,", "\nfe,FRONTEND,"}},
		{name: "show stat typed", sock: user, line: "show stat typed", want: []string{"S.3.1.1.svname.1:KNS:str:s1\n"}},
		{name: "show stat json", sock: user, line: "show stat json", want: []string{`"field":{"pos":1,"name":"svname"}`}},
		{name: "show servers state", sock: user, line: "show servers state be",
			want: []string{"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n",
				"\n3 be 1 s1 127.0.0.1 2 0 10 10 ", "\n3 be 2 s2 127.0.0.1 2 0 1 1 "}},
		{name: "show servers state unknown backend", sock: user, line: "show servers state nope", exact: "Can't find backend.\n\n"},
		{name: "set needs admin", sock: user, line: "set server be/s1 state maint", exact: "Permission denied\n\n"},
		{name: "disable needs admin", sock: user, line: "disable server be/s1", exact: "Permission denied\n\n"},
		{name: "bad state", sock: admin, line: "set server be/s1 state up", exact: "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
		{name: "no such server", sock: admin, line: "set server be/nope state ready", exact: "No such server.\n\n"},
		{name: "no such backend", sock: admin, line: "set server nope/s1 state ready", exact: "No such backend.\n\n"},
		{name: "missing slash", sock: admin, line: "set server s1 state ready", exact: "Require 'backend/server'.\n\n"},
		{name: "weight range", sock: admin, line: "set server be/s1 weight 300", exact: "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{name: "weight garbage", sock: admin, line: "set server be/s1 weight 5x", exact: "Trailing garbage in weight string\n\n"},
		{name: "relative weight", sock: admin, line: "set server be/s1 weight 50%;get weight be/s1", exact: "\n5 (initial 10)\n\n"},
		{name: "absolute weight", sock: admin, line: "set server be/s1 weight 10; get weight be/s1", exact: "\n10 (initial 10)\n\n"},
		{name: "drain shows in CSV", sock: admin, line: "set server be/s1 state drain;show stat", want: []string{"\nbe,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,"}},
		{name: "drain shows in servers state", sock: user, line: "show servers state be", want: []string{"\n3 be 1 s1 127.0.0.1 2 8 10 10 "}},
		{name: "disable server is maint", sock: admin, line: "disable server be/s1; show stat", want: []string{"\nbe,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,"}},
		{name: "enable server is ready", sock: admin, line: "enable server be/s1;show servers state be", want: []string{"\n3 be 1 s1 127.0.0.1 2 0 10 10 "}},
		{name: "set state maint", sock: admin, line: "set server be/s2 state maint", exact: "\n"},
		{name: "set state ready", sock: admin, line: "set server be/s2 state ready", exact: "\n"},
		{name: "unknown command", sock: user, line: "show nothing", want: []string{"Unknown command: 'show'", "  help [<command>]"}},
		{name: "escaped semicolon stays in the word", sock: admin, line: `show servers state a\;b`, exact: "Can't find backend.\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cli(t, tc.sock, tc.line)
			if tc.exact != "" && got != tc.exact && !strings.HasPrefix(got, tc.exact) {
				t.Errorf("%q answered %q, want %q", tc.line, got, tc.exact)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q answered:\n%s\nmissing %q", tc.line, got, w)
				}
			}
			if !strings.HasSuffix(got, "\n\n") && got != "\n" {
				t.Errorf("%q: answer does not end with an empty line: %q", tc.line, got)
			}
		})
	}
}

func TestRuntimeAPIPrompt(t *testing.T) {
	dir := t.TempDir()
	start(t, apiConfig(dir, freePort(t), hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2"))))
	c, err := net.Dial("unix", filepath.Join(dir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(c)
	readPrompt := func() string {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "\n> ") {
			ch, err := br.ReadByte()
			if err != nil {
				t.Fatalf("reading up to the prompt: %v (got %q)", err, b.String())
			}
			b.WriteByte(ch)
		}
		return b.String()
	}
	steps := []struct{ send, want string }{
		{"prompt", "\n> "},
		{"show servers state be", "1\n# be_id"},
		{"", "\n> "},
		{"get weight be/s1", "10 (initial 10)\n\n> "},
	}
	for _, s := range steps {
		io.WriteString(c, s.send+"\n")
		if got := readPrompt(); !strings.Contains(got, s.want) {
			t.Errorf("after %q: got %q, want it to contain %q", s.send, got, s.want)
		}
	}
	io.WriteString(c, "quit\n")
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("after quit: %q, want the connection closed", rest)
	}
}

// TestRuntimeAPIReload: the new graph takes the socket path over without
// a moment where connecting fails, and the retiring graph leaves it alone.
func TestRuntimeAPIReload(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	b1, b2 := hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2"))
	rt := start(t, apiConfig(dir, port, b1, b2))
	sock := filepath.Join(dir, "admin.sock")

	stop := make(chan struct{})
	failures := make(chan error, 1000)
	done := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			c, err := net.Dial("unix", sock)
			if err != nil {
				failures <- err
			} else {
				c.Close()
			}
			n++
		}
	}()
	cfg2 := strings.Replace(apiConfig(dir, port, b1, b2), "\nbackend be\n", "\nbackend be2\n", 1)
	cfg2 = strings.Replace(cfg2, "default_backend be\n", "default_backend be2\n", 1)
	c, err := cfgparse.Parse("test.cfg", []byte(cfg2), cfgparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	// The old graph has no connection left, so it retires (and closes its
	// socket) within retire's 100ms poll; keep dialing well past that.
	time.Sleep(600 * time.Millisecond)
	close(stop)
	dials := <-done
	close(failures)
	for err := range failures {
		t.Errorf("dial during reload failed: %v", err)
	}
	if dials < 10 {
		t.Errorf("only %d dials during the reload", dials)
	}
	if got := cli(t, sock, "show servers state be2"); !strings.Contains(got, "\n3 be2 1 s1 ") {
		t.Errorf("after reload the socket should serve the new graph, got %q", got)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("socket path gone after the old graph retired: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary socket names left behind: %v", leftovers)
	}
}

// TestRuntimeAPIStaleAndStop: a stale socket file is replaced at start
// and the socket is removed when the runtime shuts down.
func TestRuntimeAPIStaleAndStop(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // leaves the file, nobody listening
	c, err := cfgparse.Parse("test.cfg", []byte(apiConfig(dir, freePort(t), hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2")))), cfgparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	rt := NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rt.Apply(g); err != nil {
		t.Fatal(err)
	}
	if got := cli(t, sock, "show servers state"); !strings.HasPrefix(got, "1\n") {
		t.Errorf("over the replaced stale socket: %q", got)
	}
	_ = rt.Shutdown()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after shutdown: %v", err)
	}
}

func TestRuntimeAPIConfigErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"global\n    stats socket /nonexistent-dir/x.sock\n", "directory of '/nonexistent-dir/x.sock' does not exist"},
		{"global\n    stats socket ipv4@127.0.0.1:9999\n", "only unix sockets are supported"},
	}
	for _, tc := range tests {
		c, err := cfgparse.Parse("test.cfg", []byte(tc.cfg+testDefaults), cfgparse.Options{})
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		_, err = Build(c, "test")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%q) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

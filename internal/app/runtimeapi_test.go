package app

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
		{name: "show info typed", sock: user, line: "show info typed", want: []string{"0.Name.1:POS:str:Gatehouse\n", "4.Nbproc.1:CGS:u32:1\n", "8.Uptime_sec.1:MDP:u32:"}},
		{name: "show info typed desc", sock: user, line: "show info desc typed", want: []string{"\n3.Nbthread.1:CGS:u32:"}},
		{name: "show info json", sock: user, line: "show info json", want: []string{`[{"field":{"pos":0,"name":"Name"},"processNum":1,"tags":{"origin":"Product","nature":"Output","scope":"Service"},"value":{"type":"str","value":"Gatehouse"}},`}},
		{name: "show info desc", sock: user, line: "show info desc", want: []string{"Nbproc: 1:\"Number of started worker processes (historical, always 1)\"\n"}},
		{name: "show version", sock: user, line: "show version", exact: "test\n\n"},
		{name: "show sess lists the API's own session", sock: admin, line: "show sess", want: []string{": proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> age=0s\n"}},
		{name: "show sess needs operator", sock: user, line: "show sess", exact: "Permission denied\n\n"},
		{name: "show sess unknown id", sock: admin, line: "show sess 0x1", exact: "Session not found.\n\n"},
		{name: "show errors none", sock: admin, line: "show errors", want: []string{"Total events captured on [", "] : 0\n"}},
		{name: "show errors unknown proxy", sock: admin, line: "show errors nope", exact: "No such proxy.\n\n"},
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

// TestRuntimeAPIReload: the runtime API keeps its listening socket across
// a reload, so it never stops accepting: commands sent throughout the
// reload are all answered, a connection opened before it is answered
// after it, by the new graph, and the retiring graph leaves the path alone.
// The dialer runs for a bounded number of rounds and every wait has a
// deadline, so a gap fails the test instead of hanging it.
func TestRuntimeAPIReload(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	b1, b2 := hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2"))
	rt := start(t, apiConfig(dir, port, b1, b2))
	sock := filepath.Join(dir, "admin.sock")
	before, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	// Connected before the reload, its command sent after it.
	early, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()

	var (
		mu       sync.Mutex
		failures []error
		nfail    int
		dials    atomic.Int64
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := askInfo(sock); err != nil {
				mu.Lock()
				if nfail++; len(failures) < 5 {
					failures = append(failures, err)
				}
				mu.Unlock()
			}
			dials.Add(1)
		}
	}()
	cfg2 := strings.Replace(apiConfig(dir, port, b1, b2), "\nbackend be\n", "\nbackend be2\n", 1)
	cfg2 = strings.Replace(cfg2, "default_backend be\n", "default_backend be2\n", 1)
	c, err := cfgparse.Parse("test.cfg", []byte(cfg2), cfgparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g1 := rt.Graph()
	g2, err := Build(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	g1.stoppers = append(g1.stoppers, func() { close(closed) })
	atReload := dials.Load()
	if err := rt.Apply(g2); err != nil {
		t.Fatal(err)
	}
	// Keep asking until the old graph has retired and a good number of
	// commands ran after the reload.
	deadline := time.After(30 * time.Second)
	select {
	case <-closed:
	case <-deadline:
		t.Fatal("the old graph never retired")
	}
	for dials.Load() < atReload+200 {
		select {
		case <-deadline:
			t.Fatalf("only %d commands in 30s after the reload", dials.Load()-atReload)
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(stop)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the dialer did not stop")
	}
	mu.Lock()
	if nfail > 0 {
		t.Errorf("%d of %d commands failed during the reload, first: %v", nfail, dials.Load(), failures)
	}
	mu.Unlock()

	_ = early.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(early, "show servers state be2\n")
	if got, err := io.ReadAll(early); err != nil || !strings.Contains(string(got), "\n3 be2 1 s1 ") {
		t.Errorf("a connection opened before the reload got %q, %v; want the new graph's answer", got, err)
	}
	if got := cli(t, sock, "show servers state be2"); !strings.Contains(got, "\n3 be2 1 s1 ") {
		t.Errorf("after reload the socket should serve the new graph, got %q", got)
	}
	after, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("socket path gone after the old graph retired: %v", err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("the reload replaced the listening socket instead of keeping it")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary socket names left behind: %v", leftovers)
	}
}

// TestRuntimeAPIReloadDropsSocket: a reload that no longer has a socket
// closes it and removes its path; the sockets it keeps stay the same.
func TestRuntimeAPIReloadDropsSocket(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	b1, b2 := hostPort(echoBackend(t, "b1")), hostPort(echoBackend(t, "b2"))
	cfg := apiConfig(dir, port, b1, b2)
	rt := start(t, cfg)
	admin, user := filepath.Join(dir, "admin.sock"), filepath.Join(dir, "user.sock")
	before, err := os.Stat(user)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfgparse.Parse("test.cfg", []byte(strings.Replace(cfg, "    stats socket "+admin+" level admin mode 600\n", "", 1)), cfgparse.Options{})
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
	if _, err := os.Stat(admin); !os.IsNotExist(err) {
		t.Errorf("the dropped socket's path is still there: %v", err)
	}
	if after, err := os.Stat(user); err != nil || !os.SameFile(before, after) {
		t.Errorf("the kept socket was replaced or removed: %v", err)
	}
	if err := askInfo(user); err != nil {
		t.Errorf("the kept socket: %v", err)
	}
}

// askInfo runs "show info" on a fresh connection, within a deadline.
func askInfo(path string) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "show info\n"); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), "Name: Gatehouse\n") {
		return fmt.Errorf("answer %q", b)
	}
	return nil
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

// TestRuntimeAPIMissingDirectory: a socket in a directory that does not
// exist is refused when it is bound, not by Build (-c accepts it, as
// HAProxy's does; a chrooted reload keeps its socket at a path the jail
// cannot see).
func TestRuntimeAPIMissingDirectory(t *testing.T) {
	c, err := cfgparse.Parse("test.cfg", []byte("global\n    stats socket /nonexistent-dir/x.sock\n"+testDefaults), cfgparse.Options{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	g, err := Build(c, "test")
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	rt := NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	err = rt.Apply(g)
	if err == nil || !strings.Contains(err.Error(), "cannot bind UNIX socket") || !strings.Contains(err.Error(), "/nonexistent-dir/x.sock") {
		t.Errorf("Apply = %v, want the bind error naming the socket", err)
	}
	g.Close()
}

func TestRuntimeAPIConfigErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{"global\n    stats socket abns@api\n", "address family of 'abns@api' is not supported"},
		{"global\n    stats socket ipv4@127.0.0.1\n", "missing port number"},
		{"global\n    stats socket /tmp/x.sock expose-fd all\n", "'expose-fd' only supports 'listeners'"},
		{"global\n    stats socket /tmp/x.sock user no-such-user-here\n", "unknown user 'no-such-user-here'"},
		{"global\n    stats timeout 0\n", "'stats timeout' expects a positive value"},
		{"global\n    stats maxconn -1\n", "'stats maxconn' expects a positive value"},
		{"global\n    stats bind-process 2\n", "'2' is not a valid number/range. It supports numbers from 1 to 1."},
	}
	for _, tc := range tests {
		_, err := cfgparse.Parse("test.cfg", []byte(tc.cfg+testDefaults), cfgparse.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// TestRuntimeAPIShowSess: a request held by its server is listed with
// its frontend, backend, server and client while it runs, and no longer
// once answered.
func TestRuntimeAPIShowSess(t *testing.T) {
	dir := t.TempDir()
	started, release := make(chan struct{}, 1), make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	port := freePort(t)
	b1 := slowBackend(t, "b1", started, release)
	start(t, apiConfig(dir, port, hostPort(b1), hostPort(b1)))
	admin := filepath.Join(dir, "admin.sock")

	done := make(chan error, 1)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		_, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		if err == nil {
			_, err = http.ReadResponse(bufio.NewReader(c), nil)
		}
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the request did not reach the server")
	}
	local := c.LocalAddr().String()
	got := cli(t, admin, "show sess")
	want := fmt.Sprintf(": proto=tcpv4 src=%s fe=fe be=be srv=s1 age=", local)
	if !strings.Contains(got, want) {
		t.Fatalf("show sess:\n%s\nlacks %q", got, want)
	}
	id, _, _ := strings.Cut(got[strings.LastIndex(got[:strings.Index(got, want)], "\n")+1:], ":")
	if one := cli(t, admin, "show sess "+id); !strings.HasPrefix(one, id+want) || strings.Count(one, "\n") != 2 {
		t.Errorf("show sess %s answered %q", id, one)
	}
	close(release)
	released = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no response after release")
	}
	// The session's request ended before its response was fully read.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(cli(t, admin, "show sess"), "fe=fe") {
		if time.Now().After(deadline) {
			t.Fatalf("the finished request is still listed:\n%s", cli(t, admin, "show sess"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRuntimeAPIShowSessHTTP2: each HTTP/2 stream in progress is a line
// of its own.
func TestRuntimeAPIShowSessHTTP2(t *testing.T) {
	dir := t.TempDir()
	started, release := make(chan struct{}, 2), make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	port := freePort(t)
	b1 := slowBackend(t, "b1", started, release)
	start(t, fmt.Sprintf(`
global
    stats socket %s/admin.sock level admin
`, dir)+testDefaults+fmt.Sprintf(`
frontend h2fe
    bind 127.0.0.1:%d proto h2
    default_backend be

backend be
    server s1 %s
`, port, hostPort(b1)))
	admin := filepath.Join(dir, "admin.sock")
	c := h2Client(t, nil, "")
	c.Timeout = 30 * time.Second
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/slow", port))
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatal("the requests did not reach the server")
		}
	}
	got := cli(t, admin, "show sess")
	if n := strings.Count(got, ": proto=tcpv4 src=127.0.0.1:"); n != 2 || strings.Count(got, " fe=h2fe be=be srv=s1 age=") != 2 {
		t.Errorf("show sess lists %d streams, want the 2 in progress:\n%s", n, got)
	}
	close(release)
	released = true
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no response after release")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(cli(t, admin, "show sess"), "fe=h2fe") {
		if time.Now().After(deadline) {
			t.Fatalf("finished streams are still listed:\n%s", cli(t, admin, "show sess"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRuntimeAPIShowSessTCP: a mode tcp session is listed while it runs.
func TestRuntimeAPIShowSessTCP(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	port := freePort(t)
	start(t, fmt.Sprintf(`
global
    stats socket %s/admin.sock level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend tcpfe
    bind 127.0.0.1:%d
    default_backend tbe

backend tbe
    server s1 %s
`, dir, port, ln.Addr()))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "hello")
	var sc net.Conn
	select {
	case sc = <-accepted:
		defer sc.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("the session did not reach the server")
	}
	want := fmt.Sprintf(": proto=tcpv4 src=%s fe=tcpfe be=tbe srv=s1 age=", c.LocalAddr())
	admin := filepath.Join(dir, "admin.sock")
	if got := cli(t, admin, "show sess"); !strings.Contains(got, want) {
		t.Errorf("show sess:\n%s\nlacks %q", got, want)
	}
	// Both sides close: the session ends.
	c.Close()
	sc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(cli(t, admin, "show sess"), "fe=tcpfe") {
		if time.Now().After(deadline) {
			t.Fatalf("the closed session is still listed:\n%s", cli(t, admin, "show sess"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

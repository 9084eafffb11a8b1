package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// apiCLI sends one command line to the runtime API socket at path and
// returns the whole answer (the socket closes after it).
func apiCLI(t *testing.T, path, line string) string {
	t.Helper()
	// A proxy may create its socket a moment after its listeners answer
	// (the helpers wait for those): a socket not there yet is waited for.
	var c net.Conn
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err = net.DialTimeout("unix", path, 10*time.Second); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return string(b)
}

// runtimeAPIConfig: servers with and without checks, with a check port
// and a check address, for "show servers state".
func runtimeAPIConfig(sock string, fePort int, u []*fixedUpstream) string {
	_, checkPort, _ := net.SplitHostPort(u[4].Addr())
	return fmt.Sprintf(`global
    maxconn 500
    stats socket %s level admin

defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend web
    bind 127.0.0.1:%d
    default_backend app

backend app
    server s1 %s check inter 300ms
    server s2 %s check inter 300ms port %s
    server s3 %s
    server s4 %s check inter 300ms addr 127.0.0.1 port %s weight 7
`, sock, fePort, u[0].Addr(), u[1].Addr(), checkPort, u[2].Addr(), u[3].Addr(), checkPort)
}

// serversStateLines returns the server lines of "show servers state"
// once no checked server is still in its initial check state.
func serversStateLines(t *testing.T, name, sock string) [][]string {
	t.Helper()
	var lines [][]string
	testenv.Eventually(t, 30*time.Second, func() bool {
		lines = nil
		for _, l := range strings.Split(apiCLI(t, sock, "show servers state app"), "\n") {
			f := strings.Fields(l)
			if len(f) == 25 && f[0] != "#" {
				lines = append(lines, f)
			}
		}
		for _, f := range lines {
			if f[13] != "0" && f[10] == "1" { // checks configured, status INI
				return false
			}
		}
		return len(lines) == 4
	}, "%s: servers still in their first check", name)
	return lines
}

// TestRuntimeAPIMatchesHAProxy asks HAProxy 2.6 and Gatehouse the same
// runtime API questions on the same configuration and compares what is
// deterministic: "show servers state" but for the seconds since the last
// change, the position, name, tags and type of every "show info typed",
// "json" and "desc" field Gatehouse reports (and the values that follow
// from the configuration), "show version"'s shape and the help lines.
func TestRuntimeAPIMatchesHAProxy(t *testing.T) {
	testenv.RequireBinary(t, "haproxy")
	var ups []*fixedUpstream
	for range 5 {
		ups = append(ups, startFixedUpstream(t))
	}
	dir := t.TempDir()
	hpSock, ghSock := filepath.Join(dir, "haproxy.sock"), filepath.Join(dir, "gatehouse.sock")
	hpPorts, _ := startProxy(t, "haproxy", testenv.RequireBinary(t, "haproxy"), haproxyArgs, 1,
		func(p []int) string { return runtimeAPIConfig(hpSock, p[0], ups) })
	ghPorts, _ := startProxy(t, "gatehouse", testenv.GatehouseBinary(t), gatehouseArgs, 1,
		func(p []int) string { return runtimeAPIConfig(ghSock, p[0], ups) })
	hpPort, ghPort := hpPorts[0], ghPorts[0]
	hpAddr, ghAddr := testenv.LocalAddr(hpPort), testenv.LocalAddr(ghPort)
	for _, sock := range []string{hpSock, ghSock} {
		testenv.Eventually(t, 10*time.Second, func() bool {
			c, err := net.Dial("unix", sock)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, "runtime API socket %s does not answer", sock)
	}

	t.Run("show servers state", func(t *testing.T) {
		hp, gh := serversStateLines(t, "haproxy", hpSock), serversStateLines(t, "gatehouse", ghSock)
		for i := range hp {
			for j := range hp[i] {
				if j == 9 { // srv_time_since_last_change
					continue
				}
				if hp[i][j] != gh[i][j] {
					t.Errorf("server %s column %d: haproxy %q, gatehouse %q\n haproxy:   %v\n gatehouse: %v", hp[i][3], j, hp[i][j], gh[i][j], hp[i], gh[i])
				}
			}
		}
	})

	t.Run("show info typed", func(t *testing.T) {
		hp, gh := infoLines(apiCLI(t, hpSock, "show info typed")), infoLines(apiCLI(t, ghSock, "show info typed"))
		if len(gh) < 20 {
			t.Fatalf("gatehouse's show info typed has %d fields:\n%s", len(gh), apiCLI(t, ghSock, "show info typed"))
		}
		for key, g := range gh {
			h, ok := hp[key]
			if !ok {
				t.Errorf("haproxy has no field %s", key)
				continue
			}
			if g.tags != h.tags {
				t.Errorf("field %s: haproxy %s, gatehouse %s", key, h.tags, g.tags)
			}
			switch key {
			case "4.Nbproc", "5.Process_num", "15.Maxconn", "16.Hard_maxconn":
				if g.value != h.value {
					t.Errorf("field %s: haproxy %q, gatehouse %q", key, h.value, g.value)
				}
			}
		}
	})

	t.Run("show info json", func(t *testing.T) {
		type item struct {
			Field struct {
				Pos  int    `json:"pos"`
				Name string `json:"name"`
			} `json:"field"`
			ProcessNum int               `json:"processNum"`
			Tags       map[string]string `json:"tags"`
			Value      struct {
				Type  string `json:"type"`
				Value any    `json:"value"`
			} `json:"value"`
		}
		parse := func(who, s string) map[int]item {
			var items []item
			if err := json.Unmarshal([]byte(s), &items); err != nil {
				t.Fatalf("%s: show info json: %v\n%s", who, err, s)
			}
			m := map[int]item{}
			for _, it := range items {
				m[it.Field.Pos] = it
			}
			return m
		}
		hp, gh := parse("haproxy", apiCLI(t, hpSock, "show info json")), parse("gatehouse", apiCLI(t, ghSock, "show info json"))
		for pos, g := range gh {
			h := hp[pos]
			if g.Field.Name != h.Field.Name || g.ProcessNum != h.ProcessNum || fmt.Sprint(g.Tags) != fmt.Sprint(h.Tags) || g.Value.Type != h.Value.Type {
				t.Errorf("field %d: haproxy %+v, gatehouse %+v", pos, h, g)
			}
		}
	})

	t.Run("show info desc", func(t *testing.T) {
		descs := func(s string) map[string]string {
			m := map[string]string{}
			for _, l := range strings.Split(s, "\n") {
				name, rest, ok := strings.Cut(l, ": ")
				if i := strings.LastIndex(rest, `:"`); ok && i >= 0 {
					m[name] = rest[i:]
				}
			}
			return m
		}
		hp, gh := descs(apiCLI(t, hpSock, "show info desc")), descs(apiCLI(t, ghSock, "show info desc"))
		if len(gh) < 20 {
			t.Fatalf("gatehouse's show info desc has %d described fields", len(gh))
		}
		for name, d := range gh {
			if hp[name] != d {
				t.Errorf("%s: haproxy %s, gatehouse %s", name, hp[name], d)
			}
		}
	})

	t.Run("show version", func(t *testing.T) {
		shape := regexp.MustCompile(`^[^\s:]+\n\n$`)
		for who, sock := range map[string]string{"haproxy": hpSock, "gatehouse": ghSock} {
			if got := apiCLI(t, sock, "show version"); !shape.MatchString(got) {
				t.Errorf("%s: show version answered %q", who, got)
			}
		}
	})

	t.Run("show errors", func(t *testing.T) {
		for _, addr := range []string{hpAddr, ghAddr} {
			// A long line shows how both cut the dump's lines.
			sendRaw(t, addr, "GET /a\x01b HTTP/1.1\r\nHost: x\r\nX-Long: "+strings.Repeat("v\\", 60)+"\r\n\r\n")
			sendRaw(t, addr, "GET /badresp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		}
		var hp, gh string
		testenv.Eventually(t, 10*time.Second, func() bool {
			hp, gh = apiCLI(t, hpSock, "show errors"), apiCLI(t, ghSock, "show errors")
			return strings.Contains(hp, " : 2\n") && strings.Contains(gh, " : 2\n")
		}, "captures: haproxy\n%s\ngatehouse\n%s", hp, gh)
		if a, b := normalizeErrors(hp), normalizeErrors(gh); a != b {
			t.Errorf("show errors differ:\n haproxy:\n%s\n gatehouse:\n%s", a, b)
		}
		for _, q := range []string{"show errors web request", "show errors app response", "show errors -1 response", "show errors web response", "show errors nope"} {
			if a, b := normalizeErrors(apiCLI(t, hpSock, q)), normalizeErrors(apiCLI(t, ghSock, q)); a != b {
				t.Errorf("%s differs:\n haproxy:\n%s\n gatehouse:\n%s", q, a, b)
			}
		}
	})

	t.Run("show sess", func(t *testing.T) {
		// A request held by its server is a stream in both.
		for _, addr := range []string{hpAddr, ghAddr} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
		}
		defer func() {
			for _, u := range ups {
				u.Release()
			}
		}()
		var hp, gh []string
		testenv.Eventually(t, 10*time.Second, func() bool {
			hp, gh = sessLines(apiCLI(t, hpSock, "show sess")), sessLines(apiCLI(t, ghSock, "show sess"))
			return len(hp) == 2 && len(gh) == 2 && strings.Contains(hp[0], " srv=s") && strings.Contains(gh[0], " srv=s")
		}, "streams: haproxy %q, gatehouse %q", hp, gh)
		if strings.Join(hp, "\n") != strings.Join(gh, "\n") {
			t.Errorf("show sess differs:\n haproxy:   %q\n gatehouse: %q", hp, gh)
		}
		for who, sock := range map[string]string{"haproxy": hpSock, "gatehouse": ghSock} {
			if got := apiCLI(t, sock, "show sess 0x1234"); got != "Session not found.\n\n" {
				t.Errorf("%s: show sess 0x1234 answered %q", who, got)
			}
		}
	})

	t.Run("help", func(t *testing.T) {
		hp := apiCLI(t, hpSock, "help")
		gh := apiCLI(t, ghSock, "help")
		for _, l := range strings.Split(gh, "\n") {
			if strings.HasPrefix(l, "  show map ") || strings.HasPrefix(l, "  show acl ") {
				continue // no "@<ver>" argument: Gatehouse has no map versions (README)
			}
			if strings.HasPrefix(l, "  show identity ") {
				continue // Gatehouse's own (identity session stores)
			}
			if strings.HasPrefix(l, "  show ") && !strings.Contains(hp, l+"\n") {
				t.Errorf("help line %q is not HAProxy's", l)
			}
		}
	})
}

type infoLine struct{ tags, value string }

// infoLines indexes "show info typed" by "pos.name": tags:type and value.
func infoLines(s string) map[string]infoLine {
	m := map[string]infoLine{}
	re := regexp.MustCompile(`^(\d+)\.([^.]+)\.\d+:([A-Za-z]{3}:[a-z0-9]+):(.*)$`)
	for _, l := range strings.Split(s, "\n") {
		if f := re.FindStringSubmatch(l); f != nil {
			m[f[1]+"."+f[2]] = infoLine{f[3], f[4]}
		}
	}
	return m
}

var (
	errDateRE  = regexp.MustCompile(`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`)
	errSrcRE   = regexp.MustCompile(`src 127\.0\.0\.1:\d+`)
	errWrapsRE = regexp.MustCompile(`wraps at \d+`)
)

// normalizeErrors keeps what both proxies' "show errors" must agree on:
// not the dates, the client's port, where HAProxy's buffer wraps (its
// internal layout), nor the parser state lines (HAProxy's H1 flags,
// Gatehouse's diagnostic).
func normalizeErrors(s string) string {
	s = errDateRE.ReplaceAllString(s, "[DATE]")
	s = errSrcRE.ReplaceAllString(s, "src 127.0.0.1:PORT")
	s = errWrapsRE.ReplaceAllString(s, "wraps at N")
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "  H1 ") || strings.HasPrefix(l, "  parser: ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

var sessFieldsRE = regexp.MustCompile(`^0x[0-9a-f]+: (proto=\S+) src=(?:127\.0\.0\.1:\d+|unix:1)( fe=\S+ be=\S+ srv=\S+) `)

// sessLines reduces "show sess" to what both proxies must agree on: each
// stream's protocol, frontend, backend and server (not its address, the
// client's port or its age), in order.
func sessLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if m := sessFieldsRE.FindStringSubmatch(l + " "); m != nil {
			out = append(out, m[1]+m[2])
		}
	}
	return out
}

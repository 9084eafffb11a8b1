package packaging

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

const unitBinary = "/usr/local/bin/gatehouse"

func unitPath(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "contrib", "systemd", "gatehouse.service")
}

// serviceKeys reads the [Service] section: each key's values in order.
func serviceKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = line
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && section == "[Service]" {
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// TestUnitVerifies: systemd-analyze verify accepts the unit without a
// single complaint (it exits 0 on an unknown key or a bad value, so any
// output fails), and its sandbox rates as exposed as systemd calls OK at
// most 2.0.
func TestUnitVerifies(t *testing.T) {
	sa := testenv.RequireBinary(t, "systemd-analyze")
	text, err := os.ReadFile(unitPath(t))
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that the commands exist: point them at this build.
	unit := filepath.Join(t.TempDir(), "gatehouse.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(text), unitBinary, testenv.GatehouseBinary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=yes", unit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for gatehouse.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %s, want at most 2.0:\n%s", m[1], out)
	}
	k := serviceKeys(t, unitPath(t))
	for key, want := range map[string]string{
		"Type": "notify", "AmbientCapabilities": "CAP_NET_BIND_SERVICE", "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges": "yes", "User": "gatehouse", "ProtectSystem": "strict",
	} {
		if got := strings.Join(k[key], " "); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
}

// unitCommand expands a unit command line as systemd does for these
// forms (${VAR} and $VAR; an unset $VAR alone is no argument) and runs
// this build in place of the installed binary.
func unitCommand(t *testing.T, line string, env map[string]string) []string {
	t.Helper()
	line = strings.TrimLeft(line, "-@:+!")
	var argv []string
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "$") && !strings.HasPrefix(w, "${") {
			v, ok := env[w[1:]]
			if !ok {
				continue
			}
			argv = append(argv, strings.Fields(v)...)
			continue
		}
		w = os.Expand(w, func(k string) string {
			v, ok := env[k]
			if !ok {
				t.Fatalf("the unit uses %s, which it does not set", k)
			}
			return v
		})
		argv = append(argv, w)
	}
	if argv[0] == unitBinary {
		argv[0] = testenv.GatehouseBinary(t)
	}
	return argv
}

// TestUnitNotify runs the unit's own command lines as systemd would, with
// NOTIFY_SOCKET on a datagram socket of the test: ExecStartPre checks,
// ExecStart says READY=1 once serving, the ExecReload lines (a check, then
// kill -HUP $MAINPID) bring RELOADING=1 then READY=1, a broken
// configuration fails the reload's check with its diagnostics, and
// KillSignal brings STOPPING=1 and exit 0 within TimeoutStopSec.
func TestUnitNotify(t *testing.T) {
	k := serviceKeys(t, unitPath(t))
	env := map[string]string{}
	for _, e := range k["Environment"] {
		name, v, _ := strings.Cut(e, "=")
		env[name] = v
	}
	dir := t.TempDir()
	port := testenv.FreePort(t)
	cfg := filepath.Join(dir, "gatehouse.cfg")
	write := func(body string) {
		t.Helper()
		text := fmt.Sprintf("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string %s\n", port, body)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	if env["CONFIG"] == "" {
		t.Fatalf("the unit sets no CONFIG: %v", k["Environment"])
	}
	env["CONFIG"] = cfg // what /etc/default/gatehouse would say

	sock := filepath.Join(dir, "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	next := func(what string) string {
		t.Helper()
		buf := make([]byte, 512)
		ln.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := ln.Read(buf)
		if err != nil {
			t.Fatalf("no notification %s: %v", what, err)
		}
		return string(buf[:n])
	}
	run := func(line string) (string, error) {
		argv := unitCommand(t, line, env)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		return string(out), err
	}

	for _, pre := range k["ExecStartPre"] {
		if out, err := run(pre); err != nil {
			t.Fatalf("ExecStartPre %s: %v\n%s", pre, err, out)
		}
	}
	if len(k["ExecStart"]) != 1 {
		t.Fatalf("ExecStart %v", k["ExecStart"])
	}
	t.Setenv("NOTIFY_SOCKET", sock)
	argv := unitCommand(t, k["ExecStart"][0], env)
	gh := testenv.StartProcess(t, "gatehouse (unit)", argv[0], argv[1:]...)
	if m := next("at start"); m != "READY=1" {
		t.Fatalf("first notification %q\n%s", m, gh.String())
	}
	if got := body(t, port); got != "one" {
		t.Fatalf("serving %q", got)
	}
	env["MAINPID"] = strconv.Itoa(gh.Cmd.Process.Pid)

	write("two")
	for _, line := range k["ExecReload"] {
		if out, err := run(line); err != nil {
			t.Fatalf("ExecReload %s: %v\n%s", line, err, out)
		}
	}
	if m := next("on reload"); !strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("on reload: %q", m)
	}
	if m := next("after the reload"); m != "READY=1" {
		t.Errorf("after the reload: %q", m)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return body(t, port) == "two" }, "the reload did not apply:\n%s", gh.String())

	// systemd runs ExecReload lines in order and stops at the first failure:
	// a broken file never reaches the process.
	os.WriteFile(cfg, []byte("frontend f\n    bind 127.0.0.1:notaport\n    http-request retrun status 200\n"), 0o644)
	out, err := run(k["ExecReload"][0])
	if err == nil || !strings.Contains(out, "invalid port") || !strings.Contains(out, "unknown") {
		t.Errorf("the reload's check passed a broken configuration (%v):\n%s", err, out)
	}

	sig := syscall.SIGTERM
	if s := k["KillSignal"]; len(s) > 0 && s[0] != "SIGTERM" {
		t.Fatalf("KillSignal %v: the test knows SIGTERM", s)
	}
	gh.Signal(sig)
	if m := next("on stop"); m != "STOPPING=1" {
		t.Errorf("on stop: %q", m)
	}
	limit, err := time.ParseDuration(strings.Join(k["TimeoutStopSec"], ""))
	if err != nil {
		t.Fatalf("TimeoutStopSec %v: %v", k["TimeoutStopSec"], err)
	}
	if code, err := gh.Wait(limit); err != nil || code != 0 {
		t.Errorf("stop: exit %d, %v", code, err)
	}
}

// body GETs / on a loopback port and returns the body ("" on error).
func body(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", testenv.LocalAddr(port), 10*time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, _ := bufio.NewReader(c).ReadString(0)
	_, rest, _ := strings.Cut(b, "\r\n\r\n")
	return rest
}

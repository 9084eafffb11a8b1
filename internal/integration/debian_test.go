package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

const debianConfig = "/etc/haproxy/haproxy.cfg"

// TestDebianConfigAsWritten runs the haproxy.cfg Debian's haproxy package
// installs, as written and as root, after HAProxy 2.6 on the same file:
// both end as haproxy:haproxy on every thread, chrooted in
// /var/lib/haproxy, with the runtime API on /run/haproxy/admin.sock
// (bound before the drop). An in-place reload then cannot see
// /etc/haproxy from the jail: it fails saying so and the process keeps
// serving its runtime API (docs/operations.md).
func TestDebianConfigAsWritten(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat(debianConfig); err != nil {
		t.Skipf("Debian's haproxy package is not installed: %v", err)
	}
	const sock = "/run/haproxy/admin.sock"
	uid, gid := lookupIDs(t, "haproxy")
	want := fmt.Sprintf("Uid: %[1]d %[1]d %[1]d %[1]d|Gid: %[2]d %[2]d %[2]d %[2]d|Groups:", uid, gid)
	run := func(name, bin string, args ...string) *testenv.Process {
		p := testenv.StartProcess(t, name, bin, append(args, "-f", debianConfig)...)
		testenv.Eventually(t, 20*time.Second, func() bool {
			_, err := os.Stat(sock)
			return err == nil && strings.Contains(runtimeCmdQuiet(sock, "show info"), "Pid: "+strconv.Itoa(p.Cmd.Process.Pid))
		}, "%s never answered on %s:\n%s", name, sock, p.String())
		var ids []string
		testenv.Eventually(t, 20*time.Second, func() bool {
			ids = idLines(t, p.Cmd.Process.Pid)
			for i := 0; i+2 < len(ids); i += 3 {
				if strings.Join(ids[i:i+3], "|") != want {
					return false
				}
			}
			return len(ids) > 0
		}, "%s threads: %v, want %s", name, ids, want)
		if root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", p.Cmd.Process.Pid)); err != nil || root != "/var/lib/haproxy" {
			t.Errorf("%s root %q (%v)", name, root, err)
		}
		return p
	}
	ha := run("haproxy", testenv.RequireBinary(t, "haproxy"), "-db")
	ha.Stop()
	// In the foreground, as Debian's unit runs both (-Ws); the file says
	// "daemon", which -db overrides for HAProxy and Gatehouse alike.
	gh := run("gatehouse", testenv.GatehouseBinary(t), "-db")
	gh.Signal(syscall.SIGUSR2)
	gh.WaitOutput(t, "reload failed", 20*time.Second)
	if out := gh.String(); !strings.Contains(out, "the configuration file "+debianConfig+" is outside the chroot jail /var/lib/haproxy") || !strings.Contains(out, "chrooted in /var/lib/haproxy") {
		t.Errorf("the reload in the jail does not say what it cannot reach:\n%s", out)
	}
	if !strings.Contains(runtimeCmdQuiet(sock, "show info"), "Pid: "+strconv.Itoa(gh.Cmd.Process.Pid)) {
		t.Error("the runtime API stopped answering after the refused reload")
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runtimeCmdQuiet is runtimeCmd without failing: "" when nothing answers.
func runtimeCmdQuiet(sock, cmd string) string {
	out, _ := runtimeCmdErr(sock, cmd)
	return out
}

func lookupIDs(t *testing.T, name string) (int, int) {
	t.Helper()
	for _, l := range strings.Split(mustRead(t, "/etc/passwd"), "\n") {
		f := strings.Split(l, ":")
		if len(f) > 3 && f[0] == name {
			u, _ := strconv.Atoi(f[2])
			g, _ := strconv.Atoi(f[3])
			return u, g
		}
	}
	t.Skipf("no user %s", name)
	return 0, 0
}

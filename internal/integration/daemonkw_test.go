package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDaemonKeywordLikeHAProxy: the global 'daemon' sends the process to
// the background as -D does: the command returns 0 once the detached
// process (a session leader, whose pid -p records) serves; -db keeps it
// in the foreground. Side by side with HAProxy 2.6, which the test also
// starts with 'daemon' and with 'daemon' -db.
func TestDaemonKeywordLikeHAProxy(t *testing.T) {
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		t.Run(proxy, func(t *testing.T) {
			bin := testenv.GatehouseBinary(t)
			if proxy == "haproxy" {
				bin = testenv.RequireBinary(t, "haproxy")
			}
			dir := t.TempDir()
			port := testenv.FreePort(t)
			cfgFile, pidfile := filepath.Join(dir, "d.cfg"), filepath.Join(dir, "d.pid")
			cfg := fmt.Sprintf("global\n    daemon\n    zero-warning\ndefaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string daemon\n", port)
			os.WriteFile(cfgFile, []byte(cfg), 0o644)

			parent := testenv.StartProcess(t, proxy+" (daemon)", bin, "-f", cfgFile, "-p", pidfile)
			code, err := parent.Wait(30 * time.Second)
			if err != nil || code != 0 {
				t.Fatalf("'daemon': exit %d, %v\n%s", code, err, parent.String())
			}
			b, err := os.ReadFile(pidfile)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 0 || pid == parent.Cmd.Process.Pid {
				t.Fatalf("pidfile %q (%v): want the daemon's pid", b, err)
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			if got := body(t, port); got != "daemon" {
				t.Errorf("the daemon answers %q", got)
			}
			if sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0); errno != 0 || int(sid) != pid {
				t.Errorf("the daemon is not a session leader: sid %d (%v)", sid, errno)
			}
			syscall.Kill(pid, syscall.SIGTERM)
			testenv.Eventually(t, 20*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "the daemon did not stop on SIGTERM")

			// -db: in the foreground whatever 'daemon' says.
			fg := testenv.StartProcess(t, proxy+" (daemon -db)", bin, "-f", cfgFile, "-db")
			fg.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), 20*time.Second)
			if fg.Exited() {
				t.Fatalf("-db: the process left the foreground:\n%s", fg.String())
			}
			if got := body(t, port); got != "daemon" {
				t.Errorf("-db answers %q", got)
			}
			fg.Stop()
		})
	}
}

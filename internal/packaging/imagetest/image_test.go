// Package imagetest builds the repository's Dockerfile with buildah, checks
// what the image holds and runs it. A package of its own: the first build
// compiles everything inside the build stage and gets go test's whole
// time budget.
package imagetest

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func buildah(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.RequireBinary(t, "buildah"), args...).CombinedOutput()
	return string(out), err
}

// goImage is the build stage's base: the Dockerfile's default when this
// machine has it or can pull it, else a stand-in made from the host's Go
// toolchain (scripts/go-builder-image.sh); GATEHOUSE_GO_IMAGE overrides.
func goImage(t *testing.T, root string) (buildArg string) {
	t.Helper()
	if img := os.Getenv("GATEHOUSE_GO_IMAGE"); img != "" {
		t.Logf("build stage on GATEHOUSE_GO_IMAGE=%s", img)
		return img
	}
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ARG GO_IMAGE=(\S+)$`).FindSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile has no 'ARG GO_IMAGE=' default")
	}
	def := string(m[1])
	if _, err := buildah(t, time.Minute, "inspect", "--type", "image", def); err == nil {
		return ""
	}
	out, err := buildah(t, 5*time.Minute, "pull", "--quiet", def)
	if err == nil {
		return ""
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "go-builder-image.sh"))
	cmd.Dir = root
	name, serr := cmd.Output()
	if serr != nil {
		t.Fatalf("no registry for %s (%v: %s) and no stand-in: scripts/go-builder-image.sh: %v", def, err, strings.TrimSpace(out), serr)
	}
	img := strings.TrimSpace(string(name))
	t.Logf("%s cannot be pulled here (%s); the build stage runs on %s, made from this machine's Go toolchain by scripts/go-builder-image.sh",
		def, lastLine(out), img)
	return img
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestImage is issue 21's image: the Dockerfile builds (multi-stage, the
// binary compiled in the build stage), the image holds the static binary
// and the CA bundle and nothing else, runs as a non-root user with the
// binary as its entrypoint, says its version and commit, and, started
// with a configuration mounted where its command looks, answers.
func TestImage(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	base := goImage(t, root)
	commit := "imagetest"
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	tag := fmt.Sprintf("localhost/gatehouse-imagetest:%d", os.Getpid())
	// Chroot isolation runs the build stage's commands without an OCI
	// runtime (this machine's crun refuses its cgroup v1/v2 hybrid); as
	// root it works everywhere.
	args := []string{"bud", "--isolation", "chroot", "--layers=false", "--build-arg", "VERSION=0.0.0-imagetest",
		"--build-arg", "COMMIT=" + commit, "-t", tag, "-f", filepath.Join(root, "Dockerfile")}
	if base != "" {
		args = append(args, "--build-arg", "GO_IMAGE="+base)
	}
	start := time.Now()
	out, err := buildah(t, 9*time.Minute, append(args, root)...)
	if err != nil {
		t.Fatalf("buildah bud: %v\n%s", err, out)
	}
	t.Logf("image built in %v", time.Since(start).Round(time.Second))
	t.Cleanup(func() { buildah(t, time.Minute, "rmi", "--force", tag) })

	// The image's configuration.
	out, err = buildah(t, time.Minute, "inspect", "--type", "image", tag)
	if err != nil {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	var info struct {
		OCIv1 struct {
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
				Labels     map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	cfg := info.OCIv1.Config
	if cfg.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", cfg.User)
	}
	if !slices.Equal(cfg.Entrypoint, []string{"/usr/local/bin/gatehouse"}) || !slices.Equal(cfg.Cmd, []string{"-f", "/etc/gatehouse/"}) {
		t.Errorf("entrypoint %q, cmd %q", cfg.Entrypoint, cfg.Cmd)
	}
	if cfg.Labels["org.opencontainers.image.version"] != "0.0.0-imagetest" || cfg.Labels["org.opencontainers.image.revision"] != commit ||
		cfg.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
		t.Errorf("labels %v", cfg.Labels)
	}

	// What it holds: the files of the two COPY lines and their directories.
	ctr := fmt.Sprintf("gatehouse-imagetest-%d", os.Getpid())
	if out, err := buildah(t, time.Minute, "from", "--name", ctr, tag); err != nil {
		t.Fatalf("buildah from: %v\n%s", err, out)
	}
	t.Cleanup(func() { buildah(t, time.Minute, "rm", ctr) })
	mnt, err := buildah(t, time.Minute, "mount", ctr)
	if err != nil {
		t.Fatalf("buildah mount: %v\n%s", err, mnt)
	}
	rootfs := strings.TrimSpace(mnt)
	var files []string
	filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(rootfs, p)
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	if want := []string{"etc/ssl/certs/ca-certificates.crt", "usr/local/bin/gatehouse"}; !slices.Equal(files, want) {
		t.Errorf("the image holds %q, want only %q", files, want)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt")); err != nil || strings.Count(string(b), "BEGIN CERTIFICATE") < 50 {
		t.Errorf("CA bundle: %d certificates (%v)", strings.Count(string(b), "BEGIN CERTIFICATE"), err)
	}
	bin := filepath.Join(rootfs, "usr/local/bin/gatehouse")
	if f, err := elf.Open(bin); err != nil {
		t.Errorf("the binary: %v", err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary is dynamically linked; the image has no libc")
			}
		}
		f.Close()
	}
	if out, err := exec.Command(bin, "-v").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "Gatehouse version 0.0.0-imagetest (commit "+commit) {
		t.Errorf("-v: %q %v", out, err)
	}
	buildah(t, time.Minute, "umount", ctr)

	if os.Geteuid() != 0 {
		t.Logf("not running the image: buildah's chroot isolation needs root here (euid %d), and no OCI runtime was tried; the build, configuration and content were checked", os.Geteuid())
		return
	}
	runImage(t, ctr, cfg.Entrypoint, cfg.Cmd)
}

// runImage starts the container as a runtime would (the image's user,
// entrypoint and command; the configuration mounted at /etc/gatehouse/)
// and waits for it to answer. Chroot isolation shares the host's network,
// so it listens on a loopback port of this machine.
func runImage(t *testing.T, ctr string, entrypoint, cmd []string) {
	port := testenv.FreePort(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	text := fmt.Sprintf("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\nfrontend f\n    bind 127.0.0.1:%d\n    monitor-uri /healthz\n    http-request return status 200 content-type text/plain string from-the-image\n", port)
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.cfg"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"run", "--isolation", "chroot", "--volume", dir + ":/etc/gatehouse:ro", ctr, "--"}, entrypoint...)
	argv = append(argv, cmd...)
	p := testenv.StartProcess(t, "buildah run", testenv.RequireBinary(t, "buildah"), argv...)
	t.Logf("running the image with buildah's chroot isolation (no OCI runtime needed): %s", strings.Join(append(entrypoint, cmd...), " "))
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		code, _ := get("/healthz")
		return code == 200 || p.Exited()
	}, "the container did not answer on its monitor-uri:\n%s", p.String())
	if p.Exited() {
		t.Fatalf("the container exited:\n%s", p.String())
	}
	if code, b := get("/"); code != 200 || b != "from-the-image" {
		t.Errorf("GET /: %d %q", code, b)
	}
	// The process serving is the image's binary, as the image's user.
	pid, uid, ok := servingProcess(port)
	if !ok || uid != 65532 {
		t.Fatalf("the listener's process runs as uid %d (found %v), want 65532", uid, ok)
	}
	// A runtime stops a container with SIGTERM to its process (buildah run
	// itself would SIGKILL it): Gatehouse finishes and exits 0.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(30 * time.Second)
	if err != nil || code != 0 || !strings.Contains(p.String(), "stopping: finishing in-flight requests") {
		t.Errorf("SIGTERM: exit %d (%v)\n%s", code, err, p.String())
	}
}

// servingProcess finds the process that owns the listening socket on
// port (through /proc/net/tcp's inode and the processes' fds) and its uid.
func servingProcess(port int) (pid, uid int, ok bool) {
	tcp, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, 0, false
	}
	var inode string
	for _, l := range strings.Split(string(tcp), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 9 && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) && f[3] == "0A" { // LISTEN
			inode = f[9]
		}
	}
	if inode == "" {
		return 0, 0, false
	}
	procs, _ := os.ReadDir("/proc")
	for _, pd := range procs {
		pid, err := strconv.Atoi(pd.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l == "socket:["+inode+"]" {
				st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				if err != nil {
					return 0, 0, false
				}
				m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(st)
				if m == nil {
					return 0, 0, false
				}
				uid, _ := strconv.Atoi(string(m[1]))
				return pid, uid, true
			}
		}
	}
	return 0, 0, false
}

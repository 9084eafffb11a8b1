package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server started for a test on a free loopback port, in a
// directory of its own. It is stopped at cleanup.
type Redis struct {
	*Process
	Port int
	Addr string
	Dir  string
	args []string
	t    testing.TB
}

// StartRedis starts redis-server without persistence unless extra (more
// redis-server options, e.g. "--appendonly", "yes") asks for it.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	bin := RequireBinary(t, "redis-server")
	r := &Redis{Port: FreePort(t), Dir: t.TempDir(), t: t}
	r.Addr = LocalAddr(r.Port)
	r.args = append([]string{"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--dir", r.Dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"}, extra...)
	r.Process = StartProcess(t, "redis-server:"+strconv.Itoa(r.Port), bin, r.args...)
	r.waitReady()
	return r
}

// waitReady waits until the server answers PING with PONG (not LOADING).
func (r *Redis) waitReady() {
	r.t.Helper()
	var last string
	ok := poll(20*time.Second, func() bool {
		if r.Exited() {
			return true
		}
		last = RedisCommand(r.Addr, "PING")
		return last == "+PONG"
	})
	if !ok || r.Exited() {
		r.t.Fatalf("redis-server on %s not ready within 20s (last answer %q); output:\n%s", r.Addr, last, r.String())
	}
}

// Kill ends the server at once (SIGKILL) and waits for it to be gone.
func (r *Redis) Kill() {
	r.t.Helper()
	_ = syscall.Kill(r.Cmd.Process.Pid, syscall.SIGKILL)
	if _, err := r.Wait(20 * time.Second); err != nil {
		r.t.Fatal(err)
	}
}

// Restart starts the server again on the same port and directory (with its
// persistence files, if any).
func (r *Redis) Restart() {
	r.t.Helper()
	r.Process = StartProcess(r.t, r.Name, r.Cmd.Path, r.args...)
	r.waitReady()
}

// RedisCommand sends one inline command and returns the first line of the
// answer ("" on a connection error).
func RedisCommand(addr string, words ...string) string { return redisCommand(addr, words, false) }

// RedisCommandAll is RedisCommand returning a bulk string answer's text.
func RedisCommandAll(addr string, words ...string) string { return redisCommand(addr, words, true) }

func redisCommand(addr string, words []string, bulk bool) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", strings.Join(words, " ")); err != nil {
		return ""
	}
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	n, err := strconv.Atoi(strings.TrimPrefix(line, "$"))
	if !bulk || !strings.HasPrefix(line, "$") || err != nil || n < 0 {
		return line
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return ""
	}
	return string(b)
}

// Sentinel is a redis-sentinel started for a test, monitoring one primary.
type Sentinel struct {
	*Process
	Port int
	Addr string
}

// StartSentinel starts a sentinel that monitors master at masterAddr with
// the given quorum, declaring it down after downAfter.
func StartSentinel(t testing.TB, master, masterAddr string, quorum int, downAfter time.Duration) *Sentinel {
	t.Helper()
	bin := RequireBinary(t, "redis-sentinel")
	s := &Sentinel{Port: FreePort(t)}
	s.Addr = LocalAddr(s.Port)
	host, port, _ := net.SplitHostPort(masterAddr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // sentinel rewrites it: its own file
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
		"sentinel monitor %s %s %s %d\nsentinel down-after-milliseconds %s %d\n"+
		"sentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 1\n",
		s.Port, dir, master, host, port, quorum, master, downAfter.Milliseconds(), master, master)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Process = StartProcess(t, "redis-sentinel:"+strconv.Itoa(s.Port), bin, conf)
	s.WaitTCP(t, s.Addr, 20*time.Second)
	return s
}

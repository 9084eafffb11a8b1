// Command loadgen sends keep-alive requests at a fixed rate and
// reports latency percentiles free of coordinated omission (as wrk2 does):
// every request has an intended start time on a fixed schedule, and its
// latency is measured from that time, not from when it was actually sent, so
// a stalled connection is charged for every request it delayed.
//
// -c connections each carry an even share of -rate, offset so that the
// schedules interleave. -proto h1 (HTTP/1.1), h2c (HTTP/2 with prior
// knowledge) or h2 (TLS with ALPN h2, certificate not verified); over
// HTTP/2 a connection carries one stream at a time, as over HTTP/1.1, so
// both measure the same schedule. After -warmup, it records for -d and prints one line:
//
//	target=NAME requests=N errors=E rate=R p50_us=A p90_us=B p99_us=C p999_us=D max_us=M
//
// With several targets (-addr direct=host:port,haproxy=host:port,...) the
// whole load goes to one target at a time, in slices of -slice, rotated so
// that every target takes every position equally often; each target gets -d
// of measured time and a line of its own. A host that stalls now and then
// (a VM waking an idle vCPU late) then stalls every target alike, where runs
// one after the other would charge a burst of stalls to whichever target
// happened to be measured then. The first -settle of each slice is sent but
// not recorded: it is the target waking from the slices it sat idle, not its
// latency at a steady rate.
//
// -samples PREFIX also writes every recorded latency (ns, one per line) of
// target NAME to PREFIX.NAME, and -pool NAME reads such lines from stdin and
// prints NAME's percentiles over all of them, so that several runs' samples
// give one pooled figure (bench/run.sh fixed_rate).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/bench/tools/internal/h2cli"
	"golang.org/x/sys/unix"
)

type target struct{ name, addr string }

func parseTargets(s string) ([]target, error) {
	var ts []target
	for i, part := range strings.Split(s, ",") {
		name, addr, ok := strings.Cut(part, "=")
		if !ok {
			name, addr = "target"+strconv.Itoa(i+1), part
		}
		if _, _, err := net.SplitHostPort(addr); err != nil || name == "" {
			return nil, fmt.Errorf("target %q: want [name=]host:port", part)
		}
		ts = append(ts, target{name, addr})
	}
	return ts, nil
}

// schedule says which target owns the slice an instant falls in, and
// whether that instant is recorded.
type schedule struct {
	start, measureFrom, end time.Time
	slice, settle           time.Duration
	targets                 int
	slow                    time.Duration // -slow
	startMono               int64         // start on CLOCK_MONOTONIC, ns (with -slow)
}

// owner rotates the targets by one position per block of n slices: over n
// blocks every target has been first, second, ... once.
func (s *schedule) owner(t time.Time) (target int, sliceStart time.Time) {
	k := int64(t.Sub(s.start) / s.slice)
	n := int64(s.targets)
	return int((k%n + k/n) % n), s.start.Add(time.Duration(k) * s.slice)
}

func (s *schedule) recorded(t, sliceStart time.Time) bool {
	return !t.Before(s.measureFrom) && t.Sub(sliceStart) >= s.settle
}

type result struct {
	lat        []int64
	slow       []slowRequest // over -slow, when set
	sent, errs int           // sent: requests intended within the measured window
	err        error
}

func main() {
	addrs := flag.String("addr", "", "targets: [name=]host:port, comma-separated")
	host := flag.String("host", "bench.test", "Host header")
	path := flag.String("path", "/", "request path")
	rate := flag.Float64("rate", 5000, "requests per second, all connections together")
	nconn := flag.Int("c", 50, "keep-alive connections (per target)")
	dur := flag.Duration("d", 10*time.Second, "measured duration per target")
	warm := flag.Duration("warmup", 2*time.Second, "unmeasured lead-in at the same rate")
	slice := flag.Duration("slice", 500*time.Millisecond, "with several targets: how long each has the load before the next")
	settle := flag.Duration("settle", 50*time.Millisecond, "with several targets: unrecorded start of each slice")
	samples := flag.String("samples", "", "also write each target's recorded latencies (ns, one per line) to PREFIX.NAME")
	slow := flag.Duration("slow", 0, "with -samples: also write each recorded request slower than this to PREFIX.NAME.slow (its intended start on CLOCK_MONOTONIC in ns, and its latency in ns), to line it up with perf record -k CLOCK_MONOTONIC or a Go execution trace")
	pool := flag.String("pool", "", "send nothing: read latencies (ns, one per line) from stdin and print NAME's percentiles")
	proto := flag.String("proto", "h1", "h1 (HTTP/1.1), h2c (HTTP/2 prior knowledge) or h2 (HTTP/2 over TLS, ALPN h2)")
	flag.Parse()
	if *pool != "" {
		if err := poolSamples(*pool, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: -pool:", err)
			os.Exit(1)
		}
		return
	}
	targets, err := parseTargets(*addrs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: -addr:", err)
		os.Exit(2)
	}
	if *rate <= 0 || *nconn <= 0 || *slice <= 0 || *settle < 0 || *settle >= *slice {
		fmt.Fprintln(os.Stderr, "loadgen: -rate > 0, -c > 0 and 0 <= -settle < -slice are required")
		os.Exit(2)
	}
	n := len(targets)
	sch := schedule{slice: *slice, settle: *settle, targets: n}
	if n == 1 { // one target owns all of time: no slices, nothing to settle
		sch.slice, sch.settle = 1<<62, 0
	} else {
		// Whole blocks of n slices in the warm-up and in each target's
		// share, so the measured window gives every target the same slices.
		block := *slice * time.Duration(n)
		*warm = (*warm + block - 1) / block * block
		*dur = (*dur + *slice - 1) / *slice * *slice
	}

	var dial func(addr string) (conn, error)
	switch *proto {
	case "h1":
		req := []byte("GET " + *path + " HTTP/1.1\r\nHost: " + *host + "\r\nUser-Agent: loadgen\r\n\r\n")
		dial = func(addr string) (conn, error) { return dialH1(addr, req) }
	case "h2c", "h2":
		useTLS := *proto == "h2"
		dial = func(addr string) (conn, error) {
			c, err := h2cli.Dial(addr, *host, *path, useTLS, 5*time.Second)
			if err != nil {
				return nil, err // not a nil *h2cli.Conn in a non-nil conn
			}
			return c, nil
		}
	default:
		fmt.Fprintln(os.Stderr, "loadgen: -proto is h1, h2c or h2")
		os.Exit(2)
	}
	interval := time.Duration(float64(time.Second) * float64(*nconn) / *rate)

	// Every connection is open before the clock starts.
	conns := make([][]conn, n)
	for t := range targets {
		conns[t] = make([]conn, *nconn)
		for k := range conns[t] {
			c, err := dial(targets[t].addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", targets[t].name, err)
				os.Exit(1)
			}
			conns[t][k] = c
		}
	}
	sch.start = time.Now().Add(50 * time.Millisecond)
	sch.slow = *slow
	if *slow > 0 {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: clock_gettime:", err)
			os.Exit(1)
		}
		sch.startMono = ts.Nano() + int64(sch.start.Sub(time.Now()))
	}
	sch.measureFrom = sch.start.Add(*warm)
	sch.end = sch.measureFrom.Add(*dur * time.Duration(n))

	results := make([][]result, n)
	var wg sync.WaitGroup
	for t := range targets {
		results[t] = make([]result, *nconn)
		for k := 0; k < *nconn; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				offset := time.Duration(int64(interval) * int64(k) / int64(*nconn))
				run(&sch, t, func() (conn, error) { return dial(targets[t].addr) }, conns[t][k], offset, interval, &results[t][k])
			}()
		}
	}
	wg.Wait()

	failed := false
	for t, tg := range targets {
		if !report(tg.name, results[t], *dur, *samples) {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// run is one connection's schedule: a request every interval, from offset,
// at the instants its target owns.
func run(sch *schedule, target int, dial func() (conn, error), c conn, offset, interval time.Duration, r *result) {
	r.lat = make([]int64, 0, int(sch.end.Sub(sch.measureFrom)/interval)/sch.targets+16)
	pace, err := newPacer()
	if err != nil {
		r.err = err
		r.errs++
		return
	}
	defer pace.close()
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for i := int64(0); ; i++ {
		intended := sch.start.Add(offset + time.Duration(i)*interval)
		if !intended.Before(sch.end) {
			return
		}
		owner, sliceStart := sch.owner(intended)
		if owner != target {
			continue
		}
		if err := pace.until(intended); err != nil {
			r.err = err
			r.errs++
			return
		}
		measured := !intended.Before(sch.measureFrom)
		if measured {
			r.sent++
		}
		if c == nil {
			var err error
			if c, err = dial(); err != nil {
				r.errs++
				r.err = err
				continue
			}
		}
		if err := c.Get(); err != nil {
			c.Close()
			c = nil
			r.errs++
			r.err = err
			continue
		}
		if sch.recorded(intended, sliceStart) {
			lat := time.Since(intended)
			r.lat = append(r.lat, int64(lat))
			if sch.slow > 0 && lat > sch.slow {
				r.slow = append(r.slow, slowRequest{sch.startMono + int64(intended.Sub(sch.start)), int64(lat)})
			}
		}
	}
}

// report prints one target's line (and writes its samples when prefix is
// set); false if nothing succeeded or the samples could not be written.
func report(name string, results []result, dur time.Duration, prefix string) bool {
	var all []int64
	errs, sent := 0, 0
	var firstErr error
	for _, r := range results {
		all = append(all, r.lat...)
		errs += r.errs
		sent += r.sent
		if firstErr == nil {
			firstErr = r.err
		}
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %s: first error: %v\n", name, firstErr)
	}
	if len(all) == 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %s: no successful request\n", name)
		return false
	}
	slices.Sort(all)
	fmt.Printf("target=%s requests=%d errors=%d rate=%.0f %s\n", name, len(all), errs, float64(sent)/dur.Seconds(), percentiles(all))
	if prefix != "" {
		if err := writeSamples(prefix+"."+name, all); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", name, err)
			return false
		}
		var slow []slowRequest
		for _, r := range results {
			slow = append(slow, r.slow...)
		}
		if len(slow) > 0 {
			if err := writeSlow(prefix+"."+name+".slow", slow); err != nil {
				fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", name, err)
				return false
			}
		}
	}
	return true
}

// percentiles of sorted latencies (ns), in whole µs: the nearest-rank
// sample for each.
func percentiles(sorted []int64) string {
	q := func(p float64) int64 {
		i := int(p*float64(len(sorted))+0.5) - 1
		i = max(0, min(i, len(sorted)-1))
		return sorted[i] / 1000
	}
	return fmt.Sprintf("p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d",
		q(0.50), q(0.90), q(0.99), q(0.999), sorted[len(sorted)-1]/1000)
}

func writeSamples(path string, lat []int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, v := range lat {
		w.WriteString(strconv.FormatInt(v, 10))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// slowRequest is a recorded request over -slow: when it was due
// (CLOCK_MONOTONIC ns) and how long it took.
type slowRequest struct{ at, lat int64 }

func writeSlow(path string, slow []slowRequest) error {
	slices.SortFunc(slow, func(a, b slowRequest) int { return cmp.Compare(a.at, b.at) })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, r := range slow {
		fmt.Fprintf(w, "%d %d\n", r.at, r.lat)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// poolSamples reads latencies (ns, one per line, as -samples writes them)
// and prints one line: target=NAME requests=N and the percentiles.
func poolSamples(name string, r io.Reader, w io.Writer) error {
	var all []int64
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("line %d: %q is not a latency in ns", line, t)
		}
		all = append(all, v)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(all) == 0 {
		return errors.New("no samples")
	}
	slices.Sort(all)
	_, err := fmt.Fprintf(w, "target=%s requests=%d %s\n", name, len(all), percentiles(all))
	return err
}

// conn is one keep-alive connection: Get sends the request and reads the
// whole response, an error for anything but a 200.
type conn interface {
	Get() error
	Close() error
}

type h1conn struct {
	nc  net.Conn
	br  *bufio.Reader
	req []byte
}

func dialH1(addr string, req []byte) (conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &h1conn{nc: nc, br: bufio.NewReaderSize(nc, 16384), req: req}, nil
}

func (c *h1conn) Close() error { return c.nc.Close() }

// Get writes the request and reads one response (Content-Length framed).
func (c *h1conn) Get() error {
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(c.req); err != nil {
		return err
	}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("status %q", strings.TrimSpace(string(status)))
	}
	cl := int64(-1)
	closeAfter := false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(string(k)) {
		case "content-length":
			cl, _ = strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		case "connection":
			closeAfter = strings.EqualFold(strings.TrimSpace(string(v)), "close")
		}
	}
	if cl < 0 {
		return errors.New("response without Content-Length")
	}
	if _, err := c.br.Discard(int(cl)); err != nil {
		return err
	}
	if closeAfter {
		return io.EOF
	}
	return nil
}

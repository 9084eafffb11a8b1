// Command frozenload sends open-loop HTTP load (a fixed rate, each request
// on its own keep-alive client, so one stalled request delays no other) to
// several proxies at once, SIGSTOPs the given processes (a backend) after
// -warm, keeps the load on for -d, then SIGCONTs them. Per target it prints
// the latency percentiles of the requests sent after the freeze, the status
// codes (0: transport error), and how long after the freeze the last slow
// (> 200 ms) or failed request was sent: roughly when the proxy stopped
// sending to the frozen server. bench/frozen.sh runs it.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type rec struct {
	at, lat time.Duration // intended send time (from start), latency from it
	status  int
}

func main() {
	targets := flag.String("targets", "", "name=URL,... (all loaded at once)")
	rate := flag.Float64("rate", 100, "requests per second, per target")
	warm := flag.Duration("warm", 5*time.Second, "load before the freeze")
	dur := flag.Duration("d", 20*time.Second, "load after the freeze")
	stop := flag.String("stop", "", "pids to SIGSTOP at the freeze, comma-separated")
	flag.Parse()
	var pids []int
	for _, p := range strings.Split(*stop, ",") {
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad pid %q\n", p)
			os.Exit(2)
		}
		pids = append(pids, n)
	}
	type target struct{ name, url string }
	var tgs []target
	for _, p := range strings.Split(*targets, ",") {
		n, u, ok := strings.Cut(p, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "target %q: want name=URL\n", p)
			os.Exit(2)
		}
		tgs = append(tgs, target{n, u})
	}

	start := time.Now()
	end := start.Add(*warm + *dur)
	var mu sync.Mutex
	recs := map[string][]rec{}
	var wg sync.WaitGroup
	for _, t := range tgs {
		cl := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 10000, MaxIdleConnsPerHost: 10000, DisableCompression: true}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			every := time.Duration(float64(time.Second) / *rate)
			var inflight sync.WaitGroup
			for i := 0; ; i++ {
				due := start.Add(time.Duration(i) * every)
				if due.After(end) {
					break
				}
				time.Sleep(time.Until(due))
				inflight.Add(1)
				go func() {
					defer inflight.Done()
					st := 0
					if resp, err := cl.Get(t.url); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						st = resp.StatusCode
					}
					r := rec{at: due.Sub(start), lat: time.Since(due), status: st}
					mu.Lock()
					recs[t.name] = append(recs[t.name], r)
					mu.Unlock()
				}()
			}
			inflight.Wait()
		}()
	}
	time.Sleep(time.Until(start.Add(*warm)))
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	wg.Wait()
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGCONT)
	}

	for _, t := range tgs {
		var lats []time.Duration
		codes := map[int]int{}
		slow, lastSlow := 0, time.Duration(0)
		for _, r := range recs[t.name] {
			if r.at < *warm {
				continue
			}
			lats = append(lats, r.lat)
			codes[r.status]++
			if r.lat > 200*time.Millisecond || r.status != 200 {
				slow++
				lastSlow = max(lastSlow, r.at-*warm)
			}
		}
		if len(lats) == 0 {
			fmt.Printf("%s: no requests\n", t.name)
			continue
		}
		slices.Sort(lats)
		q := func(p float64) time.Duration {
			return lats[min(len(lats)-1, int(p*float64(len(lats))))].Round(time.Millisecond)
		}
		fmt.Printf("%s: n=%d codes=%v p50=%v p90=%v p99=%v p99.9=%v max=%v slow_or_failed=%d last_slow_sent=+%v\n",
			t.name, len(lats), codes, q(.5), q(.9), q(.99), q(.999), lats[len(lats)-1].Round(time.Millisecond),
			slow, lastSlow.Round(time.Millisecond))
	}
}

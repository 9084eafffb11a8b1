package integration

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestMaxCompRateMatchesHAProxy: with maxcomprate 1 (1 kB/s) a response
// is compressed while the compression input rate is low, and the next
// one, asked at once, is not (the ~70 kB the first fed the compressor
// keep the rate above 1 kB/s for well over a second); after "set
// rate-limit http-compression global 0" responses are compressed again.
// HAProxy 2.6 and Gatehouse decide alike; show info reports the input
// rate and the limit in bytes.
func TestMaxCompRateMatchesHAProxy(t *testing.T) {
	origin := startCompOrigin(t)
	got := map[string][]string{}
	for _, proxy := range []string{"haproxy", "gatehouse"} {
		sock := rateSock(t)
		port := testenv.FreePort(t)
		startRateProxy(t, proxy, fmt.Sprintf(`global
    nbthread 1
    maxcomprate 1
    stats socket %s level admin
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    compression algo gzip
    default_backend app
backend app
    server o %s
`, sock, port, origin))
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		get := func() (string, time.Time) {
			t.Helper()
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept-Encoding", "gzip") // set by hand: no transparent decoding
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("%s: %v", proxy, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ce := resp.Header.Get("Content-Encoding")
			if ce == "" {
				ce = "identity"
			}
			return ce, time.Now()
		}
		// A pair: the first compressed, the second (asked within a
		// second) not. A machine too slow to ask within a second tries
		// the pair again once the rate has fallen.
		var pair []string
		deadline := time.Now().Add(60 * time.Second)
		for {
			first, end := get()
			second, _ := get()
			if time.Since(end) < time.Second || time.Now().After(deadline) {
				pair = []string{first, second}
				break
			}
			time.Sleep(2100 * time.Millisecond) // the counter's two periods: the rate is 0 again
		}
		info := rateShowInfo(t, sock)
		if in := rateInfoInt(t, info, "CompressBpsIn"); in <= 1024 {
			t.Errorf("%s: CompressBpsIn %d after a compressed response of %d bytes", proxy, in, len(compOriginBody))
		}
		lim := info["CompressBpsRateLim"]
		apiCLI(t, sock, "set rate-limit http-compression global 0")
		after, _ := get()
		got[proxy] = append(pair, after, "lim="+lim, "lim0="+rateShowInfo(t, sock)["CompressBpsRateLim"])
	}
	want := []string{"gzip", "identity", "gzip", "lim=1024", "lim0=0"}
	for proxy, g := range got {
		if !slices.Equal(g, want) {
			t.Errorf("%s: %s, want %s", proxy, strings.Join(g, " "), strings.Join(want, " "))
		}
	}
}

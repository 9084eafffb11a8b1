package integration

import (
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// BenchmarkIdentityThroughputH2 is BenchmarkIdentityThroughput over HTTP/2
// (issue 23: h2 with an identity rule at >= 0.85 of h2 without): the same
// frontend gets a TLS bind with ALPN h2, and h2load (32 connections x 10
// streams, b.N requests a round) sends the session cookie, a bearer JWT or
// nothing (the public path). Rounds are interleaved and the best of each
// kind is kept; reported as BenchmarkIdentityThroughput's metrics.
//
//	go test -run '^$' -bench IdentityThroughputH2 -benchtime 20000x ./internal/integration/
func BenchmarkIdentityThroughputH2(b *testing.B) {
	h2load := testenv.RequireBinary(b, "h2load")
	dir := b.TempDir()
	tlstest.NewCA(b).WritePEMFile(b, dir, "edge.pem", "localhost")
	h2Port := testenv.FreePort(b)
	env := startIdentityEnvWith(b, &identityEnv{Upstream: fastUpstream(b),
		BindLines: fmt.Sprintf("    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1", h2Port, dir)})

	c, _ := newBrowserClient(b)
	start, _ := http.NewRequest("GET", env.Edge+"/app/home", nil)
	resp := loginHTTP(b, env, c, start, opUser, opPassword)
	resp.Body.Close()
	var cookie []string
	for _, ck := range sessionCookies(b, env, c) {
		cookie = append(cookie, ck.Name+"="+ck.Value)
	}
	if len(cookie) == 0 {
		b.Fatal("no session cookie after login")
	}
	session := strings.Join(cookie, "; ")
	bearer := clientCredentials(b, env, "robot-staff", apiAudience)

	base := fmt.Sprintf("https://127.0.0.1:%d", h2Port)
	kinds := []struct {
		name string
		args []string
	}{
		{"unauth", []string{base + "/public/items?id=42"}},
		{"session", []string{"-H", "cookie: " + session, base + "/app/items?id=42"}},
		{"bearer", []string{"-H", "authorization: Bearer " + bearer, base + "/app/items?id=42"}},
	}
	n := max(b.N, 2000)
	best := make([]float64, len(kinds))
	for r := 0; r < 5; r++ {
		for i, k := range kinds {
			args := append([]string{"-c32", "-m10", "-n", strconv.Itoa(n), "-H", fmt.Sprintf(":authority: localhost:%d", h2Port)}, k.args...)
			best[i] = max(best[i], h2loadRate(b, h2load, args, n))
		}
	}
	for i, k := range kinds {
		b.ReportMetric(best[i], k.name+"_req/s")
	}
	b.ReportMetric(best[1]/best[0], "session/unauth")
	b.ReportMetric(best[2]/best[0], "bearer/unauth")
	b.ReportMetric(float64(len(session)), "cookie_bytes")
}

var h2loadFinished = regexp.MustCompile(`finished in [0-9.]+m?s, ([0-9.]+) req/s`)
var h2loadRequests = regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded`)
var h2loadStatus = regexp.MustCompile(`status codes: (\d+) 2xx`)

// h2loadRate runs h2load and returns its request rate; every one of the n
// requests must have succeeded with a 2xx over HTTP/2.
func h2loadRate(b *testing.B, h2load string, args []string, n int) float64 {
	out, err := exec.Command(h2load, args...).CombinedOutput()
	if err != nil {
		b.Fatalf("h2load %v: %v\n%s", args, err, out)
	}
	text := string(out)
	if !strings.Contains(text, "Application protocol: h2\n") {
		b.Fatalf("h2load did not speak h2:\n%s", text)
	}
	ok, st, rate := h2loadRequests.FindStringSubmatch(text), h2loadStatus.FindStringSubmatch(text), h2loadFinished.FindStringSubmatch(text)
	if ok == nil || st == nil || rate == nil || ok[1] != strconv.Itoa(n) || st[1] != strconv.Itoa(n) {
		b.Fatalf("h2load: not all %d requests answered 2xx:\n%s", n, text)
	}
	v, _ := strconv.ParseFloat(rate[1], 64)
	return v
}

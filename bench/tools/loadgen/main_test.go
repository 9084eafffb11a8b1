package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	lat := make([]int64, 1000)
	for i := range lat {
		lat[i] = int64(i+1) * 1000 // 1..1000 µs
	}
	got := percentiles(lat)
	want := "p50_us=500 p90_us=900 p99_us=990 p999_us=999 max_us=1000"
	if got != want {
		t.Fatalf("percentiles = %q, want %q", got, want)
	}
	if got := percentiles([]int64{7000}); got != "p50_us=7 p90_us=7 p99_us=7 p999_us=7 max_us=7" {
		t.Fatalf("one sample: %q", got)
	}
}

// Two runs' samples written with -samples and pooled with -pool give the
// percentiles of all the samples together, not of either run.
func TestSamplesPoolAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	var a, b []int64
	for i := 1; i <= 500; i++ {
		a = append(a, int64(2*i-1)*1000) // odd µs
		b = append(b, int64(2*i)*1000)   // even µs
	}
	if err := writeSamples(filepath.Join(dir, "r1.gatehouse"), a); err != nil {
		t.Fatal(err)
	}
	if err := writeSamples(filepath.Join(dir, "r2.gatehouse"), b); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	for _, f := range []string{"r1.gatehouse", "r2.gatehouse"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		in.Write(data)
	}
	var out bytes.Buffer
	if err := poolSamples("gatehouse", &in, &out); err != nil {
		t.Fatal(err)
	}
	want := "target=gatehouse requests=1000 p50_us=500 p90_us=900 p99_us=990 p999_us=999 max_us=1000\n"
	if out.String() != want {
		t.Fatalf("pooled:\n got %q\nwant %q", out.String(), want)
	}
}

func TestPoolRejectsWhatIsNotASample(t *testing.T) {
	for name, in := range map[string]string{
		"text":     "1000\nabc\n",
		"negative": "1000\n-5\n",
		"empty":    "\n\n",
	} {
		var out bytes.Buffer
		err := poolSamples("x", strings.NewReader(in), &out)
		if err == nil {
			t.Errorf("%s: no error, printed %q", name, out.String())
		}
	}
	err := poolSamples("x", strings.NewReader("1\nabc\n"), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v does not name line 2", err)
	}
}

// The slow requests of all connections are written in start order, one
// "START_NS LATENCY_NS" line each, whatever order the connections
// recorded them in.
func TestSlowRequestsInStartOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.slow")
	slow := []slowRequest{{at: 3000, lat: 2_500_000}, {at: 1000, lat: 4_000_000}, {at: 2000, lat: 3_000_000}}
	if err := writeSlow(path, slow); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1000 4000000\n2000 3000000\n3000 2500000\n"; string(b) != want {
		t.Fatalf("slow file = %q, want %q", b, want)
	}
}

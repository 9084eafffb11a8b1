package main

import (
	"bytes"
	"os"
	"testing"
)

// TestReferenceIsCurrent keeps docs/config-reference.md equal to what the
// keyword tables generate: regenerate with
// `go run ./cmd/gatehouse reference > docs/config-reference.md`.
func TestReferenceIsCurrent(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runReference(&out, &errb); code != 0 {
		t.Fatalf("reference: %s", errb.String())
	}
	want, err := os.ReadFile("../../docs/config-reference.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatal("docs/config-reference.md is stale: run `go run ./cmd/gatehouse reference > docs/config-reference.md`")
	}
}

func TestFlags(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-v"}, 0, "Gatehouse version"},
		{[]string{}, 1, "no configuration file given"},
		{[]string{"-f", "/nonexistent.cfg", "-c"}, 1, "nonexistent.cfg"},
		{[]string{"-x"}, 1, "flag provided but not defined"},
		// An unwritable profile stops the start, before any listener opens.
		{[]string{"-f", "/nonexistent.cfg", "-cpuprofile", "/nonexistent/dir/cpu.pprof"}, 1, "-cpuprofile: open /nonexistent/dir/cpu.pprof"},
		{[]string{"-c", "-f", "/nonexistent.cfg", "-cpuprofile", "cpu.pprof"}, 1, "nothing to record with -c"},
		{[]string{"-f", "/nonexistent.cfg", "-trace", "/nonexistent/dir/run.trace"}, 1, "-trace: open /nonexistent/dir/run.trace"},
		{[]string{"-c", "-f", "/nonexistent.cfg", "-trace", "run.trace"}, 1, "nothing to record with -c"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !bytes.Contains(append(out.Bytes(), errb.Bytes()...), []byte(tc.out)) {
			t.Errorf("%v: code %d, output %q %q; want %d and %q", tc.args, code, out.String(), errb.String(), tc.code, tc.out)
		}
	}
}

// TestCPUProfile: the profile is complete (pprof's gzip stream) once stop
// returns, which serve's shutdown path waits for.
func TestCPUProfile(t *testing.T) {
	path := t.TempDir() + "/cpu.pprof"
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	stop(&errb)
	if errb.Len() > 0 {
		t.Fatalf("stop: %s", errb.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile is not gzip'd pprof: % x", b[:min(len(b), 8)])
	}
	if _, err := startCPUProfile(t.TempDir() + "/no/such/dir/p"); err == nil {
		t.Fatal("a profile in a missing directory started")
	}
}

// TestExecutionTrace: the trace is complete once stop returns and starts
// with the runtime's trace header; a second trace cannot start while one runs.
func TestExecutionTrace(t *testing.T) {
	path := t.TempDir() + "/run.trace"
	stop, err := startTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startTrace(t.TempDir() + "/second.trace"); err == nil {
		t.Error("a second trace started while one ran")
	}
	var errb bytes.Buffer
	stop(&errb)
	if errb.Len() > 0 {
		t.Fatalf("stop: %s", errb.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("go 1.")) || !bytes.Contains(b[:min(len(b), 16)], []byte(" trace")) {
		t.Fatalf("not an execution trace: %q", b[:min(len(b), 16)])
	}
	if _, err := startTrace(t.TempDir() + "/no/such/dir/t"); err == nil {
		t.Fatal("a trace in a missing directory started")
	}
}

// Package h2spectest runs the h2spec HTTP/2 conformance suite against a
// server and reports every case that did not pass. It imports nothing of
// Gatehouse, so the h2 engine's own tests and the edge's can share it.
package h2spectest

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Install is how the test command installs h2spec (scripts/test.sh).
const Install = "go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible"

// Find returns the h2spec binary: on PATH, or in $(go env GOPATH)/bin. A
// missing binary fails the test: conformance is not optional.
func Find(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "h2spec")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatalf("h2spec not found: run `%s` (scripts/test.sh does)", Install)
	return ""
}

type junitSuites struct {
	Suites []struct {
		Cases []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Failure   *struct {
				Text string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Text string `xml:",chardata"`
			} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// Run runs every h2spec case (generic, http2, hpack) against host:port,
// over TLS when tls is set (certificates are not verified), and returns
// the number of cases and a line per case that failed, errored or was
// skipped.
func Run(t testing.TB, host string, port int, tls bool) (total int, failed []string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	args := []string{"-h", host, "-p", strconv.Itoa(port), "-o", "3", "-j", report}
	if tls {
		args = append(args, "-t", "-k")
	}
	// The exit status reflects failures; the report says which.
	out, _ := exec.Command(Find(t), args...).CombinedOutput()
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("h2spec wrote no report: %v\n%s", err, out)
	}
	var r junitSuites
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatalf("h2spec report: %v", err)
	}
	for _, s := range r.Suites {
		for _, c := range s.Cases {
			total++
			var msg string
			switch {
			case c.Failure != nil:
				msg = c.Failure.Text
			case c.Error != nil:
				msg = c.Error.Text
			case c.Skipped != nil:
				msg = "skipped"
			default:
				continue
			}
			failed = append(failed, c.ClassName+" "+c.Name+": "+strings.TrimSpace(msg))
		}
	}
	if total == 0 {
		t.Fatalf("h2spec ran no cases:\n%s", out)
	}
	return total, failed
}

package h2

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// findH2spec looks on PATH, then in $(go env GOPATH)/bin.
func findH2spec(t *testing.T) string {
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
	t.Fatal("h2spec not found: run `go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible` (scripts/test.sh does)")
	return ""
}

type junitSuites struct {
	Suites []struct {
		Name  string `xml:"name,attr"`
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

// TestH2Spec runs the h2spec conformance suite (generic, http2, hpack) over TLS.
func TestH2Spec(t *testing.T) {
	bin := findH2spec(t)
	srv := startServer(t, &Config{}, selfSignedTLS(t), okHandler)
	_, port, _ := strings.Cut(srv.addr(), ":")
	report := filepath.Join(t.TempDir(), "report.xml")
	cmd := exec.Command(bin, "-t", "-k", "-h", "127.0.0.1", "-p", port, "-o", "3", "-j", report)
	out, _ := cmd.CombinedOutput() // exit status reflects failures; the report says which
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("h2spec wrote no report: %v\n%s", err, out)
	}
	var r junitSuites
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatalf("parse report: %v", err)
	}
	total, failed := 0, []string{}
	for _, s := range r.Suites {
		for _, c := range s.Cases {
			total++
			if c.Failure != nil || c.Error != nil || c.Skipped != nil {
				msg := ""
				if c.Failure != nil {
					msg = c.Failure.Text
				} else if c.Error != nil {
					msg = c.Error.Text
				}
				failed = append(failed, c.ClassName+" "+c.Name+": "+strings.TrimSpace(msg))
			}
		}
	}
	if total == 0 {
		t.Fatalf("h2spec ran no cases:\n%s", out)
	}
	if len(failed) > 0 {
		t.Fatalf("h2spec: %d of %d cases failed:\n%s", len(failed), total, strings.Join(failed, "\n"))
	}
	t.Logf("h2spec: %d/%d passed", total, total)
}

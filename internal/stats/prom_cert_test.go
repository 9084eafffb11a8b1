package stats

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPrometheusCertificateExpiry: each served certificate's notAfter is a
// gauge of the global scope (what a certificate-expiry alert reads), and
// the exposition still passes promtool.
func TestPrometheusCertificateExpiry(t *testing.T) {
	s := promSnapshot()
	s.Certs = []CertStats{{File: "/etc/gatehouse/certs/a.pem", NotAfter: time.Unix(1893456000, 0)}, {File: `/etc/"b".pem`, NotAfter: time.Unix(1900000000, 0)}}
	out := promText(t, s, AllPromScopes())
	for _, want := range []string{
		"# TYPE gatehouse_tls_certificate_expiry_timestamp_seconds gauge\n",
		`gatehouse_tls_certificate_expiry_timestamp_seconds{file="/etc/gatehouse/certs/a.pem"} 1893456000` + "\n",
		`gatehouse_tls_certificate_expiry_timestamp_seconds{file="/etc/\"b\".pem"} 1900000000` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Count(out, "# TYPE gatehouse_tls_certificate_expiry_timestamp_seconds") != 1 {
		t.Error("the family's header is not written once")
	}
	if o := promText(t, s, PromOptions{Objs: FE | BE | SRV}); strings.Contains(o, "gatehouse_tls_certificate") {
		t.Error("certificates outside the global scope")
	}
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (Debian package prometheus): %v", err)
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, b)
	}
}

package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// h3Env is a Gatehouse serving HTTP/3 on a quic4@ bind beside a TCP TLS
// bind of the same frontend (HTTP/1.1 and HTTP/2), for tests that compare.
type h3Env struct {
	G           *testenv.Gatehouse
	CA          *testenv.CA
	Cert        *testenv.Cert
	UDPPort     int
	TCPPort     int
	Client      *http.Client // HTTP/3
	Tr          *http3.Transport
	TCP         *http.Client // HTTP/2 over TLS to the TCP bind
	URL, TCPURL string
	Cfg         string
}

// startH3 starts Gatehouse on tmpl, whose %[1]s is the QUIC bind line's
// address and certificate ("quic4@127.0.0.1:P ssl crt F"), %[2]s the TCP
// one's, %[3]d the UDP port; extra are more command-line arguments.
func startH3(t *testing.T, tmpl string, extra ...string) *h3Env {
	t.Helper()
	e := &h3Env{CA: testenv.NewCA(t)}
	e.Cert = e.CA.Issue(t, "localhost", "127.0.0.1")
	e.UDPPort, e.TCPPort = testenv.FreePort(t), testenv.FreePort(t)
	cfg := e.Format(tmpl)
	e.G = testenv.StartGatehouse(t, cfg, extra...)
	e.Cfg = cfg
	e.Tr = &http3.Transport{TLSClientConfig: e.CA.ClientTLS("localhost"), QUICConfig: &quic.Config{MaxIdleTimeout: 30 * time.Second}}
	t.Cleanup(func() { e.Tr.Close() })
	e.Client = &http.Client{Transport: e.Tr, Timeout: 30 * time.Second}
	e.TCP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: e.CA.ClientTLS("localhost"), ForceAttemptHTTP2: true}}
	e.URL = fmt.Sprintf("https://localhost:%d", e.UDPPort)
	e.TCPURL = fmt.Sprintf("https://localhost:%d", e.TCPPort)
	// The TCP bind accepting does not say the QUIC one is serving yet.
	testenv.Eventually(t, 20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/__h3_ready", nil)
		resp, err := e.Client.Do(req)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return true
	}, "the QUIC bind never answered")
	return e
}

// Format fills a configuration template as startH3 does.
func (e *h3Env) Format(tmpl string) string {
	quicBind := fmt.Sprintf("quic4@127.0.0.1:%d ssl crt %s", e.UDPPort, e.Cert.PEMFile)
	tcpBind := fmt.Sprintf("127.0.0.1:%d ssl crt %s alpn h2,http/1.1", e.TCPPort, e.Cert.PEMFile)
	return fmt.Sprintf(tmpl, quicBind, tcpBind, e.UDPPort)
}

// do sends one request and returns the response and its body.
func (e *h3Env) do(t *testing.T, c *http.Client, method, url string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, string(b)
}

// h3TLS is a client TLS configuration for HTTP/3 (ALPN h3).
func h3TLS(e *h3Env) *tls.Config {
	c := e.CA.ClientTLS("localhost")
	c.NextProtos = []string{http3.NextProtoH3}
	return c
}

// csvRow returns the named columns of the "px,sv" row of a stats CSV.
func csvRow(t *testing.T, csv, px, sv string) map[string]string {
	t.Helper()
	lines := strings.Split(csv, "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("not a stats CSV:\n%s", csv)
	}
	names := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > 2 && f[0] == px && f[1] == sv {
			out := map[string]string{}
			for i, n := range names {
				if i < len(f) {
					out[n] = f[i]
				}
			}
			return out
		}
	}
	t.Fatalf("no row %s,%s in:\n%s", px, sv, csv)
	return nil
}

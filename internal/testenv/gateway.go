package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// GatewayOptions configures StartGateway. The zero value gives an SNI-strict TLS
// gateway for SeedHost with a fresh CA.
type GatewayOptions struct {
	// Hosts the gateway serves (server_name and certificate names).
	// Default: []string{SeedHost}.
	Hosts []string
	// CA issues the gateway's certificate. Default: a new CA.
	CA *CA
	// ProxyProtocol adds a second TLS listener (PPAddr) that expects a PROXY
	// protocol header (v1 or v2) before the handshake; the echo's client_addr
	// then reports the address from that header.
	ProxyProtocol bool
	// ClientAuth requires client certificates (ssl_verify_client on) issued by
	// ClientCA on the TLS listeners. A client certificate is issued into
	// Gateway.ClientCert for convenience.
	ClientAuth bool
	// ClientCA verifies client certificates. Default: CA.
	ClientCA *CA
	// HTTP2 offers h2 by ALPN on the TLS listeners (as Istio's gateway does).
	HTTP2 bool
	// TLSPort fixes the TLS listener's port (e.g. 443, so a config that
	// names the gateway as host:443 runs verbatim). 0: a free port.
	TLSPort int
}

// Gateway is a real nginx configured like an Istio ingress gateway:
//
//   - TLSAddr: TLS with a certificate for the Hosts; a handshake without SNI, or
//     with an unknown SNI, is refused (ssl_reject_handshake), as Istio does.
//   - requests are routed on Host (server_name); an unknown Host gets 404.
//   - everything is proxied, bodies unbuffered and WebSocket upgrades passed
//     through, to an in-process EchoServer, which answers with an Echo of what
//     reached the gateway (see EchoServer for the endpoints).
//   - PPAddr (with ProxyProtocol): the same, behind a PROXY protocol header.
//   - HTTPAddr: the same routing in plain HTTP (Istio's port 80).
//   - StatusAddr: plain HTTP /healthz/ready, like Istio's 15021 status port
//     (200, or 503 after Echo.SetReady(false)).
//
// The access log (AccessLog) records SNI, Host, request line and status.
// Stop and Start kill and restart nginx on the same ports.
type Gateway struct {
	Opts GatewayOptions
	Dir  string // nginx prefix directory

	TLSAddr, PPAddr, HTTPAddr, StatusAddr string
	TLSPort, PPPort, HTTPPort, StatusPort int

	CA         *CA
	Cert       *Cert  // the gateway's server certificate
	CAFile     string // CA.File, for `verify required ca-file`
	ClientCert *Cert  // with ClientAuth: a certificate the gateway accepts

	ConfFile, AccessLogFile, ErrorLogFile string

	Echo *EchoServer

	t     testing.TB
	nginx string
	proc  *Process
}

// StartGateway starts a gateway; it is stopped on test cleanup.
func StartGateway(t testing.TB, opts GatewayOptions) *Gateway {
	t.Helper()
	nginx := RequireBinary(t, "nginx")
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{SeedHost}
	}
	if opts.CA == nil {
		opts.CA = NewCA(t)
	}
	if opts.ClientCA == nil {
		opts.ClientCA = opts.CA
	}
	g := &Gateway{Opts: opts, Dir: t.TempDir(), CA: opts.CA, t: t, nginx: nginx}
	g.CAFile = g.CA.File
	g.Cert = g.CA.Issue(t, opts.Hosts...)
	if opts.ClientAuth {
		g.ClientCert = opts.ClientCA.IssueClient(t, "gatehouse-client")
	}
	g.Echo = StartEchoServer(t)
	g.TLSPort, g.HTTPPort, g.StatusPort = FreePort(t), FreePort(t), FreePort(t)
	if opts.TLSPort != 0 {
		g.TLSPort = opts.TLSPort
	}
	g.TLSAddr, g.HTTPAddr, g.StatusAddr = LocalAddr(g.TLSPort), LocalAddr(g.HTTPPort), LocalAddr(g.StatusPort)
	if opts.ProxyProtocol {
		g.PPPort = FreePort(t)
		g.PPAddr = LocalAddr(g.PPPort)
	}
	g.ConfFile = filepath.Join(g.Dir, "nginx.conf")
	g.AccessLogFile = filepath.Join(g.Dir, "access.log")
	g.ErrorLogFile = filepath.Join(g.Dir, "error.log")
	if err := os.MkdirAll(filepath.Join(g.Dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	var conf bytes.Buffer
	if err := nginxTemplate.Execute(&conf, g.templateData()); err != nil {
		t.Fatal(err)
	}
	writeFile(t, g.ConfFile, conf.Bytes())
	g.Start()
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(g.ErrorLogFile); err == nil && len(b) > 0 {
				t.Logf("gateway nginx error.log:\n%s", b)
			}
		}
	})
	return g
}

// Start starts nginx (again, after Stop) and waits for its listeners.
func (g *Gateway) Start() {
	g.t.Helper()
	if g.proc != nil && !g.proc.Exited() {
		g.t.Fatal("Gateway.Start: nginx already running")
	}
	g.proc = StartProcess(g.t, "gateway nginx", g.nginx,
		"-p", g.Dir, "-c", g.ConfFile, "-e", g.ErrorLogFile, "-g", "daemon off; master_process on;")
	for _, a := range []string{g.TLSAddr, g.HTTPAddr, g.StatusAddr, g.PPAddr} {
		if a != "" {
			g.proc.WaitTCP(g.t, a, 10*time.Second)
		}
	}
}

// Stop stops nginx and waits until its ports refuse connections.
func (g *Gateway) Stop() {
	g.t.Helper()
	if g.proc == nil {
		return
	}
	g.proc.Stop()
	WaitTCPClosed(g.t, g.TLSAddr, 10*time.Second)
}

// Running reports whether nginx is running.
func (g *Gateway) Running() bool { return g.proc != nil && !g.proc.Exited() }

// TLSConfig returns a client TLS configuration for host (SNI and verification)
// that trusts the gateway's CA and, with ClientAuth, presents ClientCert.
func (g *Gateway) TLSConfig(host string) *tls.Config {
	if g.ClientCert != nil {
		return g.CA.ClientTLS(host, g.ClientCert)
	}
	return g.CA.ClientTLS(host)
}

// Client returns an HTTP client whose connections all go to addr (for example
// g.TLSAddr, or a proxy in front of the gateway) whatever the URL's host, so
// URLs can name the real host: https://helloworld.zufardhiyaulhaq.tech/x.
// For https URLs, SNI is the URL's host and the certificate is verified with tlsCfg
// (ServerName is filled in from the URL when empty).
func Client(addr string, tlsCfg *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     tlsCfg,
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 16,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Client returns an HTTP client connected to the gateway's TLS listener, trusting
// its CA (and presenting ClientCert with ClientAuth). Use https://HOST/... URLs.
func (g *Gateway) Client() *http.Client {
	var cfg *tls.Config
	if g.ClientCert != nil {
		cfg = g.CA.ClientTLS("", g.ClientCert)
	} else {
		cfg = g.CA.ClientTLS("")
	}
	return Client(g.TLSAddr, cfg)
}

// AccessEntry is one line of the gateway's access log. Empty values are "-".
type AccessEntry struct {
	SNI, Host, Request, Status, RemoteAddr, ProxyProtocolAddr string
}

// AccessLog returns the access log lines written so far. nginx writes a line
// after the response is sent, so poll (Eventually) for an expected entry.
func (g *Gateway) AccessLog() []AccessEntry {
	f, err := os.Open(g.AccessLogFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []AccessEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 6 {
			continue
		}
		out = append(out, AccessEntry{SNI: p[0], Host: p[1], Request: p[2], Status: p[3], RemoteAddr: p[4], ProxyProtocolAddr: p[5]})
	}
	return out
}

// WaitAccess waits until an access log entry satisfies match and returns it.
func (g *Gateway) WaitAccess(t testing.TB, timeout time.Duration, match func(AccessEntry) bool) AccessEntry {
	t.Helper()
	var found AccessEntry
	Eventually(t, timeout, func() bool {
		for _, e := range g.AccessLog() {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	}, "no matching gateway access log entry; log: %v", lazyString(func() string { return fmt.Sprint(g.AccessLog()) }))
	return found
}

type nginxData struct {
	*Gateway
	Root bool
}

func (g *Gateway) templateData() nginxData {
	return nginxData{Gateway: g, Root: os.Geteuid() == 0}
}

// The access log format is tab-separated; see AccessEntry.
var nginxTemplate = template.Must(template.New("nginx.conf").Parse(`# generated by internal/testenv
{{if .Root}}user root;
{{end -}}
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.ErrorLogFile}} info;

events {
    worker_connections 4096;
}

http {
    log_format gw '$ssl_server_name\t$host\t$request\t$status\t$remote_addr\t$proxy_protocol_addr';
    access_log {{.AccessLogFile}} gw;

    client_body_temp_path {{.Dir}}/tmp/body;
    proxy_temp_path {{.Dir}}/tmp/proxy;
    fastcgi_temp_path {{.Dir}}/tmp/fastcgi;
    uwsgi_temp_path {{.Dir}}/tmp/uwsgi;
    scgi_temp_path {{.Dir}}/tmp/scgi;

    # Pass what the proxy under test sent, as it sent it.
    underscores_in_headers on;
    ignore_invalid_headers off;
    merge_slashes off;
    client_max_body_size 0;
    keepalive_requests 100000;

    proxy_http_version 1.1;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_read_timeout 120s;

    ssl_protocols TLSv1.2 TLSv1.3;

    map $http_upgrade $gw_connection {
        default upgrade;
        ''      '';
    }
    map $proxy_protocol_addr $gw_remote {
        ''      $remote_addr;
        default $proxy_protocol_addr;
    }

    upstream echo {
        server {{.Echo.Addr}};
        keepalive 32;
    }

    # SNI-strict default: no SNI, or an unknown one, and the handshake is refused.
    # A known SNI with an unknown Host lands here too, after the handshake: 404.
    server {
        listen 127.0.0.1:{{.TLSPort}} ssl default_server{{if .Opts.HTTP2}} http2{{end}};
{{- if .Opts.ProxyProtocol}}
        listen 127.0.0.1:{{.PPPort}} ssl proxy_protocol default_server{{if .Opts.HTTP2}} http2{{end}};
{{- end}}
        listen 127.0.0.1:{{.HTTPPort}} default_server;
        server_name _;
        ssl_reject_handshake on;
{{- if .Opts.ClientAuth}}
        ssl_verify_client on;
        ssl_client_certificate {{.Opts.ClientCA.File}};
{{- end}}
        return 404 "no route for host $host\n";
    }

    server {
        listen 127.0.0.1:{{.TLSPort}} ssl{{if .Opts.HTTP2}} http2{{end}};
{{- if .Opts.ProxyProtocol}}
        listen 127.0.0.1:{{.PPPort}} ssl proxy_protocol{{if .Opts.HTTP2}} http2{{end}};
{{- end}}
        listen 127.0.0.1:{{.HTTPPort}};
        server_name{{range .Opts.Hosts}} {{.}}{{end}};
        ssl_certificate {{.Cert.CertFile}};
        ssl_certificate_key {{.Cert.KeyFile}};
{{- if .Opts.ClientAuth}}
        ssl_verify_client on;
        ssl_client_certificate {{.Opts.ClientCA.File}};
{{- end}}

        location / {
            proxy_pass http://echo;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $gw_connection;
            proxy_set_header X-Gw-Sni $ssl_server_name;
            proxy_set_header X-Gw-Remote $gw_remote;
            proxy_set_header X-Gw-Proto $server_protocol;
            proxy_set_header X-Gw-Scheme $scheme;
            proxy_set_header X-Gw-Client-Dn $ssl_client_s_dn;
        }
    }

    # Like Istio's status port 15021.
    server {
        listen 127.0.0.1:{{.StatusPort}} default_server;
        location = /healthz/ready {
            proxy_pass http://echo;
        }
        location / {
            return 404;
        }
    }
}
`))

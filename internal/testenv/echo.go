package testenv

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Headers set by the gateway (nginx) on the way to the echo server. They are
// reported in Echo's own fields and left out of Echo.Headers.
const (
	HeaderSNI      = "X-Gw-Sni"       // $ssl_server_name
	HeaderRemote   = "X-Gw-Remote"    // $proxy_protocol_addr, else $remote_addr
	HeaderProto    = "X-Gw-Proto"     // $server_protocol as received by the gateway
	HeaderClientDN = "X-Gw-Client-Dn" // $ssl_client_s_dn (mutual TLS)
	HeaderScheme   = "X-Gw-Scheme"    // $scheme
)

// Echo is the JSON body the echo server answers with: what reached the gateway.
type Echo struct {
	Method     string              `json:"method"`
	URI        string              `json:"uri"`
	Host       string              `json:"host"`
	Headers    map[string][]string `json:"headers"`
	BodyLen    int64               `json:"body_len"`
	BodySHA256 string              `json:"body_sha256"`
	SNI        string              `json:"sni"`
	ClientAddr string              `json:"client_addr"`
	Proto      string              `json:"proto"`
	Scheme     string              `json:"scheme"`
	ClientDN   string              `json:"client_dn,omitempty"`
}

// EchoServer is the in-process HTTP server behind the gateway. Endpoints:
//
//	/bytes/N        N bytes of 'x' (Content-Length set)
//	/status/N       the echo JSON with status N
//	/slow/MS        the echo JSON after MS milliseconds
//	/ws             WebSocket echo (RFC 6455 text/binary frames, ping, close)
//	/healthz/ready  200 while Ready, 503 otherwise (served through the status port)
//	anything else   the echo JSON with status 200
type EchoServer struct {
	Addr     string // 127.0.0.1:PORT
	Requests atomic.Int64

	srv   *http.Server
	ready atomic.Bool
}

// StartEchoServer starts an echo server on a free loopback port, closed on cleanup.
func StartEchoServer(t testing.TB) *EchoServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &EchoServer{Addr: l.Addr().String()}
	e.ready.Store(true)
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go e.srv.Serve(l)
	t.Cleanup(func() { e.srv.Close() })
	return e
}

// SetReady sets what /healthz/ready answers: 200 when true, 503 when false.
func (e *EchoServer) SetReady(ready bool) { e.ready.Store(ready) }

func (e *EchoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.Requests.Add(1)
	path := r.URL.Path
	switch {
	case path == "/healthz/ready":
		if e.ready.Load() {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "ready\n")
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready\n")
		}
		return
	case path == "/ws":
		serveWebSocket(w, r)
		return
	case strings.HasPrefix(path, "/bytes/"):
		n, err := strconv.ParseInt(strings.TrimPrefix(path, "/bytes/"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		writeBytes(w, n)
		return
	}
	status := http.StatusOK
	if s, ok := strings.CutPrefix(path, "/status/"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 999 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		status = n
	}
	if s, ok := strings.CutPrefix(path, "/slow/"); ok {
		ms, err := strconv.Atoi(s)
		if err != nil || ms < 0 {
			http.Error(w, "bad delay", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	h := sha256.New()
	n, _ := io.Copy(h, r.Body)
	echo := Echo{
		Method:     r.Method,
		URI:        r.RequestURI,
		Host:       r.Host,
		Headers:    map[string][]string{},
		BodyLen:    n,
		BodySHA256: hex.EncodeToString(h.Sum(nil)),
		SNI:        r.Header.Get(HeaderSNI),
		ClientAddr: r.Header.Get(HeaderRemote),
		Proto:      r.Header.Get(HeaderProto),
		Scheme:     r.Header.Get(HeaderScheme),
		ClientDN:   r.Header.Get(HeaderClientDN),
	}
	if echo.Proto == "" {
		echo.Proto = r.Proto
	}
	for k, v := range r.Header {
		switch k {
		case HeaderSNI, HeaderRemote, HeaderProto, HeaderClientDN, HeaderScheme:
			continue
		}
		echo.Headers[k] = v
	}
	b, _ := json.Marshal(echo)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeBytes(w io.Writer, n int64) {
	chunk := []byte(strings.Repeat("x", 32<<10))
	for n > 0 {
		c := chunk
		if int64(len(c)) > n {
			c = c[:n]
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		n -= int64(len(c))
	}
}

// SHA256Hex returns the hex SHA-256 of b, to compare with Echo.BodySHA256.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// DecodeEcho reads an echo JSON body from an HTTP response (and closes it).
func DecodeEcho(t testing.TB, resp *http.Response) Echo {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read echo body: %v", err)
	}
	var e Echo
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("echo body is not JSON (status %d): %v\n%s", resp.StatusCode, err, b)
	}
	return e
}

// serveWebSocket performs the RFC 6455 server handshake and echoes data frames
// until the peer closes.
func serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !headerHasToken(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "websocket upgrade required", http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "bad websocket handshake", http.StatusBadRequest)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + WebSocketAccept(key) + "\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	wsEchoLoop(brw.Reader, conn)
}

func wsEchoLoop(r *bufio.Reader, w io.Writer) {
	for {
		f, err := ReadWSFrame(r)
		if err != nil {
			return
		}
		switch f.Opcode {
		case WSText, WSBinary, WSContinuation:
			if WriteWSFrame(w, f.Opcode, f.Payload, false) != nil {
				return
			}
		case WSPing:
			if WriteWSFrame(w, WSPong, f.Payload, false) != nil {
				return
			}
		case WSClose:
			WriteWSFrame(w, WSClose, f.Payload, false)
			return
		}
	}
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

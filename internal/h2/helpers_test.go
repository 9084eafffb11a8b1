package h2

import (
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// testServer serves h2 on a loopback listener (TLS when tlsConf != nil).
type testServer struct {
	ln    net.Listener
	cfg   *Config
	h     Handler
	mu    sync.Mutex
	conns []*Conn
	errs  chan error
	wg    sync.WaitGroup
}

func startServer(t testing.TB, cfg *Config, tlsConf *tls.Config, h Handler) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s := &testServer{ln: ln, cfg: cfg, h: h, errs: make(chan error, 1000)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := NewConn(nc, cfg, h)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if tc, ok := nc.(*tls.Conn); ok {
					if err := tc.Handshake(); err != nil {
						nc.Close()
						return
					}
				}
				select {
				case s.errs <- c.Serve():
				default:
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

func (s *testServer) conn(i int) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[i]
}

// selfSignedTLS returns a server config with a fresh certificate for 127.0.0.1, ALPN h2.
func selfSignedTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert := tlstest.NewCA(t).TLSCertificate(t, "127.0.0.1", "localhost")
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}
}

var okBody = []byte("hello from gatehouse h2\n")

// okHandler reads the request body and answers 200 with a small body.
func okHandler(st *Stream) {
	_, _ = io.Copy(io.Discard, st.Body())
	resp := &httpmsg.Response{Status: 200, Header: httpmsg.Headers{
		{Name: "Content-Type", Value: "text/plain"}, {Name: "Content-Length", Value: strconv.Itoa(len(okBody))}}}
	if st.WriteHead(resp, false) != nil {
		return
	}
	if _, err := st.Write(okBody); err != nil {
		return
	}
	_ = st.Close(nil)
}

// cloneRequest copies a request head, strings included, for a test to
// look at after the handler returned: the Stream, its header list and
// the joined cookie are reused by a later stream.
func cloneRequest(r *httpmsg.Request) httpmsg.Request {
	c := *r
	c.Header = make(httpmsg.Headers, len(r.Header))
	for i, h := range r.Header {
		c.Header[i] = httpmsg.Header{Name: strings.Clone(h.Name), Value: strings.Clone(h.Value)}
	}
	return c
}

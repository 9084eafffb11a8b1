package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/gatehouse/gatehouse/internal/h2"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

func h2cServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), &http2.Server{}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func dialH2(t *testing.T, p *H2Upstream, addr string, key upstream.PoolKey) *h2Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw := nc.(*net.TCPConn)
	hc, err := p.adopt(key, upstream.NewConn(raw, raw, key), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.cc.Close)
	return hc
}

// h2Get sends a GET on the stream hc has reserved and reads the answer.
func h2Get(t *testing.T, hc *h2Conn) {
	t.Helper()
	var st h2.ClientStream
	st.SetWait(10*time.Second, nil)
	if err := hc.cc.Start(&st, &h2.ClientRequest{Method: "GET", Scheme: "http", Authority: "a", Path: "/", EndStream: true}); err != nil {
		t.Fatal(err)
	}
	var resp httpmsg.Response
	if final, err := st.ReadHead(&resp); err != nil || !final || resp.Status != 200 {
		t.Fatalf("status %d: %v", resp.Status, err)
	}
	if b, err := io.ReadAll(&st); err != nil || string(b) != "ok" {
		t.Fatalf("body %q: %v", b, err)
	}
	st.Release()
}

// TestH2PoolMaxReuse: "max-reuse 2": a connection carries two streams,
// then takes no more and closes once they ended; the pool forgets it.
func TestH2PoolMaxReuse(t *testing.T) {
	addr := h2cServer(t)
	p := NewH2Upstream(true, -1, 2, 0)
	var key upstream.PoolKey
	hc := dialH2(t, p, addr, key)
	h2Get(t, hc)
	again := p.take(key)
	if again != hc {
		t.Fatalf("second stream on %p, want the pooled %p", again, hc)
	}
	h2Get(t, again)
	select {
	case <-hc.cc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a connection past max-reuse did not close after its last stream")
	}
	if got := p.take(key); got != nil {
		t.Fatal("a retired connection took a third stream")
	}
	if p.count != 0 {
		t.Fatalf("pool counts %d connections, want 0", p.count)
	}
}

// TestH2PoolMaxConn: "pool-max-conn 1": a second connection carries its
// request and closes; the first stays pooled.
func TestH2PoolMaxConn(t *testing.T) {
	addr := h2cServer(t)
	p := NewH2Upstream(true, 1, -1, 0)
	var key upstream.PoolKey
	first := dialH2(t, p, addr, key)
	second := dialH2(t, p, addr, key)
	h2Get(t, first)
	h2Get(t, second)
	select {
	case <-second.cc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection past pool-max-conn stayed open")
	}
	if got := p.take(key); got != first {
		t.Fatalf("took %p, want the pooled first connection %p", got, first)
	}
	h2Get(t, first)
	p.CloseIdle()
	select {
	case <-first.cc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("CloseIdle left an idle connection open")
	}
}

package h2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Each attack test states what the attacker gets, and checks that another
// client of the same server is still served afterwards.

// blockingOn holds /block requests until ch closes; others get okHandler.
func blockingOn(ch chan struct{}) Handler {
	return func(st *Stream) {
		if st.Request().URI == "/block" {
			<-ch
			return
		}
		okHandler(st)
	}
}

func stillServes(t *testing.T, srv *testServer) {
	t.Helper()
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.get(1)
}

// Rapid reset (CVE-2023-44487): the attacker gets at most MaxConcurrentStreams
// handlers at once, each sees Done; past 2×MaxConcurrentStreams cancelled
// streams per second it gets GOAWAY(ENHANCE_YOUR_CALM) and the connection closes.
func TestAttackRapidReset(t *testing.T) {
	const max = 10
	var running, peak, started, sawDone atomic.Int64
	srv := startServer(t, &Config{MaxConcurrentStreams: max}, nil, func(st *Stream) {
		started.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if st.ID() == 1 || strings.HasPrefix(st.Request().URI, "/ok") {
			okHandler(st)
			return
		}
		<-st.Done()
		sawDone.Add(1)
	})
	c := dialRaw(t, srv.addr())
	c.handshake()
	go func() {
		for id := uint32(3); id < 20000; id += 2 {
			if c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(getReq...),
				EndStream: true, EndHeaders: true}) != nil || c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				return
			}
		}
	}()
	c.expectGoAway(http2.ErrCodeEnhanceYourCalm)
	if err := <-srv.errs; err == nil || !strings.Contains(err.Error(), "ENHANCE_YOUR_CALM") {
		t.Fatalf("Serve: %v", err)
	}
	if peak.Load() > max {
		t.Fatalf("%d handlers ran at once, limit %d", peak.Load(), max)
	}
	if started.Load() > 2*max+max { // budget plus what was in flight
		t.Fatalf("%d handlers started", started.Load())
	}
	if sawDone.Load() != started.Load() {
		t.Fatalf("%d handlers started, %d saw Done", started.Load(), sawDone.Load())
	}
	stillServes(t, srv)
}

// CONTINUATION flood (CVE-2024-27316 family): endless empty CONTINUATION
// frames, or header bytes past MaxHeaderListSize, get a connection error;
// nothing is buffered beyond the limit.
func TestAttackContinuationFlood(t *testing.T) {
	srv := startServer(t, &Config{MaxHeaderListSize: 8 << 10}, nil, okHandler)
	flood := func(t *testing.T, frag []byte, code http2.ErrCode) {
		c := dialRaw(t, srv.addr())
		c.handshake()
		c.must(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(getReq...)}))
		go func() {
			for i := 0; i < 100000; i++ {
				if c.fr.WriteContinuation(1, false, frag) != nil {
					return
				}
			}
		}()
		c.expectGoAway(code)
	}
	t.Run("empty frames", func(t *testing.T) { flood(t, nil, http2.ErrCodeEnhanceYourCalm) })
	t.Run("header bytes", func(t *testing.T) {
		var b bytes.Buffer
		enc := hpack.NewEncoder(&b)
		_ = enc.WriteField(hpack.HeaderField{Name: "x-junk", Value: strings.Repeat("j", 1000), Sensitive: true})
		flood(t, b.Bytes(), http2.ErrCodeProtocol)
	})
	stillServes(t, srv)
}

// HPACK bomb: a 4 KB dynamic-table entry referenced by 1-byte indexes decodes
// past MaxHeaderListSize; the attacker gets a 431 on that stream (its handler
// never runs) and the connection goes on. A dynamic table larger than
// HeaderTableSize is a COMPRESSION_ERROR.
func TestAttackHPACKBomb(t *testing.T) {
	var handled atomic.Int64
	srv := startServer(t, &Config{}, nil, func(st *Stream) { handled.Add(1); okHandler(st) })
	c := dialRaw(t, srv.addr())
	c.handshake()
	big := strings.Repeat("b", 4000)
	c.headers(1, true, append(getReq[:len(getReq):len(getReq)], "x-bomb", big)...)
	c.response(1)
	kv := append([]string(nil), getReq...)
	for i := 0; i < 20; i++ { // 20 × ~4 KB decoded, ~20 bytes on the wire
		kv = append(kv, "x-bomb", big)
	}
	blk := c.block(kv...)
	if len(blk) > 100 {
		t.Fatalf("bomb block is %d bytes; the encoder did not index", len(blk))
	}
	c.must(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: blk, EndStream: true, EndHeaders: true}))
	if st, _, _ := c.response(3); st != "431" {
		t.Fatalf("status %s, want 431", st)
	}
	if handled.Load() != 1 {
		t.Fatalf("%d handlers ran", handled.Load())
	}
	c.get(5)

	c2 := dialRaw(t, srv.addr())
	c2.handshake()
	c2.enc.SetMaxDynamicTableSizeLimit(1 << 20)
	c2.enc.SetMaxDynamicTableSize(1 << 20) // announces a table size the server never allowed
	c2.headers(1, true, getReq...)
	c2.expectGoAway(http2.ErrCodeCompression)
	stillServes(t, srv)
}

// Control frame flood from a client that does not read: PING and SETTINGS
// ACKs queue up to a bound, then GOAWAY(ENHANCE_YOUR_CALM) and close.
func TestAttackControlFrameFlood(t *testing.T) {
	for _, kind := range []string{"PING", "SETTINGS"} {
		t.Run(kind, func(t *testing.T) {
			cl, sv := net.Pipe() // synchronous: the server's writer blocks while we do not read
			// timeout client (always set by the proxy) bounds the writer
			// blocked on a client that does not read.
			conn := NewConn(sv, &Config{SendTimeout: 2 * time.Second}, okHandler)
			served := make(chan error, 1)
			go func() { served <- conn.Serve() }()
			c := newRaw(t, cl)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.WriteString(cl, http2.ClientPreface)
				_ = c.fr.WriteSettings()
				for i := 0; i < 5000; i++ {
					var err error
					if kind == "PING" {
						err = c.fr.WritePing(false, [8]byte{})
					} else {
						err = c.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16384})
					}
					if err != nil {
						return
					}
				}
			}()
			var err error
			select {
			case err = <-served:
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not end")
			}
			var ce connError
			if !errors.As(err, &ce) || ce.code != http2.ErrCodeEnhanceYourCalm {
				t.Fatalf("Serve: %v", err)
			}
			cl.Close()
			wg.Wait()
		})
	}
}

// Empty DATA frames without END_STREAM cost us a wake-up each and carry
// nothing: past the glitch budget, GOAWAY(ENHANCE_YOUR_CALM).
func TestAttackEmptyDataFlood(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := startServer(t, &Config{}, nil, blockingOn(block))
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, false, ":method", "POST", ":scheme", "https", ":path", "/block")
	go func() {
		for i := 0; i < 5000; i++ {
			if c.fr.WriteData(1, false, nil) != nil {
				return
			}
		}
	}()
	c.expectGoAway(http2.ErrCodeEnhanceYourCalm)
	stillServes(t, srv)
}

// Window-update abuse: pushing a window past 2^31-1 is FLOW_CONTROL_ERROR
// (stream: RST_STREAM; connection: GOAWAY).
func TestAttackWindowOverflow(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	srv := startServer(t, &Config{}, nil, blockingOn(block))
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.headers(1, false, ":method", "GET", ":scheme", "https", ":path", "/block")
	for i := 0; i < 2; i++ {
		c.must(c.fr.WriteWindowUpdate(1, 1<<30))
	}
	c.expectRST(1, http2.ErrCodeFlowControl)
	for i := 0; i < 2; i++ {
		c.must(c.fr.WriteWindowUpdate(0, 1<<30))
	}
	c.expectGoAway(http2.ErrCodeFlowControl)
	stillServes(t, srv)
}

// Stream-id reuse or going backwards is a connection PROTOCOL_ERROR.
func TestAttackStreamIDReuse(t *testing.T) {
	srv := startServer(t, &Config{}, nil, okHandler)
	c := dialRaw(t, srv.addr())
	c.handshake()
	c.get(1)
	c.headers(1, true, getReq...)
	c.expectGoAway(http2.ErrCodeProtocol)
	stillServes(t, srv)
}

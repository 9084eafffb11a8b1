// Package h2cli is the benchmark tools' HTTP/2 client: one connection,
// one stream at a time, as little as possible between the wire and the
// measurement (no pooling, no goroutine per connection, no retries). It
// speaks cleartext HTTP/2 with prior knowledge (h2c) or TLS with ALPN h2.
package h2cli

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Conn is one HTTP/2 client connection whose SETTINGS exchange is done.
type Conn struct {
	nc              net.Conn
	bw              *bufio.Writer
	fr              *http2.Framer
	enc             *hpack.Encoder
	hbuf            bytes.Buffer
	next            uint32 // next stream id
	unacked         uint32 // DATA bytes received since the last WINDOW_UPDATE
	authority, path string
}

// The client's receive windows: a stream's is large enough for any body
// the benchmarks fetch, and the connection's is topped up as it is used.
const (
	streamWindow = 1 << 24
	connTopUp    = 1 << 20
)

// Dial opens addr (TLS with ALPN h2 when useTLS) and exchanges SETTINGS:
// it returns once the server's SETTINGS arrived and were acknowledged, so
// the connection is what a browser holds open between requests.
func Dial(addr, authority, path string, useTLS bool, timeout time.Duration) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	if useTLS {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, ServerName: authority})
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, err
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			nc.Close()
			return nil, fmt.Errorf("ALPN chose %q, not h2", p)
		}
		nc = tc
	}
	c := &Conn{nc: nc, bw: bufio.NewWriterSize(nc, 4096), next: 1, authority: authority, path: path}
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(nc, 16384))
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.hbuf)
	if err := c.handshake(); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *Conn) handshake() error {
	if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow}); err != nil {
		return err
	}
	if err := c.fr.WriteWindowUpdate(0, 1<<30); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	// The server's SETTINGS come first; its acknowledgement of ours may
	// come before or after, and is read with the first response (or never,
	// for a connection left idle: it then sits in the socket buffer).
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("first frame from the server is %v, not SETTINGS", f.Header())
	}
	if err := c.fr.WriteSettingsAck(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// SetDeadline sets the underlying connection's deadline.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// Read reads from the underlying connection (an idle check: a live idle
// connection times out).
func (c *Conn) Read(p []byte) (int, error) { return c.nc.Read(p) }

// Get sends GET path on a new stream and reads its whole response; an
// error for anything but a 200 that ends the stream.
func (c *Conn) Get() error {
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	id := c.next
	c.next += 2
	c.hbuf.Reset()
	for _, f := range [...]hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: c.authority}, {Name: ":path", Value: c.path},
		{Name: "user-agent", Value: "loadgen"},
	} {
		if err := c.enc.WriteField(f); err != nil {
			return err
		}
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	status := ""
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				return fmt.Errorf("HEADERS on stream %d, waiting for %d", f.StreamID, id)
			}
			if status == "" {
				status = f.PseudoValue("status")
			}
			if f.StreamEnded() {
				return done(status)
			}
		case *http2.DataFrame:
			// Flow control counts the whole payload, padding included.
			if n := f.Header().Length; n > 0 {
				if err := c.consumed(n); err != nil {
					return err
				}
			}
			if f.StreamID == id && f.StreamEnded() {
				return done(status)
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := c.fr.WriteSettingsAck(); err != nil {
					return err
				}
				if err := c.bw.Flush(); err != nil {
					return err
				}
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				if err := c.fr.WritePing(true, f.Data); err != nil {
					return err
				}
				if err := c.bw.Flush(); err != nil {
					return err
				}
			}
		case *http2.RSTStreamFrame:
			return fmt.Errorf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.GoAwayFrame:
			return fmt.Errorf("GOAWAY: %v", f.ErrCode)
		}
	}
}

func done(status string) error {
	if status != "200" {
		return fmt.Errorf("status %q", status)
	}
	return nil
}

// consumed tops the connection's receive window up once a MiB of it was
// used (a stream's window is larger than any response here).
func (c *Conn) consumed(n uint32) error {
	c.unacked += n
	if c.unacked < connTopUp {
		return nil
	}
	if err := c.fr.WriteWindowUpdate(0, c.unacked); err != nil {
		return err
	}
	c.unacked = 0
	return c.bw.Flush()
}

package testenv

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Minimal RFC 6455 framing, enough to check that WebSocket upgrades pass through
// a proxy: both ends of it (the echo server and a test client) live here.

// WebSocket opcodes.
const (
	WSContinuation = 0x0
	WSText         = 0x1
	WSBinary       = 0x2
	WSClose        = 0x8
	WSPing         = 0x9
	WSPong         = 0xA
)

// WSFrame is one WebSocket frame (FIN is always set by this package's writers).
type WSFrame struct {
	Fin     bool
	Opcode  byte
	Payload []byte
}

const wsMaxPayload = 16 << 20

// WebSocketAccept computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func WebSocketAccept(key string) string {
	h := sha1.New()
	io.WriteString(h, key+"258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// WriteWSFrame writes one final frame. Clients must mask (RFC 6455 5.3).
func WriteWSFrame(w io.Writer, opcode byte, payload []byte, mask bool) error {
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x80|opcode&0x0f)
	var m byte
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, m|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, m|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, m|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	body := payload
	if mask {
		var key [4]byte
		if _, err := rand.Read(key[:]); err != nil {
			return err
		}
		hdr = append(hdr, key[:]...)
		body = make([]byte, len(payload))
		for i := range payload {
			body[i] = payload[i] ^ key[i%4]
		}
	}
	if _, err := w.Write(append(hdr, body...)); err != nil {
		return err
	}
	return nil
}

// ReadWSFrame reads one frame, unmasking it if masked.
func ReadWSFrame(r io.Reader) (WSFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return WSFrame{}, err
	}
	f := WSFrame{Fin: h[0]&0x80 != 0, Opcode: h[0] & 0x0f}
	if h[0]&0x70 != 0 {
		return f, errors.New("websocket: reserved bits set")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > wsMaxPayload {
		return f, fmt.Errorf("websocket: frame of %d bytes too large", n)
	}
	var key [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return f, err
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		return f, err
	}
	if masked {
		for i := range f.Payload {
			f.Payload[i] ^= key[i%4]
		}
	}
	return f, nil
}

// WSConn is the client side of a WebSocket connection made by DialWebSocket.
type WSConn struct {
	Conn     net.Conn
	Response *http.Response // the 101 response
	r        *bufio.Reader
}

// WebSocketHandshake performs the client handshake for path with the given Host
// over an established connection (plain or TLS). extra headers are added as is.
func WebSocketHandshake(conn net.Conn, host, path string, extra http.Header) (*WSConn, error) {
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(k[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", path, host, key)
	for name, vs := range extra {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("websocket handshake: status %d: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != WebSocketAccept(key) {
		return nil, fmt.Errorf("websocket handshake: Sec-WebSocket-Accept %q, want %q", got, WebSocketAccept(key))
	}
	return &WSConn{Conn: conn, Response: resp, r: br}, nil
}

// WriteText sends a masked text frame.
func (c *WSConn) WriteText(s string) error { return WriteWSFrame(c.Conn, WSText, []byte(s), true) }

// WriteFrame sends a masked frame with the given opcode.
func (c *WSConn) WriteFrame(opcode byte, payload []byte) error {
	return WriteWSFrame(c.Conn, opcode, payload, true)
}

// ReadFrame reads the next frame.
func (c *WSConn) ReadFrame() (WSFrame, error) { return ReadWSFrame(c.r) }

// Close sends a close frame, waits for the peer's close frame, and closes the connection.
func (c *WSConn) Close() error {
	err := WriteWSFrame(c.Conn, WSClose, []byte{0x03, 0xe8}, true)
	if err == nil {
		for {
			f, rerr := c.ReadFrame()
			if rerr != nil || f.Opcode == WSClose {
				break
			}
		}
	}
	if cerr := c.Conn.Close(); err == nil {
		err = cerr
	}
	return err
}

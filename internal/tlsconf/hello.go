package tlsconf

import (
	"fmt"
	"net"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/hashfn"
)

// captureSize is "tune.ssl.capture-buffer-size": the bytes of each
// ClientHello's lists kept for the ssl_fc_cipherlist_* and related fetches;
// 0 (HAProxy's default) captures nothing.
var captureSize atomic.Int32

// SetCaptureSize sets tune.ssl.capture-buffer-size for new connections.
func SetCaptureSize(n int) { captureSize.Store(int32(n)) }

// CaptureSize is the current tune.ssl.capture-buffer-size.
func CaptureSize() int { return int(captureSize.Load()) }

// Hello is what HAProxy 2.6 captures of a ClientHello: the cipher list,
// the extension types, the supported groups and the point formats, each cut
// where the running total passes the capture size, the XXH64 of the whole
// cipher list and the legacy version field.
type Hello struct {
	Ciphers, Extensions, Curves, PointFormats []byte
	CipherXXH64                               uint64
	Version                                   uint16
}

// ParseClientHello reads a handshake message (type, 3-byte length, body)
// as HAProxy's ssl_sock_parse_clienthello does, with its limits: nil when
// the message is cut before the cipher list; a malformed extension ends the
// capture with what was kept so far.
func ParseClientHello(msg []byte, size int) *Hello {
	if len(msg) < 4 || msg[0] != 1 {
		return nil
	}
	n := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if len(msg) < n+4 {
		return nil
	}
	m := msg[4 : 4+n]
	if len(m) < 2+32+1 {
		return nil
	}
	h := &Hello{Version: uint16(m[0])<<8 | uint16(m[1])}
	p := 2 + 32
	p += 1 + int(m[p]) // session id
	if p+2 > len(m) {
		return nil
	}
	cl := int(m[p])<<8 | int(m[p+1])
	p += 2
	if p+cl > len(m) {
		return nil
	}
	h.CipherXXH64 = hashfn.XXH64(string(m[p:p+cl]), 0)
	used := min(size, cl)
	h.Ciphers = append([]byte(nil), m[p:p+used]...)
	p += cl
	// Compression methods: HAProxy reads their length byte unchecked at
	// the end; here an absent one ends the capture.
	if p >= len(m) {
		return h
	}
	p += 1 + int(m[p])
	if p+2 > len(m) {
		return h
	}
	el := int(m[p])<<8 | int(m[p+1])
	p += 2
	if p+el > len(m) {
		return h
	}
	ext := m[p : p+el]
	var curves, formats []byte
	haveCurves, haveFormats := false, false
	// "q+4 < len": HAProxy's loop, which skips a last extension that has
	// no data (e.g. extended_master_secret sent last).
	for q := 0; q+4 < len(ext); {
		if size < used+2 {
			break
		}
		h.Extensions = append(h.Extensions, ext[q], ext[q+1])
		used += 2
		id := int(ext[q])<<8 | int(ext[q+1])
		l := int(ext[q+2])<<8 | int(ext[q+3])
		q += 4
		if q+l > len(ext) {
			return h
		}
		body := ext[q : q+l]
		switch id {
		case 10: // supported_groups
			if len(body) < 2 {
				return h
			}
			ll := int(body[0])<<8 | int(body[1])
			if 2+ll > len(body) {
				return h
			}
			curves, haveCurves = body[2:2+ll], true
		case 11: // ec_point_formats
			if len(body) < 1 {
				return h
			}
			ll := int(body[0])
			if 1+ll > len(body) {
				return h
			}
			formats, haveFormats = body[1:1+ll], true
		}
		q += l
	}
	if haveCurves {
		k := min(len(curves), max(size-used, 0))
		h.Curves = append([]byte{}, curves[:k]...)
		used += k
	}
	if haveFormats {
		k := min(len(formats), max(size-used, 0))
		h.PointFormats = append([]byte{}, formats[:k]...)
	}
	return h
}

// DropGREASE removes RFC 8701 GREASE values (0x?A?A) from a list of 16-bit
// values, as HAProxy's exclude_tls_grease; an odd last byte is kept.
func DropGREASE(b []byte) []byte {
	out := make([]byte, 0, len(b))
	i := 0
	for ; i+1 < len(b); i += 2 {
		if b[i] != b[i+1] || b[i]&0x0f != 0x0a {
			out = append(out, b[i], b[i+1])
		}
	}
	if i < len(b) {
		out = append(out, b[i])
	}
	return out
}

// maxHelloBytes bounds what a CaptureConn records: a ClientHello larger
// than this (with its record headers) is not captured.
const maxHelloBytes = 1 << 16

// CaptureConn records the bytes a TLS server reads until the first
// handshake message (the ClientHello) is complete, and the ServerHello's
// random from its writes, then only passes bytes through.
type CaptureConn struct {
	net.Conn
	buf  []byte
	done bool
	msg  []byte // the reassembled ClientHello once done
	// randomOnly: read the ClientHello's random and no further (no
	// capture buffer, no key log); clientRandom holds it.
	randomOnly   bool
	clientRandom []byte
	serverRandom []byte // the ServerHello's, recorded from the writes
}

// NewCaptureConn wraps c for a TLS server that captures the ClientHello
// (and both randoms).
func NewCaptureConn(c net.Conn) *CaptureConn { return &CaptureConn{Conn: c} }

// NewRandomsConn wraps c for a TLS server that records the randoms only
// (ssl_fc_client_random, ssl_fc_server_random): the first 43 bytes read
// and the ServerHello's record.
func NewRandomsConn(c net.Conn) *CaptureConn { return &CaptureConn{Conn: c, randomOnly: true} }

// randomEnd: record header (5), handshake header (4), version (2), random.
const randomEnd = 5 + 4 + 2 + 32

// NetConn is the wrapped connection.
func (c *CaptureConn) NetConn() net.Conn { return c.Conn }

func (c *CaptureConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.done && n > 0 {
		c.buf = append(c.buf, b[:n]...)
		if c.randomOnly {
			if len(c.buf) >= randomEnd {
				if c.buf[0] == 22 && c.buf[5] == 1 {
					c.clientRandom = append([]byte(nil), c.buf[11:randomEnd]...)
				}
				c.done, c.buf = true, nil
			}
			return n, err
		}
		c.msg, c.done = helloMessage(c.buf)
		if c.done || len(c.buf) > maxHelloBytes {
			c.done, c.buf = true, nil
		}
	}
	return n, err
}

// helloRetryRandom marks a HelloRetryRequest (RFC 8446 4.1.3), whose random
// is not the connection's.
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// Write records the ServerHello's random: Go's TLS server writes whole
// records, the ServerHello first in its record.
func (c *CaptureConn) Write(b []byte) (int, error) {
	if c.serverRandom == nil {
		c.serverRandom, _ = helloRandom(b, 2)
	}
	return c.Conn.Write(b)
}

// Randoms are the ClientHello's and the ServerHello's randoms, nil when
// not seen.
func (c *CaptureConn) Randoms() (client, server []byte) {
	client = c.clientRandom
	if len(c.msg) >= 4+2+32 {
		client = append([]byte(nil), c.msg[6:38]...)
	}
	return client, c.serverRandom
}

// Release drops the recorded ClientHello once Hello and Randoms have been
// taken: the conn lives as long as the TLS connection.
func (c *CaptureConn) Release() { c.msg, c.buf, c.done = nil, nil, true }

// Hello is the captured ClientHello, cut to size; nil when none was read.
func (c *CaptureConn) Hello(size int) *Hello {
	if c.msg == nil || size <= 0 {
		return nil
	}
	return ParseClientHello(c.msg, size)
}

// helloMessage reassembles the first handshake message from TLS records:
// done once it is complete, or once a record shows there will be none.
func helloMessage(b []byte) (msg []byte, done bool) {
	var hs []byte
	for len(b) >= 5 {
		if b[0] != 22 { // not a handshake record
			return nil, true
		}
		l := int(b[3])<<8 | int(b[4])
		if len(b) < 5+l {
			break
		}
		hs = append(hs, b[5:5+l]...)
		b = b[5+l:]
		if len(hs) >= 4 {
			n := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
			if len(hs) >= n {
				return hs[:n], true
			}
		}
	}
	return nil, false
}

// CipherListString names each 2-byte suite of a captured cipher list as
// HAProxy's ssl_fc_cipherlist_str: OpenSSL's name, or UNKNOWN(xxxx); a
// trailing odd byte is dropped.
func CipherListString(b []byte) string {
	var s []byte
	for i := 0; i+1 < len(b); i += 2 {
		if i > 0 {
			s = append(s, ',')
		}
		id := uint16(b[i])<<8 | uint16(b[i+1])
		if n, ok := openSSLCipherNames[id]; ok {
			s = append(s, n...)
		} else {
			s = fmt.Appendf(s, "UNKNOWN(%04x)", id)
		}
	}
	return string(s)
}

// Package proxyproto writes and reads the PROXY protocol (HAProxy's
// proxy-protocol.txt): version 1 (text) and version 2 (binary, with TLVs).
//
// Writing appends to a caller's buffer and does not allocate when the buffer
// has room. Reading is strict: a header must come first, whole, within a
// timeout; anything else is rejected with one of HAProxy's own messages.
package proxyproto

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Signature is the 12-byte v2 signature.
const Signature = "\r\n\r\n\x00\r\nQUIT\n"

// TLV types of proxy-protocol.txt section 2.2.
const (
	TypeALPN      = 0x01
	TypeAuthority = 0x02
	TypeCRC32C    = 0x03
	TypeNoop      = 0x04
	TypeUniqueID  = 0x05
	TypeSSL       = 0x20
	TypeNetNS     = 0x30

	SubtypeSSLVersion = 0x21
	SubtypeSSLCN      = 0x22
	SubtypeSSLCipher  = 0x23
	SubtypeSSLSigAlg  = 0x24
	SubtypeSSLKeyAlg  = 0x25

	ClientSSL      = 0x01
	ClientCertConn = 0x02
	ClientCertSess = 0x04
)

// MaxV1Len is the longest v1 header, CRLF included.
const MaxV1Len = 107

// Options chooses the TLVs of a v2 header ("proxy-v2-options").
type Options struct {
	ALPN      string // sent when not empty, as HAProxy always does
	Authority bool   // "authority": AuthorityValue (the SNI)
	SSL       bool   // "ssl": the PP2_TYPE_SSL TLV
	UniqueID  bool   // "unique-id": UniqueIDValue

	AuthorityValue string
	UniqueIDValue  string
	// The client connection's TLS facts, for the SSL TLV. ClientTLS false
	// sends the TLV with client=0, as HAProxy does for a connection it did
	// not decipher.
	ClientTLS  bool
	TLSVersion string // e.g. "TLSv1.3"
}

// ParseOptions maps "proxy-v2-options" words to Options flags. Unknown words
// (cert-cn, ssl-cipher, ...) are reported so the caller can refuse them.
func ParseOptions(words []string) (o Options, unknown []string) {
	for _, w := range words {
		switch w {
		case "authority":
			o.Authority = true
		case "ssl":
			o.SSL = true
		case "unique-id":
			o.UniqueID = true
		default:
			unknown = append(unknown, w)
		}
	}
	return o, unknown
}

// AppendV1 appends a v1 header for a TCP connection from src to dst. Mixed
// families are written as TCP6 with the IPv4 address mapped, as HAProxy
// does; invalid addresses give "PROXY UNKNOWN".
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	fam := "TCP4 "
	if !s.Is4() || !d.Is4() {
		fam = "TCP6 "
		s, d = as16(s), as16(d)
	}
	b = append(b, "PROXY "...)
	b = append(b, fam...)
	b = s.AppendTo(b)
	b = append(b, ' ')
	b = d.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, '\r', '\n')
}

func as16(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a
}

// AppendV2 appends a v2 PROXY header (command PROXY, stream transport) with
// the TLVs o selects, in HAProxy's order: ALPN, authority, unique-id, SSL.
// Invalid addresses give a LOCAL header with no address, as HAProxy sends
// for health checks.
func AppendV2(b []byte, src, dst netip.AddrPort, o *Options) []byte {
	start := len(b)
	b = append(b, Signature...)
	if !src.IsValid() || !dst.IsValid() {
		b = append(b, 0x20, 0x00, 0, 0)
	} else {
		s, d := src.Addr().Unmap(), dst.Addr().Unmap()
		if s.Is4() && d.Is4() {
			b = append(b, 0x21, 0x11, 0, 0)
			a4, d4 := s.As4(), d.As4()
			b = append(b, a4[:]...)
			b = append(b, d4[:]...)
		} else {
			b = append(b, 0x21, 0x21, 0, 0)
			a16, d16 := s.As16(), d.As16()
			b = append(b, a16[:]...)
			b = append(b, d16[:]...)
		}
		b = binary.BigEndian.AppendUint16(b, src.Port())
		b = binary.BigEndian.AppendUint16(b, dst.Port())
	}
	if o != nil {
		if o.ALPN != "" {
			b = appendTLV(b, TypeALPN, o.ALPN)
		}
		if o.Authority && o.AuthorityValue != "" {
			b = appendTLV(b, TypeAuthority, o.AuthorityValue)
		}
		if o.UniqueID && o.UniqueIDValue != "" {
			b = appendTLV(b, TypeUniqueID, o.UniqueIDValue)
		}
		if o.SSL {
			b = appendSSL(b, o)
		}
	}
	binary.BigEndian.PutUint16(b[start+14:], uint16(len(b)-start-16))
	return b
}

func appendTLV(b []byte, typ byte, v string) []byte {
	if len(v) > 0xffff-3 {
		v = v[:0xffff-3]
	}
	b = append(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// appendSSL writes PP2_TYPE_SSL: client flags, verify (0: verified or no
// certificate), then the version sub-TLV for a TLS client.
func appendSSL(b []byte, o *Options) []byte {
	at := len(b)
	b = append(b, TypeSSL, 0, 0, 0, 0, 0, 0, 0)
	if o.ClientTLS {
		b[at+3] = ClientSSL
		if o.TLSVersion != "" {
			b = appendTLV(b, SubtypeSSLVersion, o.TLSVersion)
		}
	}
	binary.BigEndian.PutUint16(b[at+1:], uint16(len(b)-at-3))
	return b
}

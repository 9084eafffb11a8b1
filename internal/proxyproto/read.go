package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"net/netip"
	"os"
	"time"
)

// Errors ReadHeader and Parse return, worded as HAProxy logs them.
var (
	ErrNotHeader = errors.New("Received something which does not look like a PROXY protocol header")
	ErrBadHeader = errors.New("Received an invalid PROXY protocol header")
	ErrBadProto  = errors.New("Received an unhandled protocol in the PROXY protocol header")
	ErrTruncated = errors.New("Truncated PROXY protocol header received")
	ErrEmpty     = errors.New("Connection closed while waiting for PROXY protocol header")
	ErrAbort     = errors.New("Connection error while waiting for PROXY protocol header")
	ErrTimeout   = errors.New("Timeout while waiting for PROXY protocol header")

	// ErrShort is Parse's answer for a header that is not complete yet.
	ErrShort = errors.New("proxyproto: incomplete header")
)

// MaxHeaderLen bounds what ReadHeader accepts (HAProxy: one buffer).
const MaxHeaderLen = 16384

// Header is a received PROXY header.
type Header struct {
	Version int  // 1 or 2
	Local   bool // v1 UNKNOWN, v2 LOCAL or UNSPEC: keep the connection's own addresses
	Src     netip.AddrPort
	Dst     netip.AddrPort
	TLVs    []TLV // v2 only; values alias the read buffer
}

// TLV is one v2 type-length-value.
type TLV struct {
	Type  byte
	Value []byte
}

// TLV returns the value of the first TLV of type typ.
func (h *Header) TLV(typ byte) ([]byte, bool) {
	for _, t := range h.TLVs {
		if t.Type == typ {
			return t.Value, true
		}
	}
	return nil, false
}

// Authority returns the PP2_TYPE_AUTHORITY value (the client's SNI), "" if none.
func (h *Header) Authority() string {
	v, _ := h.TLV(TypeAuthority)
	return string(v)
}

// ReadHeader reads one PROXY header (v1 or v2) from c within timeout (0: no
// limit) and returns it with any bytes read past it, which belong to the
// stream and must be replayed. c's deadline is cleared on return.
func ReadHeader(c net.Conn, timeout time.Duration) (*Header, []byte, error) {
	if timeout > 0 {
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		defer c.SetReadDeadline(time.Time{})
	}
	buf := make([]byte, 0, 256)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			h, used, perr := Parse(buf)
			if perr == nil {
				return h, buf[used:], nil
			}
			if perr != ErrShort {
				return nil, nil, perr
			}
			if want := wantLen(buf); want > MaxHeaderLen {
				return nil, nil, ErrBadHeader
			} else if want > cap(buf) {
				nb := make([]byte, len(buf), want)
				copy(nb, buf)
				buf = nb
			}
		}
		if err != nil {
			return nil, nil, readErr(err, len(buf))
		}
	}
}

func readErr(err error, got int) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, io.EOF) && got == 0:
		return ErrEmpty
	case errors.Is(err, io.EOF):
		return ErrTruncated
	}
	return ErrAbort
}

// wantLen is how many bytes the header in b needs in all, as far as known.
func wantLen(b []byte) int {
	if len(b) >= 16 && b[0] == '\r' {
		return 16 + int(binary.BigEndian.Uint16(b[14:16]))
	}
	return MaxV1Len
}

// Parse parses the header at the start of b: it returns the header and its
// length, ErrShort when b is a valid beginning of a header, or one of the
// errors above.
func Parse(b []byte) (*Header, int, error) {
	if len(b) == 0 {
		return nil, 0, ErrShort
	}
	if b[0] == '\r' {
		return parseV2(b)
	}
	return parseV1(b)
}

func hasPrefix(b []byte, p string) bool {
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

func parseV1(b []byte) (*Header, int, error) {
	if !hasPrefix(b, "PROXY ") {
		return nil, 0, ErrNotHeader
	}
	end := bytes.Index(b[:min(len(b), MaxV1Len)], []byte("\r\n"))
	if end < 0 {
		if len(b) >= MaxV1Len || bytes.IndexByte(b, '\n') >= 0 {
			return nil, 0, ErrBadHeader
		}
		return nil, 0, ErrShort
	}
	line := b[len("PROXY "):end]
	f := bytes.Split(line, []byte{' '})
	h := &Header{Version: 1}
	switch string(f[0]) {
	case "UNKNOWN":
		h.Local = true
		return h, end + 2, nil
	case "TCP4", "TCP6":
	default:
		return nil, 0, ErrBadProto
	}
	if len(f) != 5 {
		return nil, 0, ErrBadHeader
	}
	v6 := f[0][3] == '6'
	src, ok1 := v1Addr(f[1], f[3], v6)
	dst, ok2 := v1Addr(f[2], f[4], v6)
	if !ok1 || !ok2 {
		return nil, 0, ErrBadHeader
	}
	h.Src, h.Dst = src, dst
	return h, end + 2, nil
}

func v1Addr(ip, port []byte, v6 bool) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(string(ip))
	if err != nil || a.Zone() != "" || a.Is4() == v6 {
		return netip.AddrPort{}, false
	}
	if len(port) == 0 || len(port) > 5 || (port[0] == '0' && len(port) > 1) {
		return netip.AddrPort{}, false
	}
	p := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return netip.AddrPort{}, false
		}
		p = p*10 + int(c-'0')
	}
	if p > 0xffff {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), true
}

func parseV2(b []byte) (*Header, int, error) {
	if !hasPrefix(b, Signature) {
		return nil, 0, ErrNotHeader
	}
	if len(b) < 16 {
		return nil, 0, ErrShort
	}
	verCmd, fam := b[12], b[13]
	n := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if verCmd>>4 != 2 || verCmd&0xf > 1 {
		return nil, 0, ErrBadHeader
	}
	if len(b) < n {
		return nil, 0, ErrShort
	}
	body := b[16:n]
	h := &Header{Version: 2, Local: verCmd&0xf == 0}
	var alen int
	switch fam {
	case 0x00:
		h.Local = true
	case 0x11:
		alen = 12
	case 0x21:
		alen = 36
	default:
		if !h.Local {
			return nil, 0, ErrBadProto
		}
		alen = map[byte]int{0x12: 12, 0x22: 36, 0x31: 216, 0x32: 216}[fam]
	}
	if len(body) < alen {
		return nil, 0, ErrBadHeader
	}
	if !h.Local {
		switch alen {
		case 12:
			h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:]))
			h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:]))
		case 36:
			h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])).Unmap(), binary.BigEndian.Uint16(body[32:]))
			h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])).Unmap(), binary.BigEndian.Uint16(body[34:]))
		}
	}
	tlvs, crcAt, err := parseTLVs(body[alen:], 16+alen)
	if err != nil {
		return nil, 0, err
	}
	h.TLVs = tlvs
	if crcAt >= 0 && !crcOK(b[:n], crcAt) {
		return nil, 0, ErrBadHeader
	}
	return h, n, nil
}

// parseTLVs splits p (at offset base of the header) into TLVs and returns
// the offset of a CRC32C value, -1 when there is none.
func parseTLVs(p []byte, base int) ([]TLV, int, error) {
	var out []TLV
	crcAt := -1
	for off := 0; off < len(p); {
		if len(p)-off < 3 {
			return nil, -1, ErrBadHeader
		}
		typ, l := p[off], int(binary.BigEndian.Uint16(p[off+1:off+3]))
		v := off + 3
		if v+l > len(p) {
			return nil, -1, ErrBadHeader
		}
		if typ == TypeCRC32C {
			if l != 4 || crcAt >= 0 {
				return nil, -1, ErrBadHeader
			}
			crcAt = base + v
		}
		out = append(out, TLV{Type: typ, Value: p[v : v+l : v+l]})
		off = v + l
	}
	return out, crcAt, nil
}

// crcOK checks PP2_TYPE_CRC32C: the Castagnoli checksum of the whole header
// with the checksum field zeroed.
func crcOK(hdr []byte, at int) bool {
	want := binary.BigEndian.Uint32(hdr[at:])
	var zero [4]byte
	tab := crc32.MakeTable(crc32.Castagnoli)
	c := crc32.Update(0, tab, hdr[:at])
	c = crc32.Update(c, tab, zero[:])
	c = crc32.Update(c, tab, hdr[at+4:])
	return c == want
}

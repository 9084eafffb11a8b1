package acl

// TLS record and handshake parsing for the L4 fetches (req.ssl_*): bounds
// checked everywhere, never panics, allocation-free (a ClientHello split
// across records is reassembled into a reusable scratch buffer).

type helloStatus uint8

const (
	hOK    helloStatus = iota
	hShort             // looks like TLS so far; more bytes are needed
	hBad               // not a TLS handshake
)

const (
	recHandshake  = 0x16
	maxRecordLen  = 1<<14 + 2048
	maxHandshake  = 1 << 17 // far above any real ClientHello
	hsClientHello = 1
	extServerName = 0
	extALPN       = 16
	sniHostName   = 0
)

// handshakeMsg returns the type and body of the first handshake message in
// the TLS records at the start of p, reassembling it into scratch when it
// spans several records. The returned scratch is the (possibly grown) buffer.
func handshakeMsg(p, scratch []byte) (typ byte, body []byte, buf []byte, st helloStatus) {
	buf = scratch[:0]
	gather := false
	for off := 0; ; {
		if len(p)-off < 5 {
			if len(p) > off && p[off] != recHandshake {
				return 0, nil, buf, hBad
			}
			return 0, nil, buf, hShort
		}
		if p[off] != recHandshake || p[off+1] != 3 {
			return 0, nil, buf, hBad
		}
		rlen := int(p[off+3])<<8 | int(p[off+4])
		if rlen == 0 || rlen > maxRecordLen {
			return 0, nil, buf, hBad
		}
		start, end, partial := off+5, off+5+rlen, false
		if end > len(p) {
			end, partial = len(p), true
		}
		frag := p[start:end]
		if !gather && len(frag) >= 4 {
			// fast path: the whole message sits in the first record
			l := int(frag[1])<<16 | int(frag[2])<<8 | int(frag[3])
			if l > maxHandshake {
				return 0, nil, buf, hBad
			}
			if 4+l <= len(frag) {
				return frag[0], frag[4 : 4+l], buf, hOK
			}
			if 4+l > rlen {
				gather = true // continues in the next records
			} else if partial {
				return 0, nil, buf, hShort
			}
		} else {
			gather = true
		}
		if gather {
			buf = append(buf, frag...)
			if len(buf) >= 4 {
				l := int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3])
				if l > maxHandshake {
					return 0, nil, buf, hBad
				}
				if 4+l <= len(buf) {
					return buf[0], buf[4 : 4+l], buf, hOK
				}
			}
		}
		if partial {
			return 0, nil, buf, hShort
		}
		off = end
	}
}

// clientHello holds what the fetches need from a ClientHello; the slices
// alias the message.
type clientHello struct {
	vers   uint16
	sni    []byte
	hasSNI bool
	alpn   []byte // the ProtocolNameList contents (length-prefixed names)
}

// parseClientHello parses a ClientHello body (after the handshake header).
func parseClientHello(b []byte) (clientHello, bool) {
	var h clientHello
	if len(b) < 2+32+1 {
		return h, false
	}
	h.vers = uint16(b[0])<<8 | uint16(b[1])
	off := 2 + 32
	off += 1 + int(b[off]) // session id
	if off+2 > len(b) {
		return h, false
	}
	off += 2 + (int(b[off])<<8 | int(b[off+1])) // cipher suites
	if off+1 > len(b) {
		return h, false
	}
	off += 1 + int(b[off]) // compression methods
	if off > len(b) {
		return h, false
	}
	if off == len(b) {
		return h, true // no extensions
	}
	if off+2 > len(b) {
		return h, false
	}
	elen := int(b[off])<<8 | int(b[off+1])
	off += 2
	if off+elen > len(b) {
		return h, false
	}
	exts := b[off : off+elen]
	for len(exts) >= 4 {
		typ := int(exts[0])<<8 | int(exts[1])
		l := int(exts[2])<<8 | int(exts[3])
		if 4+l > len(exts) {
			return h, false
		}
		data := exts[4 : 4+l]
		exts = exts[4+l:]
		switch typ {
		case extServerName:
			if len(data) < 2 {
				return h, false
			}
			list := data[2:]
			if n := int(data[0])<<8 | int(data[1]); n < len(list) {
				list = list[:n]
			}
			for len(list) >= 3 {
				nt, nl := list[0], int(list[1])<<8|int(list[2])
				if 3+nl > len(list) {
					return h, false
				}
				if nt == sniHostName && !h.hasSNI {
					h.sni, h.hasSNI = list[3:3+nl], true
				}
				list = list[3+nl:]
			}
		case extALPN:
			if len(data) < 2 {
				return h, false
			}
			list := data[2:]
			if n := int(data[0])<<8 | int(data[1]); n < len(list) {
				list = list[:n]
			}
			h.alpn = list
		}
	}
	return h, true
}

// nextALPN returns the protocol name at offset i of an ALPN list and the
// offset of the next one.
func nextALPN(list []byte, i int) ([]byte, int, bool) {
	if i < 0 || i >= len(list) {
		return nil, i, false
	}
	l := int(list[i])
	if i+1+l > len(list) || l == 0 {
		return nil, len(list), false
	}
	return list[i+1 : i+1+l], i + 1 + l, true
}

// sslVersion returns the client's protocol version as HAProxy's req.ssl_ver:
// major<<16 | minor, from the ClientHello (SSLv3/TLS) or an SSLv2 hello.
func sslVersion(p []byte) (int64, helloStatus) {
	if len(p) == 0 {
		return 0, hShort
	}
	if (p[0] >= 0x14 && p[0] <= 0x17) || p[0] == 0xFF {
		if len(p) < 11 {
			return 0, hShort
		}
		if int(p[1])<<16|int(p[2]) < 0x30000 {
			return 0, hBad
		}
		mlen := int(p[3])<<8 | int(p[4])
		if mlen < 6 || mlen > maxRecordLen {
			return 0, hBad
		}
		if len(p)-5 < mlen {
			return 0, hShort
		}
		return int64(p[9])<<16 | int64(p[10]), hOK
	}
	// SSLv2 hello
	var rlen, plen int
	d := p
	if d[0]&0x80 != 0 {
		if len(d) < 3 {
			return 0, hShort
		}
		rlen = int(d[0]&0x7F)<<8 | int(d[1])
		d = d[2:]
	} else {
		if len(d) < 4 {
			return 0, hShort
		}
		rlen = int(d[0]&0x3F)<<8 | int(d[1])
		plen = int(d[2])
		d = d[3:]
	}
	if d[0] != 0x01 {
		return 0, hBad
	}
	d = d[1:]
	if len(d) < 8 {
		return 0, hShort
	}
	vers := int64(d[0])<<16 | int64(d[1])
	cilen := int(d[2])<<8 | int(d[3])
	silen := int(d[4])<<8 | int(d[5])
	chlen := int(d[6])<<8 | int(d[7])
	d = d[8:]
	if cilen%3 != 0 || (silen != 0 && silen != 16) || chlen < 16 || chlen > 32 || rlen != 9+cilen+silen+chlen {
		return 0, hBad
	}
	if len(d) < cilen+silen+chlen+plen {
		return 0, hShort
	}
	return vers, hOK
}

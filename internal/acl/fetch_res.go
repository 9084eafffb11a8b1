package acl

import (
	"errors"
	"strconv"
)

// resFetches read the server's first bytes held by tcp-response content
// inspection (Txn.ResPayload), as HAProxy's L6RES fetches read its
// response buffer; req.payload_lv is their request twin.
func resFetches() []fetchDef {
	return []fetchDef{
		{name: "res.len", out: tInt, need: NeedResPayload, fn: fetchResLen, doc: "bytes of the server's response received so far (tcp-response content)"},
		{name: "res.payload", args: "ii", out: tBin, need: NeedResPayload, fn: fetchResPayload, check: checkPayloadArgs,
			doc: "<len> bytes of the server's response at <offset> (len 0: to the end of the buffer)"},
		{name: "res.payload_lv", args: "iiS", out: tBin, need: NeedResPayload, fn: fetchResPayloadLV, check: checkPayloadLV,
			doc: "the block of the server's response whose length is the <len>-byte big-endian integer at <offset1>, starting after it or at <offset2> (+/-: relative to that)"},
		{name: "req.payload_lv", args: "iiS", out: tBin, need: NeedPayload, fn: fetchReqPayloadLV, check: checkPayloadLV,
			doc: "the block of the request payload whose length is the <len>-byte big-endian integer at <offset1>, starting after it or at <offset2> (+/-: relative to that)"},
		{name: "res.ssl_hello_type", out: tInt, need: NeedResPayload, fn: fetchResHelloType,
			doc: "the type of the TLS handshake message the server's response starts with (2: ServerHello), once it is complete"},
		{name: "rep_ssl_hello_type", out: tInt, need: NeedResPayload, fn: fetchResHelloType, doc: "alias of res.ssl_hello_type"},
	}
}

// payloadMax is HAProxy's global.tune.bufsize default: a block reaching
// past it can never be in the buffer, so it never matches (not a Miss).
const payloadMax = 16384

func fetchResLen(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return intSmp(int64(len(t.ResPayload))), cursor{}, payloadVal(t)
}

func fetchResPayload(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return payloadBlock(t, t.ResPayload, a.num[0], a.num[1])
}

// payloadBlock is req.payload / res.payload over p, as HAProxy's
// smp_fetch_payload: a block past the buffer's size never matches, one
// not received yet may still come.
func payloadBlock(t *Txn, p []byte, off, n int64) (sample, cursor, fres) {
	if n > payloadMax || off+n > payloadMax {
		return sample{}, cursor{}, fNone
	}
	if off+n > int64(len(p)) {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	if n == 0 {
		return sample{typ: tBin, s: view(p[off:])}, cursor{}, payloadVal(t)
	}
	return sample{typ: tBin, s: view(p[off : off+n])}, cursor{}, fVal
}

var errLVLength = errors.New("payload length must be > 0")

// checkPayloadLV validates payload_lv's arguments as HAProxy's
// val_payload_lv; the optional <offset2> stays a string whose sign says
// it is relative, its value goes to num[2].
func checkPayloadLV(a *fetchArgs) error {
	if a.num[0] < 0 {
		return errors.New("payload offset1 must be positive")
	}
	if a.num[1] <= 0 {
		return errLVLength
	}
	if a.num[1] > 4 {
		// The length is read into 32 bits, as HAProxy's unsigned int.
		return errors.New("payload length field must be at most 4 bytes")
	}
	if s := a.str[2]; s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errors.New("payload offset2 is not a number")
		}
		if a.num[0]+a.num[1]+v < 0 {
			return errors.New("payload offset2 too negative")
		}
		a.num[2] = v
	}
	return nil
}

func fetchResPayloadLV(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return payloadLV(t, t.ResPayload, a)
}

func fetchReqPayloadLV(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return payloadLV(t, t.Payload, a)
}

// payloadLV is HAProxy's smp_fetch_payload_lv over p.
func payloadLV(t *Txn, p []byte, a *fetchArgs) (sample, cursor, fres) {
	lenOff, lenSize := a.num[0], a.num[1]
	if lenOff+lenSize > int64(len(p)) {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	var size int64
	for _, b := range p[lenOff : lenOff+lenSize] {
		size = size<<8 | int64(b)
	}
	off := lenOff + lenSize
	if s := a.str[2]; s != "" {
		if s[0] == '+' || s[0] == '-' {
			off += a.num[2]
		} else {
			off = a.num[2]
		}
	}
	if size == 0 || size > payloadMax || off < 0 || off+size > payloadMax {
		return sample{}, cursor{}, fNone
	}
	if off+size > int64(len(p)) {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	return sample{typ: tBin, s: view(p[off : off+size])}, cursor{}, fVal
}

// fetchResHelloType is HAProxy's smp_fetch_ssl_hello_type on the
// response: an SSLv3+ record header (content type 20..23 or 255), then
// the handshake type once the whole message is there.
func fetchResHelloType(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	p := t.ResPayload
	if len(p) == 0 {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	if !(p[0] >= 0x14 && p[0] <= 0x17 || p[0] == 0xff) {
		return sample{}, cursor{}, fNone
	}
	if len(p) < 9 {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	if int(p[1])<<16+int(p[2]) < 0x30000 || int(p[3])<<8+int(p[4]) < 4 {
		return sample{}, cursor{}, fNone
	}
	hsLen := int(p[6])<<16 | int(p[7])<<8 | int(p[8])
	if len(p) < 9+hsLen {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	return intSmp(int64(p[5])), cursor{}, fVal
}

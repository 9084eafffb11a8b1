package proxy

import (
	"math/rand/v2"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/logging"
)

// RequestIDs is a frontend's request identity policy: every request
// leaves the edge with an X-Request-Id (what Envoy and Istio's access logs
// carry) and a W3C traceparent, so one request can be followed from the
// edge's log into the mesh's traces.
type RequestIDs struct {
	Format *logging.Format // unique-id-format; nil: a random UUID
	Header string          // unique-id-header; default X-Request-Id
	Trust  []netip.Prefix  // clients whose own ids are kept
}

const (
	requestIDHeader   = "X-Request-Id"
	traceparentHeader = "traceparent"
	tracestateHeader  = "tracestate"
)

func (r *RequestIDs) trusted(a netip.Addr) bool {
	for _, p := range r.Trust {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// assignRequestIDs runs before any rule: it keeps a trusted client's ids,
// otherwise removes them, and records the id for %ID and unique-id. The
// fields themselves are written by sendRequestIDs after the rules, where
// HAProxy adds its unique-id-header, so the rules see the request as the
// client sent it (req.hdr_cnt, req.hdrs count what HAProxy counts).
func (t *Txn) assignRequestIDs(r *RequestIDs) {
	h := &t.Req.Header
	trusted := r.trusted(t.sess.src.Addr())
	hdr := r.Header
	if hdr == "" {
		hdr = requestIDHeader
	}
	t.idHeader = hdr
	id := ""
	if trusted {
		id, _ = h.Get(hdr)
	} else if h.Has(hdr) {
		h.Del(hdr) // a client outside request-id-trust cannot choose it
	}
	if id == "" {
		if r.Format != nil {
			id = t.evalFormat(r.Format)
		} else {
			start := len(t.arena)
			t.arena = appendUUID(t.arena)
			id = unsafeString(t.arena[start:])
		}
		t.idSend = true
	}
	t.acl.UniqueID = id
	t.log.UniqueID = id

	tp, ok := h.Get(traceparentHeader)
	start := len(t.arena)
	if !trusted || !ok || !validTraceparent(tp) {
		if ok {
			h.Del(traceparentHeader)
			h.Del(tracestateHeader)
		}
		t.arena = appendTraceparent(t.arena, "", "01")
	} else {
		// The edge is a hop of the trace: same trace id, our own span id.
		t.arena = appendTraceparent(t.arena, tp[3:35], tp[53:55])
	}
	t.traceparent = unsafeString(t.arena[start:])
}

// sendRequestIDs writes the ids assignRequestIDs chose into the request
// for the server, after every rule. A rule that set the id field itself
// is left alone, as before the rules it could not be seen.
func (t *Txn) sendRequestIDs() {
	h := &t.Req.Header
	if t.idSend && !h.Has(t.idHeader) {
		h.Add(t.idHeader, t.acl.UniqueID)
	}
	if t.traceparent != "" {
		h.Set(traceparentHeader, t.traceparent)
	}
}

const hexDigits = "0123456789abcdef"

// putHex writes v's low 4*len(dst) bits into dst as lower-case hex. The
// ids are built in fixed arrays and appended once: appending nibble by
// nibble cost a few percent of plain's CPU per request (bench/profile.md).
func putHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// appendUUID appends a random version 4 UUID, the form Envoy generates.
func appendUUID(dst []byte) []byte {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^(0xf<<12) | 4<<12   // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var b [36]byte
	putHex(b[0:8], hi>>32)
	b[8] = '-'
	putHex(b[9:13], hi>>16)
	b[13] = '-'
	putHex(b[14:18], hi)
	b[18] = '-'
	putHex(b[19:23], lo>>48)
	b[23] = '-'
	putHex(b[24:36], lo)
	return append(dst, b[:]...)
}

// appendTraceparent appends "00-TRACEID-SPANID-FLAGS" with a new span id,
// and a new trace id when traceID is empty.
func appendTraceparent(dst []byte, traceID, flags string) []byte {
	var b [52]byte // "00-", 32 hex, '-', 16 hex: all but the flags
	b[0], b[1], b[2] = '0', '0', '-'
	if traceID == "" {
		putHex(b[3:19], rand.Uint64())
		putHex(b[19:35], rand.Uint64()|1) // never all zeros
	} else {
		copy(b[3:35], traceID)
	}
	b[35] = '-'
	putHex(b[36:52], rand.Uint64()|1)
	dst = append(dst, b[:]...)
	dst = append(dst, '-')
	return append(dst, flags...)
}

// validTraceparent checks the W3C Trace Context version 00 form: lower-case
// hex, trace and parent ids not all zeros.
func validTraceparent(s string) bool {
	if len(s) != 55 || s[0:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return false
	}
	zeroTrace, zeroSpan := true, true
	for i := 3; i < 55; i++ {
		if i == 35 || i == 52 {
			continue
		}
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
		if c != '0' {
			if i < 35 {
				zeroTrace = false
			} else if i < 52 {
				zeroSpan = false
			}
		}
	}
	return !zeroTrace && !zeroSpan
}

package http1

// Defaults follow HAProxy: a 16 KiB buffer (tune.bufsize), a head that must
// fit in it with room left for rewrites (tune.maxrewrite, 1 KiB), and at most
// 100 header fields (tune.http.maxhdr 101 counts the start line too).
const (
	DefaultBufSize      = 16384
	DefaultHeadReserve  = 1024
	DefaultMaxHeaders   = 100
	DefaultMaxURI       = 8192
	DefaultMaxChunkLine = 4096
)

// Limits bound what a Reader accepts. Zero fields take the defaults.
type Limits struct {
	// BufSize is the read buffer size; a message head must fit in it.
	BufSize int
	// MaxHeadBytes bounds the head (start line, fields, terminating empty
	// line); it is clamped to BufSize. Exceeding it answers 431 (414 when the
	// request line alone does not fit).
	MaxHeadBytes int
	// MaxHeaders bounds the number of fields in a head or trailer section:
	// more answers 400 (a head) or 431 (trailers), 502 in a response.
	// Negative admits no field at all (it stays negative: the checks are
	// len >= MaxHeaders, and 0 would mean the default again).
	MaxHeaders int
	// MaxURI bounds the request-target (414).
	MaxURI int
	// MaxChunkLine bounds a chunk-size line including extensions, so chunk
	// extensions cannot be used to make the proxy buffer without bound.
	MaxChunkLine int
	// AcceptInvalid is "option accept-invalid-http-request" for a reader
	// of requests, "option accept-invalid-http-response" for one of
	// responses: what HAProxy 2.6 then accepts in the request-target
	// ('#', bytes 0x80-0xff) and in field names (any byte but ':', CR and
	// LF). Framing stays strict (fields.go).
	AcceptInvalid bool
	// AcceptPayloadAnyMethod is the global
	// "h1-accept-payload-with-any-method": an HTTP/1.0 GET, HEAD or
	// DELETE request with a payload passes instead of being refused
	// with 413.
	AcceptPayloadAnyMethod bool
}

// DefaultLimits returns the HAProxy-like defaults.
func DefaultLimits() Limits { return Limits{}.normalized() }

func (l Limits) normalized() Limits {
	if l.BufSize <= 0 {
		l.BufSize = DefaultBufSize
	}
	if l.BufSize < 1024 {
		l.BufSize = 1024
	}
	if l.MaxHeadBytes <= 0 {
		l.MaxHeadBytes = l.BufSize - DefaultHeadReserve
		if l.MaxHeadBytes < l.BufSize/2 {
			l.MaxHeadBytes = l.BufSize / 2
		}
	}
	if l.MaxHeadBytes > l.BufSize {
		l.MaxHeadBytes = l.BufSize
	}
	if l.MaxHeaders == 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxURI <= 0 {
		l.MaxURI = DefaultMaxURI
	}
	if l.MaxURI > l.MaxHeadBytes {
		l.MaxURI = l.MaxHeadBytes
	}
	if l.MaxChunkLine <= 0 {
		l.MaxChunkLine = DefaultMaxChunkLine
	}
	if l.MaxChunkLine > l.BufSize {
		l.MaxChunkLine = l.BufSize
	}
	return l
}

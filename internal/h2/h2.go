// Package h2 is Gatehouse's server-side HTTP/2 connection engine (RFC 9113).
//
// It is built on golang.org/x/net/http2's Framer and hpack, not on
// http2.Server, so that the proxy owns stream scheduling, limits and the
// mapping to httpmsg. One goroutine reads frames (Serve), one writes queued
// control frames, and each accepted stream runs the Handler on its own
// goroutine; all frame writes are serialised by one mutex.
package h2

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// Config holds the limits, mapped from HAProxy's tune.h2.* keywords by the caller.
// Zero fields take the defaults noted.
type Config struct {
	MaxConcurrentStreams uint32 // advertised SETTINGS_MAX_CONCURRENT_STREAMS; default 100
	MaxHeaderListSize    uint32 // decoded header list bytes per request; advertised; default 64 KiB
	InitialWindowSize    uint32 // per-stream receive window we advertise; default 65535
	ConnWindowSize       uint32 // connection receive window; default 1 MiB
	MaxFrameSize         uint32 // advertised SETTINGS_MAX_FRAME_SIZE; default 16384
	HeaderTableSize      uint32 // HPACK decoder dynamic table size; default 4096
	// MaxHdr is tune.http.maxhdr (0: 101). HAProxy 2.6 decodes a header
	// block into a list of 2*maxhdr entries, pseudo-fields and an end
	// marker included: a request needing more is a connection error
	// (COMPRESSION_ERROR), as there.
	MaxHdr      int
	IdleTimeout time.Duration // no open stream and no frame for this long: GOAWAY(NO_ERROR), close; 0 none
	// SendTimeout bounds how long a write may wait ("timeout client"): on
	// the socket (a client that stopped reading) and for flow-control
	// window (a client that never opens it). The connection is closed
	// then; 0 waits forever.
	SendTimeout time.Duration
	// DrainWait bounds how long Shutdown waits for its PING to come back
	// before it refuses new streams; default DefaultDrainWait.
	DrainWait time.Duration
	Counters  *Counters // may be nil
}

func (c *Config) withDefaults() Config {
	var v Config
	if c != nil {
		v = *c
	}
	if v.MaxConcurrentStreams == 0 {
		v.MaxConcurrentStreams = 100
	}
	if v.MaxHeaderListSize == 0 {
		v.MaxHeaderListSize = 64 << 10
	}
	if v.InitialWindowSize == 0 {
		v.InitialWindowSize = 65535
	}
	if v.InitialWindowSize > maxWindow {
		v.InitialWindowSize = maxWindow
	}
	if v.ConnWindowSize == 0 {
		v.ConnWindowSize = 1 << 20
	}
	if v.ConnWindowSize < 65535 {
		v.ConnWindowSize = 65535 // the RFC's initial value; we can only grow it
	}
	if v.ConnWindowSize > maxWindow {
		v.ConnWindowSize = maxWindow
	}
	if v.MaxFrameSize < 16384 {
		v.MaxFrameSize = 16384
	}
	if v.MaxFrameSize > 1<<24-1 {
		v.MaxFrameSize = 1<<24 - 1
	}
	if v.MaxHdr <= 0 {
		v.MaxHdr = 101
	}
	if v.HeaderTableSize == 0 {
		v.HeaderTableSize = 4096
	}
	if v.DrainWait <= 0 {
		v.DrainWait = DefaultDrainWait
	}
	if v.Counters == nil {
		v.Counters = new(Counters) // so the hot path never checks for nil
	}
	return v
}

// Counters are connection and stream statistics, named after HAProxy's h2 stats module.
type Counters struct {
	HeadersRcvd   atomic.Uint64 // h2_headers_rcvd
	DataRcvd      atomic.Uint64 // h2_data_rcvd
	SettingsRcvd  atomic.Uint64 // h2_settings_rcvd
	RstStreamRcvd atomic.Uint64 // h2_rst_stream_rcvd
	GoawayRcvd    atomic.Uint64 // h2_goaway_rcvd

	ConnProtoErr atomic.Uint64 // h2_detected_conn_protocol_errors
	StrmProtoErr atomic.Uint64 // h2_detected_strm_protocol_errors

	RstStreamResp atomic.Uint64 // h2_rst_stream_resp (frames we sent)
	GoawayResp    atomic.Uint64 // h2_goaway_resp (frames we sent)

	OpenConns    atomic.Int64  // h2_open_connections
	OpenStreams  atomic.Int64  // h2_backend_open_streams
	TotalConns   atomic.Uint64 // h2_total_connections
	TotalStreams atomic.Uint64 // h2_backend_total_streams
}

// Handler serves one stream; it is called on its own goroutine and the stream
// ends when it returns. A handler that returns without ending the response
// (Close, or WriteHead with endStream) gets its stream reset with
// RST_STREAM(INTERNAL_ERROR): a proxy that lost its upstream mid-response must
// not let the client mistake a truncated body for a complete one.
type Handler func(st *Stream)

const (
	maxWindow = 1<<31 - 1
	// maxCtrlQueue bounds control replies (PING/SETTINGS ACKs, RST_STREAM)
	// waiting for the writer; a peer that provokes more without reading is
	// told to calm down.
	maxCtrlQueue = 1024
	// maxContinuations bounds CONTINUATION frames per header block; empty ones
	// cost the peer 9 bytes and us a wake-up each.
	maxContinuations = 128
	// glitch budget: peer-caused stream errors, refused streams, empty DATA frames.
	glitchBurst = 1000
	glitchRate  = 100 // per second
)

// Errors returned by Stream methods.
var (
	ErrConnClosed   = errors.New("h2: connection closed")
	ErrStreamClosed = errors.New("h2: stream already ended")
	ErrNoHead       = errors.New("h2: response head not written")
	errTooManyConts = errors.New("h2: header block too large or too many CONTINUATION frames")
)

// ResetError is returned by Stream methods once the stream was reset.
type ResetError struct {
	Code   http2.ErrCode
	Remote bool // reset by the peer (RST_STREAM received)
}

func (e ResetError) Error() string {
	if e.Remote {
		return "h2: stream reset by peer: " + e.Code.String()
	}
	return "h2: stream reset: " + e.Code.String()
}

// connError ends the connection with GOAWAY(code).
type connError struct {
	code   http2.ErrCode
	reason string
}

func (e connError) Error() string {
	return fmt.Sprintf("h2: connection error %v: %s", e.code, e.reason)
}

// streamError resets one stream with RST_STREAM(code).
type streamError struct {
	id     uint32
	code   http2.ErrCode
	reason string
}

func (e streamError) Error() string {
	return fmt.Sprintf("h2: stream %d error %v: %s", e.id, e.code, e.reason)
}

// bucket is a token bucket: burst events at once, refilled at rate per second.
type bucket struct {
	tokens, burst, rate float64
	last                time.Time
}

func newBucket(burst, rate float64) bucket { return bucket{tokens: burst, burst: burst, rate: rate} }

// take spends one token; false when the budget is exhausted.
func (b *bucket) take() bool {
	now := time.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

package logging

// TermState is the two-character session state at disconnection
// (configuration.txt section 8.5), logged by %ts and, followed by the two
// persistence-cookie characters, by %tsc. It is packed as cause<<8 | phase;
// the zero value logs as "--".
//
// The first character tells what ended the session:
//
//	C  the client aborted the session unexpectedly
//	S  the server aborted it or refused the connection
//	P  the proxy aborted it: connection limit, deny rule, invalid request or
//	   response, dangerous response blocked
//	L  the session was handled locally and never reached a server
//	   (stats page, redirect, http-request return)
//	R  a proxy resource was exhausted (memory, sockets, source ports)
//	I  an internal error was detected by the proxy (should never happen)
//	D  killed because the server was marked down (on-marked-down
//	   shutdown-sessions)
//	U  killed on a backup server because an active server came back up
//	K  actively killed by an administrator
//	c  the client-side timeout struck ("timeout client", "timeout http-request")
//	s  the server-side timeout struck ("timeout server", "timeout connect",
//	   "timeout queue")
//	-  normal completion
//
// The second character tells the phase the session was in:
//
//	R  waiting for a complete, valid request from the client (http only)
//	Q  waiting in a queue for a connection slot
//	C  waiting for the connection to the server to establish
//	H  waiting for complete, valid response headers (http only)
//	D  data phase
//	L  transmitting the last data to the client after the server finished
//	T  the request was tarpitted
//	-  normal completion after the end of data
//
// Common combinations and what causes them:
//
//	--  normal termination
//	CR  the client aborted before sending a full request (often a 400 or -1)
//	cR  "timeout http-request" struck before a full request arrived (408)
//	PR  the proxy blocked the request: invalid syntax (400) or deny (403)
//	LR  the request was answered locally: redirect, stats, return
//	CC  the client aborted before the server connection was established
//	SC  the server refused the connection (RST, ICMP unreachable); 503
//	sC  "timeout connect" struck before the connection completed; 503
//	RC  a local resource (source port, socket) was exhausted while connecting
//	PC  the process socket limit was reached while connecting
//	sQ  the request spent "timeout queue" in a queue; 503
//	CQ  the client aborted while queued
//	CH  the client aborted while waiting for the response headers
//	SH  the server aborted or sent an invalid response before complete
//	    headers; 502
//	sH  "timeout server" struck before the response headers; 504
//	PH  the proxy blocked an invalid or dangerous response; 502
//	CD  the client aborted during the data phase
//	cD  "timeout client" struck during the data phase
//	SD  the server connection died with an error during the data phase
//	sD  "timeout server" struck during the data phase
//	PT  the request was tarpitted and then answered with an error
//	CT  the client aborted while tarpitted
type TermState uint16

// Causes (first character).
const (
	CauseNone          byte = '-'
	CauseClientAbort   byte = 'C'
	CauseServerAbort   byte = 'S'
	CauseProxy         byte = 'P'
	CauseLocal         byte = 'L'
	CauseResource      byte = 'R'
	CauseInternal      byte = 'I'
	CauseServerDown    byte = 'D'
	CauseServerUp      byte = 'U'
	CauseKilled        byte = 'K'
	CauseClientTimeout byte = 'c'
	CauseServerTimeout byte = 's'
)

// Phases (second character).
const (
	PhaseNone    byte = '-'
	PhaseRequest byte = 'R'
	PhaseQueue   byte = 'Q'
	PhaseConnect byte = 'C'
	PhaseHeaders byte = 'H'
	PhaseData    byte = 'D'
	PhaseLast    byte = 'L'
	PhaseTarpit  byte = 'T'
)

// Term builds a TermState from a cause and a phase character.
func Term(cause, phase byte) TermState { return TermState(cause)<<8 | TermState(phase) }

// Named states for the situations the proxy reports most.
const (
	TermNormal            TermState = '-'<<8 | '-'
	TermClientAbortReq    TermState = 'C'<<8 | 'R' // client closed before a full request
	TermClientTimeoutReq  TermState = 'c'<<8 | 'R' // timeout http-request / client while reading the request (408)
	TermDenied            TermState = 'P'<<8 | 'R' // deny rule or invalid request (403 / 400)
	TermLocal             TermState = 'L'<<8 | 'R' // redirect, stats, http-request return
	TermTarpit            TermState = 'P'<<8 | 'T' // tarpitted, then answered with an error
	TermClientAbortConn   TermState = 'C'<<8 | 'C' // client closed while connecting to the server
	TermConnRefused       TermState = 'S'<<8 | 'C' // server refused the connection (503)
	TermConnTimeout       TermState = 's'<<8 | 'C' // timeout connect (503)
	TermResourceConn      TermState = 'R'<<8 | 'C' // local resource exhausted while connecting
	TermQueueTimeout      TermState = 's'<<8 | 'Q' // timeout queue (503)
	TermClientAbortQueue  TermState = 'C'<<8 | 'Q' // client closed while queued
	TermClientAbortHdrs   TermState = 'C'<<8 | 'H' // client closed while waiting for the response
	TermServerAbortHdrs   TermState = 'S'<<8 | 'H' // server closed or sent garbage before complete headers (502)
	TermServerTimeoutHdrs TermState = 's'<<8 | 'H' // timeout server before the response headers (504)
	TermBadResponse       TermState = 'P'<<8 | 'H' // response blocked by the proxy (502)
	TermClientAbortData   TermState = 'C'<<8 | 'D' // client closed during the data phase
	TermClientTimeoutData TermState = 'c'<<8 | 'D' // timeout client during the data phase
	TermServerAbortData   TermState = 'S'<<8 | 'D' // server connection died during the data phase
	TermServerTimeoutData TermState = 's'<<8 | 'D' // timeout server during the data phase
	TermKilledDown        TermState = 'D'<<8 | 'D' // killed because the server went down
	TermKilledAdmin       TermState = 'K'<<8 | 'D' // killed by an administrator
)

// ParseTermState converts a two-character state such as "SC". It returns
// false unless s is two known characters.
func ParseTermState(s string) (TermState, bool) {
	if len(s) != 2 || !validCause(s[0]) || !validPhase(s[1]) {
		return 0, false
	}
	return Term(s[0], s[1]), true
}

func validCause(b byte) bool {
	switch b {
	case '-', 'C', 'S', 'P', 'L', 'R', 'I', 'D', 'U', 'K', 'c', 's':
		return true
	}
	return false
}

func validPhase(b byte) bool {
	switch b {
	case '-', 'R', 'Q', 'C', 'H', 'D', 'L', 'T':
		return true
	}
	return false
}

// Cause returns the first character, '-' when unset.
func (t TermState) Cause() byte {
	if c := byte(t >> 8); c != 0 {
		return c
	}
	return '-'
}

// Phase returns the second character, '-' when unset.
func (t TermState) Phase() byte {
	if p := byte(t); p != 0 {
		return p
	}
	return '-'
}

// WithCause returns t with the first character replaced, keeping the phase.
func (t TermState) WithCause(cause byte) TermState { return Term(cause, t.Phase()) }

// WithPhase returns t with the second character replaced, keeping the cause.
func (t TermState) WithPhase(phase byte) TermState { return Term(t.Cause(), phase) }

// String returns the two characters as logged.
func (t TermState) String() string { return string([]byte{t.Cause(), t.Phase()}) }

// IsError reports whether the state is abnormal: anything but a normal or a
// locally handled termination (what "option log-separate-errors" and
// "option dontlog-normal" look at, together with retries and 5xx).
func (t TermState) IsError() bool {
	c := t.Cause()
	return c != '-' && c != 'L'
}

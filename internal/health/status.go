// Package health runs HAProxy-style active health checks (TCP connect, TLS
// handshake, HTTP, tcp-check rule sets) for upstream servers on their own
// goroutines and timers, counts rise/fall exactly as HAProxy 2.6 does,
// drives the servers' operational state, logs state changes with HAProxy's
// wording, and applies passive health ("observe") reported by the proxy.
//
// Checks never touch the data path: each check dials its own connection
// and closes it; nothing waits on a check.
package health

import "time"

// Status is a check result status, named as HAProxy's check_status column.
type Status uint8

// The order matters: HAProxy shows check_duration only from SOCKERR on
// (statuses after "checked") and check_code only for L7OK, L7OKC and L7STS.
const (
	StatusUNK Status = iota
	StatusINI
	StatusSOCKERR
	StatusL4OK
	StatusL4TOUT
	StatusL4CON
	StatusL6OK
	StatusL6TOUT
	StatusL6RSP
	StatusL7TOUT
	StatusL7RSP
	StatusL7OK
	StatusL7OKC
	StatusL7STS
	StatusHANA
	StatusCHECKED // an agent's answer without a health word
)

var statusInfo = [...]struct {
	name, desc string
	result     result
}{
	StatusUNK:     {"UNK", "Unknown", resNone},
	StatusINI:     {"INI", "Initializing", resNone},
	StatusSOCKERR: {"SOCKERR", "Socket error", resFailed},
	StatusL4OK:    {"L4OK", "Layer4 check passed", resPassed},
	StatusL4TOUT:  {"L4TOUT", "Layer4 timeout", resFailed},
	StatusL4CON:   {"L4CON", "Layer4 connection problem", resFailed},
	StatusL6OK:    {"L6OK", "Layer6 check passed", resPassed},
	StatusL6TOUT:  {"L6TOUT", "Layer6 timeout", resFailed},
	StatusL6RSP:   {"L6RSP", "Layer6 invalid response", resFailed},
	StatusL7TOUT:  {"L7TOUT", "Layer7 timeout", resFailed},
	StatusL7RSP:   {"L7RSP", "Layer7 invalid response", resFailed},
	StatusL7OK:    {"L7OK", "Layer7 check passed", resPassed},
	StatusL7OKC:   {"L7OKC", "Layer7 check conditionally passed", resCondPass},
	StatusL7STS:   {"L7STS", "Layer7 wrong status", resFailed},
	StatusHANA:    {"HANA", "Health analyze", resFailed},
	StatusCHECKED: {"CHECKED", "No status change", resNone},
}

// result is what a status means for the health counter.
type result uint8

const (
	resNone result = iota
	resPassed
	resCondPass // passed, but the server asks to stop taking new traffic (disable-on-404)
	resFailed
)

// String is the check_status name ("L7OK").
func (s Status) String() string {
	if int(s) < len(statusInfo) {
		return statusInfo[s].name
	}
	return "UNK"
}

// Description is HAProxy's check_desc text ("Layer7 check passed").
func (s Status) Description() string {
	if int(s) < len(statusInfo) {
		return statusInfo[s].desc
	}
	return "Unknown"
}

// HasCode reports whether HAProxy shows a layer 5-7 code for s.
func (s Status) HasCode() bool { return s >= StatusL7OK && s <= StatusL7STS }

// Checked reports whether s is the outcome of a check (it has a duration).
func (s Status) Checked() bool { return s >= StatusSOCKERR }

func (s Status) result() result {
	if int(s) < len(statusInfo) {
		return statusInfo[s].result
	}
	return resNone
}

// Result is the outcome of one check.
type Result struct {
	Status   Status
	Code     int           // HTTP status for L7 checks, 0 otherwise
	Duration time.Duration // -1 when unknown (passive health results)
	// Info is HAProxy's check "desc": the short explanation shown as
	// last_chk and as `info: "..."` in state-change logs ("Connection
	// refused", "Not Found"); empty when HAProxy has none.
	Info string
}

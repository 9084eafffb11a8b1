package health

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/upstream"
)

// verdict of one observed outcome for a layer.
type verdict uint8

const (
	ignore verdict = iota
	failure
	success
)

// analyze is HAProxy's analyze_statuses table: the text and what each
// outcome means for "observe layer4" and "observe layer7".
func analyze(o upstream.Outcome, status int) (text string, l4, l7 verdict) {
	switch o {
	case upstream.OutcomeL4OK:
		return "L4 successful connection", success, ignore
	case upstream.OutcomeL4Err:
		return "L4 unsuccessful connection", failure, failure
	case upstream.OutcomeHTTP:
		// As http_ana.c: 1xx-4xx, 501 and 505 are the server working.
		if status >= 100 && (status < 500 || status == 501 || status == 505) {
			return "Correct http response", ignore, success
		}
		return "Wrong http response", ignore, failure
	case upstream.OutcomeHTTPInvalid:
		return "Invalid http response", ignore, failure
	case upstream.OutcomeReadError:
		return "Read error (http)", ignore, failure
	case upstream.OutcomeReadTimeout:
		return "Read timeout (http)", ignore, failure
	case upstream.OutcomeBrokenPipe:
		return "Close from server (http)", ignore, failure
	}
	return "Unknown", ignore, ignore
}

// Observe takes an outcome of live traffic ("observe layer4|layer7"). A
// success resets the error count; error-limit consecutive errors trigger
// on-error, as HAProxy's check_health_analyze. The data path pays a switch
// and an atomic add.
func (c *Checker) Observe(o upstream.Outcome, status int) {
	if c.o.Observe == "" {
		return
	}
	text, l4, l7 := analyze(o, status)
	v := l4
	if c.o.Observe == "layer7" {
		v = l7
	}
	switch v {
	case success:
		if c.consec.Load() != 0 {
			c.consec.Store(0)
		}
		return
	case ignore:
		return
	}
	n := c.consec.Add(1)
	if int(n) != c.o.ErrorLimit {
		return // below the limit, or another goroutine is already acting on it
	}
	c.onError(int(n), text)
}

func (c *Checker) onError(n int, text string) {
	res := Result{Status: StatusHANA, Duration: -1,
		Info: fmt.Sprintf("Detected %d consecutive errors, last one was: %s", n, text)}
	switch c.o.OnError {
	case "fastinter":
		// Only the earlier check below.
	case "sudden-death":
		// A pre-fatal failed check: the next failure takes it down.
		c.mu.Lock()
		h := c.health
		c.mu.Unlock()
		if h > c.rise {
			h = c.rise + 1
		}
		c.apply(res, h)
	case "mark-down":
		c.apply(res, c.rise)
	default: // fail-check
		c.apply(res, -1)
	}
	c.consec.Store(0)
	c.hanaFail.Add(1)
	if c.o.FastInter > 0 {
		select {
		case c.kick <- c.o.FastInter:
		default:
		}
	}
}

package runtimeapi

import (
	"bufio"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// RateLimitTarget is a Target whose process-wide rate limits change at
// run time ("set rate-limit").
type RateLimitTarget interface {
	// SetRateLimit sets a limit (0: none): per second, or bytes per
	// second for the compression limit.
	SetRateLimit(l ratelimit.Limit, v uint64)
}

func rateLimitCommands() []command {
	return []command{
		{[]string{"set", "rate-limit"}, "set rate-limit <setting> <value>        : change a rate limiting value", LevelAdmin, cmdSetRateLimit},
	}
}

// cmdSetRateLimit is HAProxy's "set rate-limit connections|sessions|
// ssl-sessions|http-compression global <value>"; the compression value is
// in kB/s, kept in bytes.
func cmdSetRateLimit(ss *session, w *bufio.Writer, args []string) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	mul := uint64(1)
	var l ratelimit.Limit
	switch {
	case arg(2) == "connections" && arg(3) == "global":
		l = ratelimit.ConnLimit
	case arg(2) == "sessions" && arg(3) == "global":
		l = ratelimit.SessLimit
	case arg(2) == "ssl-sessions" && arg(3) == "global":
		l = ratelimit.SSLLimit
	case arg(2) == "http-compression" && arg(3) == "global":
		l, mul = ratelimit.CompLimit, 1024
	default:
		w.WriteString("'set rate-limit' only supports :\n" +
			"   - 'connections global' to set the per-process maximum connection rate\n" +
			"   - 'sessions global' to set the per-process maximum session rate\n" +
			"   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n" +
			"   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n")
		return
	}
	if arg(4) == "" {
		w.WriteString("Expects an integer value.\n")
		return
	}
	v := atoiPrefix(arg(4))
	if v < 0 {
		w.WriteString("Value out of range.\n")
		return
	}
	rt, ok := ss.target.(RateLimitTarget)
	if !ok {
		w.WriteString("Rate limits cannot be changed on this process.\n")
		return
	}
	rt.SetRateLimit(l, uint64(v)*mul)
}

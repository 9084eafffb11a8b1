package cfgparse

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func timeoutKeywords() []keyword {
	return []keyword{
		{name: "timeout", where: wProxy, syntax: "timeout <name> <time>",
			desc: "Set one of the timeouts below. Times are in milliseconds unless a unit among us, ms, s, m, h, d is given.",
			sub:  timeoutTable, subUnimpl: []string{"client-hs"}},
	}
}

func timeoutTable() []keyword {
	t := func(name string, w where, desc string, field func(*config.Timeouts) *time.Duration) keyword {
		return keyword{name: name, where: w, capWarn: true, syntax: "timeout " + name + " <time>", desc: desc, parse: parseTimeout(field)}
	}
	return []keyword{
		t("client", wFEOnly, "Maximum inactivity time on the client side.", func(t *config.Timeouts) *time.Duration { return &t.Client }),
		t("server", wBEOnly, "Maximum inactivity time on the server side.", func(t *config.Timeouts) *time.Duration { return &t.Server }),
		t("connect", wBEOnly, "Maximum time to wait for a connection to a server to succeed.", func(t *config.Timeouts) *time.Duration { return &t.Connect }),
		t("http-request", wProxy, "Maximum time to wait for a complete HTTP request.", func(t *config.Timeouts) *time.Duration { return &t.HTTPRequest }),
		t("http-keep-alive", wProxy, "Maximum time to wait for a new HTTP request on a kept-alive connection.", func(t *config.Timeouts) *time.Duration { return &t.HTTPKeepAlive }),
		t("queue", wBEOnly, "Maximum time to wait in the queue for a connection slot.", func(t *config.Timeouts) *time.Duration { return &t.Queue }),
		t("tunnel", wBEOnly, "Maximum inactivity time in a tunnel (WebSocket, CONNECT, tcp mode after the handshake).", func(t *config.Timeouts) *time.Duration { return &t.Tunnel }),
		t("client-fin", wFEOnly, "Inactivity time on the client side once Gatehouse has shut it for writing (the server ended its direction of a tunnel): it replaces 'timeout client' (or 'timeout tunnel') from then on, so clients that never close do not linger.", func(t *config.Timeouts) *time.Duration { return &t.ClientFin }),
		t("server-fin", wBEOnly, "Inactivity time on the server side once Gatehouse has shut it for writing (the client ended its direction of a tunnel): it replaces 'timeout server' (or 'timeout tunnel') from then on.", func(t *config.Timeouts) *time.Duration { return &t.ServerFin }),
		t("tarpit", wProxy, "How long 'http-request tarpit' holds a request before its answer is sent ('timeout connect' when unset, as in HAProxy).", func(t *config.Timeouts) *time.Duration { return &t.Tarpit }),
		t("check", wBEOnly, "Additional read timeout for health checks, once connected.", func(t *config.Timeouts) *time.Duration { return &t.Check }),
	}
}

func parseTimeout(field func(*config.Timeouts) *time.Duration) kwParser {
	return func(p *parser, args []token) error {
		name := "timeout " + args[1].Text
		if len(args) < 3 {
			return fmt.Errorf("'%s' expects an integer value (in milliseconds)", name)
		}
		if len(args) > 3 {
			return fmt.Errorf("'%s' : unexpected extra argument '%s' after value '%s'.", name, args[3].Text, args[2].Text)
		}
		d, err := parseDuration(args[2].Text)
		if err != nil {
			return fmt.Errorf("'%s': %v", name, err)
		}
		if d > 0 && d < time.Millisecond {
			return fmt.Errorf("timer underflow in argument '%s' to '%s' (minimum non-null value is 1 ms)", args[2].Text, name)
		}
		*field(&p.ps.px.Timeouts) = d
		if allDigits(args[2].Text) && d > 0 && d < 100*time.Millisecond {
			return warning("'%s %s' in %s '%s' is suspiciously small for a value in milliseconds. Please use an explicit unit ('%sms') if that was the intent.",
				name, args[2].Text, p.sectionType(), p.ps.px.Name, args[2].Text)
		}
		return nil
	}
}

// sectionType names the current proxy as HAProxy's proxy_type_str does.
func (p *parser) sectionType() string {
	if p.ps.isDefaults {
		return "defaults"
	}
	return proxyType(p.ps.px.Cap)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

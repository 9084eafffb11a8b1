package cfgparse

import (
	"fmt"
	"strconv"
	"strings"
)

// The keywords that name and switch a proxy: description, id,
// disabled and enabled.
func proxyIdentKeywords() []keyword {
	return []keyword{
		{name: "description", where: wFE | wBE, syntax: "description <text>",
			desc: "A sentence shown beside the proxy's name on the stats page; the words are joined with spaces.", parse: parseDescription},
		{name: "id", where: wFE | wBE, syntax: "id <number>",
			desc: "The proxy's persistent ID (the stats 'iid'), unique and above 0. Proxies without one get the first free ID after the previous proxy's, as in HAProxy.", parse: parseProxyID},
		{name: "disabled", where: wProxy, syntax: "disabled",
			desc:  "The proxy is not started: its addresses are not bound, its servers are not checked, it is absent from the statistics, and requests routed to it are answered 503. In a defaults section it applies to the proxies that follow. A configuration whose only listeners are disabled has no listener (an error).",
			parse: parseDisabled(true)},
		{name: "enabled", where: wProxy, syntax: "enabled",
			desc: "Reverts a 'disabled' inherited from a defaults section.", parse: parseDisabled(false)},
		{name: "monitor-uri", where: wFEOnly, capWarn: true, syntax: "monitor-uri <uri>",
			desc:  "Answer requests for <uri> from the frontend itself, before any http-request rule: 200 with HAProxy's \"Service ready.\" page, or 503 when a 'monitor fail' condition holds (both pages can be replaced with errorfile). A <uri> starting with '/' is compared with the request's path and query (so an absolute-form request matches too), any other with the whole request-target. Such requests are not logged; they count as intercepted. Needs mode http.",
			parse: parseMonitorURI},
		{name: "monitor", where: wFE, capWarn: true, syntax: "monitor fail {if|unless} <condition>",
			desc:  "Make the 'monitor-uri' answer 503 when the condition holds (if) or does not (unless); several lines add conditions, any one failing the check.",
			parse: parseMonitor},
	}
}

func parseMonitorURI(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'monitor-uri' expects an URI.")
	}
	if err := wantArgs(args, "monitor-uri", 1, 1, "an URI"); err != nil {
		return err
	}
	p.ps.px.MonitorURI = args[1].Text
	return nil
}

func parseMonitor(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text != "fail" {
		return fmt.Errorf("'monitor' only supports 'fail'.")
	}
	if len(args) < 4 || (args[2].Text != "if" && args[2].Text != "unless") {
		return fmt.Errorf("'monitor fail' requires either 'if' or 'unless' followed by a condition.")
	}
	c, err := parseCond(p, args, 2)
	if err != nil {
		return err
	}
	p.ps.px.MonitorFail = append(p.ps.px.MonitorFail, c)
	return nil
}

func parseDescription(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'description' expects a string argument.")
	}
	p.ps.px.Description = strings.Join(texts(args[1:]), " ")
	return nil
}

func parseProxyID(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'id' expects an integer argument.")
	}
	if err := wantArgs(args, "id", 1, 1, "an integer argument"); err != nil {
		return err
	}
	n, err := strconv.ParseInt(args[1].Text, 10, 32)
	if err != nil || n <= 0 {
		return fmt.Errorf("custom id has to be > 0.")
	}
	px := p.ps.px
	for _, o := range p.proxies {
		if o.px != px && o.px.ID == int(n) {
			return fmt.Errorf("%s %s reuses same custom id as %s %s (declared at %s).", proxyType(px.Cap), px.Name, proxyType(o.px.Cap), o.px.Name, o.px.Pos)
		}
	}
	px.ID = int(n)
	return nil
}

func parseDisabled(off bool) kwParser {
	return func(p *parser, args []token) error {
		if err := wantArgs(args, args[0].Text, 0, 0, "no argument"); err != nil {
			return err
		}
		p.ps.px.Disabled = off
		return nil
	}
}

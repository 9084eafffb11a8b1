package cfgparse

import (
	"fmt"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Capture slots and cookie capture: what %hr, %hs, %CC and %CS log.
func captureKeywords() []keyword {
	return []keyword{
		{name: "capture", where: wFE, capWarn: true, syntax: "capture request|response header <name> len <length> | capture cookie <name> len <length>",
			desc: "Capture a header into a slot of the HTTP log (%hr, %hs); or the first request cookie and response Set-Cookie whose 'name=value' starts with <name> (%CC, %CS; one per frontend, the last line wins; its len at most tune.http.cookielen, default 63).", parse: parseCapture},
		{name: "declare", where: wFE, syntax: "declare capture request|response len <length>",
			desc: "Declare a capture slot that 'http-request capture ... id' and 'http-response capture ... id' fill.", parse: parseDeclare},
	}
}

func parseCapture(p *parser, args []token) error {
	if len(args) > 1 && args[1].Text == "cookie" {
		if len(args) > 5 {
			return fmt.Errorf("'capture cookie' cannot handle unexpected argument '%s'.", args[5].Text)
		}
		if len(args) != 5 || args[3].Text != "len" {
			return fmt.Errorf("'capture' expects 'cookie' <cookie_name> 'len' <len>.")
		}
		n, err := parseInt("'capture cookie' len", args[4].Text, 1, 64*1024)
		if err != nil {
			return err
		}
		p.ps.px.CaptureCookie = &config.CookieCapture{Pos: p.pos(), Name: args[2].Text, Len: n}
		return nil
	}
	if len(args) != 6 || (args[1].Text != "request" && args[1].Text != "response") || args[2].Text != "header" || args[4].Text != "len" {
		return fmt.Errorf("'capture' expects 'request header <name> len <length>', 'response header <name> len <length>' or 'cookie <name> len <length>'.")
	}
	n, err := parseInt("'capture' len", args[5].Text, 1, 64*1024)
	if err != nil {
		return err
	}
	p.ps.px.Captures = append(p.ps.px.Captures, &config.Capture{
		Pos: p.pos(), Response: args[1].Text == "response", Name: args[3].Text, Len: n,
	})
	return nil
}

func parseDeclare(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text != "capture" {
		return fmt.Errorf("'declare' needs a second keyword that specify the type of declaration ('capture')")
	}
	if len(args) < 3 || (args[2].Text != "request" && args[2].Text != "response") {
		return fmt.Errorf("'declare capture' requires a direction ('request' or 'response')")
	}
	if len(args) < 4 || args[3].Text != "len" {
		return fmt.Errorf("'declare capture' requires a capture length ('len')")
	}
	if len(args) < 5 {
		return fmt.Errorf("'declare capture': 'len' requires a numeric value that represents the capture length")
	}
	if len(args) > 5 {
		return fmt.Errorf("'declare capture' cannot handle unexpected argument '%s'.", args[5].Text)
	}
	n, err := parseInt("'declare capture' len", args[4].Text, 1, 64*1024)
	if err != nil {
		return err
	}
	p.ps.px.Captures = append(p.ps.px.Captures, &config.Capture{Pos: p.pos(), Response: args[2].Text == "response", Len: n})
	return nil
}

// parseHTTPCapture reads "capture <sample> len <length>" (a new request
// slot, frontends only) or "capture <sample> id <id>".
func parseHTTPCapture(resp bool) func(p *parser, a *config.HTTPAction, args []token) error {
	return func(p *parser, a *config.HTTPAction, args []token) error {
		return parseCaptureRule(p, a, args, resp)
	}
}

func parseCaptureRule(p *parser, a *config.HTTPAction, args []token, resp bool) error {
	if len(args) != 3 || (args[1].Text != "len" && args[1].Text != "id") {
		if resp {
			return fmt.Errorf("expects <expression> id <idx>")
		}
		return fmt.Errorf("expects <expression> [ 'len' <length> | id <idx> ]")
	}
	a.Sample = args[0].Text
	px := p.ps.px
	if args[1].Text == "id" {
		id, err := strconv.Atoi(args[2].Text)
		if err != nil || id < 0 {
			return fmt.Errorf("cannot parse id '%s'", args[2].Text)
		}
		a.CaptureID = id
		return nil
	}
	if resp {
		return fmt.Errorf("expects <expression> id <idx>")
	}
	if px.Cap&config.CapFE == 0 || p.ps.isDefaults {
		return fmt.Errorf("proxy '%s' has no frontend capability", px.Name)
	}
	n, err := strconv.Atoi(args[2].Text)
	if err != nil || n <= 0 {
		return fmt.Errorf("length must be > 0")
	}
	a.CaptureID = countCaptures(px, false)
	px.Captures = append(px.Captures, &config.Capture{Pos: p.pos(), Len: n})
	return nil
}

func countCaptures(px *config.Proxy, resp bool) int {
	n := 0
	for _, c := range px.Captures {
		if c.Response == resp {
			n++
		}
	}
	return n
}

// checkCaptureIDs refuses a capture rule of a frontend naming a slot it
// does not have, as HAProxy's check_http_req/res_capture; a backend's
// rules use the slots of whatever frontend routes to it.
func (p *parser) checkCaptureIDs(px *config.Proxy) {
	if px.Cap&config.CapFE == 0 {
		return
	}
	check := func(rules []*config.HTTPAction, resp bool, kw string) {
		for _, a := range rules {
			if a.Action == "capture" && a.CaptureID >= countCaptures(px, resp) {
				p.errs = append(p.errs, config.Errorf(a.Pos, "%s '%s': unable to find capture id '%d' referenced by %s capture rule",
					proxyType(px.Cap), px.Name, a.CaptureID, kw))
			}
		}
	}
	check(px.HTTPRequest, false, "http-request")
	check(px.HTTPResponse, true, "http-response")
	check(px.HTTPAfterResponse, true, "http-after-response")
}

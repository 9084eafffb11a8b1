package cfgparse

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Error pages beyond "errorfile": the http-errors section, "errorfiles",
// "http-error", and the "errorloc" redirections (HAProxy 2.6's
// configuration.txt 3.8 and 4.2). Each directive is kept in order and
// replayed once every http-errors section is known: a later one overrides
// an earlier one, as HAProxy's proxy_check_errors does.

func httpErrorsSection() sectionDef {
	return sectionDef{name: "http-errors", kind: secIdentity, syntax: "http-errors <name>", open: openHTTPErrors,
		kws: []keyword{{name: "errorfile", syntax: "errorfile <code> <file>",
			desc: "The complete HTTP response in <file> for <code>, for proxies that import the section with 'errorfiles'.", parse: parseSectionErrorFile}},
		ownTable: true,
		desc:     "A named group of error pages, imported by proxies with 'errorfiles <name>' or used by 'http-error ... errorfiles <name>' and 'http-request return|deny ... errorfiles <name>'."}
}

func errorPageKeywords() []keyword {
	loc := func(kw string, code int) keyword {
		return keyword{name: kw, where: wProxy, syntax: kw + " <code> <url>",
			desc:  fmt.Sprintf("Answer a %d redirection to <url> instead of the error page for <code> (errors Gatehouse generates, not the servers').", code),
			parse: func(p *parser, args []token) error { return parseErrorLoc(p, args, code) }}
	}
	return []keyword{
		{name: "errorfiles", where: wProxy, syntax: "errorfiles <name> [<code> ...]",
			desc: "Import the error pages of the http-errors section <name>, all of them or those of the codes listed; like 'errorfile' lines written at this place.", parse: parseErrorFiles},
		{name: "http-error", where: wProxy, syntax: "http-error status <code> [content-type <type>] [default-errorfiles|errorfile <file>|errorfiles <name>|file <file>|lf-file <file>|string <str>|lf-string <fmt>] [hdr <name> <fmt>]...",
			desc: "The error page for <code>, written as an 'http-request return' reply; default-errorfiles resets it to the frontend's page (on a backend) or the built-in one.", parse: parseHTTPError},
		loc("errorloc", 302), loc("errorloc302", 302), loc("errorloc303", 303),
	}
}

func openHTTPErrors(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	for _, h := range p.cfg.HTTPErrors {
		if h.Name == name {
			p.errorf("http-errors section '%s': a section with this name was already declared at %s.", name, h.Pos)
		}
	}
	p.httpErrors = &config.HTTPErrors{Pos: p.pos(), Name: name, Files: map[int]*config.ErrorFile{}}
	p.cfg.HTTPErrors = append(p.cfg.HTTPErrors, p.httpErrors)
}

func errorCode(kw, arg string) (int, error) {
	code, err := strconv.Atoi(arg)
	if err != nil || !slices.Contains(errorFileCodes(), code) {
		return 0, fmt.Errorf("%s : status code '%s' not handled (supported: %s).", kw, arg, joinInts(errorFileCodes()))
	}
	return code, nil
}

func parseSectionErrorFile(p *parser, args []token) error {
	if err := wantArgs(args, "errorfile", 2, 2, "<code> and <file> as arguments"); err != nil {
		return err
	}
	code, err := errorCode("errorfile", args[1].Text)
	if err != nil {
		return err
	}
	ef, err := readErrorFile(p, args[2].Text, code)
	if err != nil {
		return err
	}
	p.httpErrors.Files[code] = ef
	return nil
}

// parseErrorLoc builds the redirection HAProxy sends for errorloc*.
func parseErrorLoc(p *parser, args []token, status int) error {
	if err := wantArgs(args, args[0].Text, 2, 2, "<code> and <url> as arguments"); err != nil {
		return err
	}
	code, err := errorCode(args[0].Text, args[1].Text)
	if err != nil {
		return err
	}
	reason := map[int]string{302: "Found", 303: "See Other"}[status]
	raw := fmt.Sprintf("HTTP/1.1 %d %s\r\nCache-Control: no-cache\r\nContent-length: 0\r\nLocation: %s\r\n\r\n", status, reason, args[2].Text)
	p.ps.px.ErrorOps = append(p.ps.px.ErrorOps, config.ErrorOp{Pos: p.pos(), Code: code,
		File: &config.ErrorFile{Pos: p.pos(), Content: []byte(raw)}})
	return nil
}

func parseErrorFiles(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'errorfiles' expects <name> as argument")
	}
	op := config.ErrorOp{Pos: p.pos(), Section: args[1].Text}
	for _, a := range args[2:] {
		code, err := errorCode("errorfiles", a.Text)
		if err != nil {
			return err
		}
		op.Codes = append(op.Codes, code)
	}
	p.ps.px.ErrorOps = append(p.ps.px.ErrorOps, op)
	return nil
}

func parseHTTPError(p *parser, args []token) error {
	if len(args) < 3 || args[1].Text != "status" {
		return fmt.Errorf("'http-error' expects 'status' followed by a status code")
	}
	code, err := errorCode("http-error", args[2].Text)
	if err != nil {
		return err
	}
	a := &config.HTTPAction{Pos: p.pos(), Action: "return", Status: code}
	if err := parseReturn(p, a, args[1:]); err != nil {
		return err
	}
	if a.Status != code {
		return fmt.Errorf("'http-error' takes one 'status'")
	}
	op := config.ErrorOp{Pos: p.pos(), Code: code}
	switch {
	case a.DefaultErrorfiles:
		op.Reset = true
	case a.ErrorfilesSection != "":
		op.Section, op.Codes = a.ErrorfilesSection, []int{code}
	case a.RawResponse:
		op.File = &config.ErrorFile{Pos: p.pos(), Content: []byte(a.Body)}
	default:
		op.File = &config.ErrorFile{Pos: p.pos(), Reply: a}
	}
	p.ps.px.ErrorOps = append(p.ps.px.ErrorOps, op)
	return nil
}

// finishErrorPages replays each proxy's error directives over the
// http-errors sections, and resolves the "errorfiles <name>" replies of
// return and deny rules.
func (p *parser) finishErrorPages() {
	section := func(name string, pos config.Pos, who string) *config.HTTPErrors {
		for _, h := range p.cfg.HTTPErrors {
			if h.Name == name {
				return h
			}
		}
		p.errs = append(p.errs, config.Errorf(pos, "%s: unknown http-errors section '%s'.", who, name))
		return nil
	}
	for _, ps := range p.proxies {
		px := ps.px
		who := fmt.Sprintf("%s '%s'", proxyType(px.Cap), px.Name)
		pages := map[int]*config.ErrorFile{}
		for _, op := range px.ErrorOps {
			switch {
			case op.Reset:
				delete(pages, op.Code)
			case op.Section != "":
				h := section(op.Section, op.Pos, who)
				if h == nil {
					continue
				}
				for code, ef := range h.Files {
					if len(op.Codes) == 0 || slices.Contains(op.Codes, code) {
						pages[code] = ef
					}
				}
			default:
				pages[op.Code] = op.File
			}
		}
		px.ErrorFiles = nil
		if len(pages) > 0 {
			px.ErrorFiles = pages
		}
		for _, rules := range [][]*config.HTTPAction{px.HTTPRequest, px.HTTPResponse, px.HTTPAfterResponse} {
			for _, a := range rules {
				if a.ErrorfilesSection == "" {
					continue
				}
				h := section(a.ErrorfilesSection, a.Pos, who)
				if h == nil {
					continue
				}
				// The section's page for the status; without one HAProxy 2.6
				// warns and answers the bare status (not the proxy's page).
				if ef := h.Files[a.Status]; ef != nil {
					a.Body, a.RawResponse = string(ef.Content), true
				} else {
					p.warnAt(a.Pos, "Proxy '%s': status '%d' referenced by an http reply not declared in http-errors section '%s'.", px.Name, a.Status, h.Name)
				}
				a.ErrorfilesSection = ""
			}
		}
	}
}

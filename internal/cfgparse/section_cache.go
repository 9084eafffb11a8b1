package cfgparse

import (
	"fmt"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "cache" section and its actions (HAProxy's configuration.txt 6), read
// as 2.6's cfg_parse_cache reads them, but strictly: a wrong value is an
// error where HAProxy sometimes only warns and keeps a default.

func cacheSection() sectionDef {
	return sectionDef{name: "cache", kind: secIdentity, syntax: "cache <name>", open: openCache,
		kws: cacheKeywords(), ownTable: true,
		desc: "An HTTP cache in memory for small objects, used by 'http-request cache-use <name>' and 'http-response cache-store <name>'. Only 200 responses to HTTP/1.1+ GET requests without Authorization, cacheable by their Cache-Control and with an expiration or a validator, are stored; hits are answered with an Age header (304 to a matching conditional request) and log the server as <CACHE>. The oldest objects are evicted first when the cache is full. 'show cache' on the runtime API lists them."}
}

func openCache(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	for _, c := range p.cfg.Caches {
		if c.Name == name {
			p.errorf("Duplicate cache name '%s'.", name)
		}
	}
	p.cfg.Caches = append(p.cfg.Caches, &config.Cache{Pos: p.pos(), Name: name, MaxAge: 60, MaxSecondary: 10})
}

func (p *parser) curCache() *config.Cache { return p.cfg.Caches[len(p.cfg.Caches)-1] }

// cacheUint parses a decimal unsigned value as strtoul would accept it
// whole.
func cacheUint(kw, v string, what string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("'%s' expects %s (got '%s').", kw, what, v)
	}
	return n, nil
}

func cacheKeywords() []keyword {
	return []keyword{
		{name: "total-max-size", syntax: "total-max-size <megabytes>",
			desc: "The memory of the cache, in megabytes (1 to 4095); mandatory. Counted in blocks of 1 kB, as HAProxy's shared memory.",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "total-max-size", 1, 1, "a size in megabytes"); err != nil {
					return err
				}
				n, err := cacheUint("total-max-size", args[1].Text, "a size in megabytes")
				if err != nil {
					return err
				}
				if n > 4095 {
					return fmt.Errorf("\"total-max-size\" (%s) must not be greater than 4095", args[1].Text)
				}
				p.curCache().TotalMaxMB = int(n)
				return nil
			}},
		{name: "max-object-size", syntax: "max-object-size <bytes>",
			desc: "The largest object stored, head included (default a 256th of total-max-size, at most its half). A larger response is passed on whole but not stored.",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "max-object-size", 1, 1, "a maximum file size parameter in bytes"); err != nil {
					return err
				}
				n, err := cacheUint("max-object-size", args[1].Text, "a maximum file size parameter in bytes")
				if err != nil {
					return err
				}
				p.curCache().MaxObject = int64(n)
				return nil
			}},
		{name: "max-age", syntax: "max-age <seconds>",
			desc: "The longest an object is kept (default 60): an object lives the lower of this and its s-maxage, max-age or Expires.",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "max-age", 1, 1, "an age parameter in seconds"); err != nil {
					return err
				}
				n, err := cacheUint("max-age", args[1].Text, "an age parameter in seconds")
				if err != nil {
					return err
				}
				p.curCache().MaxAge = int(n)
				return nil
			}},
		{name: "process-vary", syntax: "process-vary on|off",
			desc: "On: responses that vary on Accept-Encoding and/or Referer are stored, one per variant; off (the default): a response with Vary is never stored.",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "process-vary", 1, 1, "\"on\" or \"off\""); err != nil {
					return err
				}
				switch args[1].Text {
				case "on":
					p.curCache().ProcessVary = true
				case "off":
					p.curCache().ProcessVary = false
				default:
					return fmt.Errorf("'process-vary' expects \"on\" or \"off\" (enable or disable vary processing).")
				}
				return nil
			}},
		{name: "max-secondary-entries", syntax: "max-secondary-entries <number>",
			desc: "With process-vary, the most variants of one URL kept at once (default 10).",
			parse: func(p *parser, args []token) error {
				if err := wantArgs(args, "max-secondary-entries", 1, 1, "a strictly positive number"); err != nil {
					return err
				}
				n, err := cacheUint("max-secondary-entries", args[1].Text, "a strictly positive number")
				if err != nil || n == 0 {
					return fmt.Errorf("'max-secondary-entries' expects a strictly positive number (got '%s').", args[1].Text)
				}
				p.curCache().MaxSecondary = int(n)
				return nil
			}},
	}
}

func cacheHTTPActions() []httpAction {
	name := func(p *parser, a *config.HTTPAction, args []token) error {
		if len(args) != 1 {
			return fmt.Errorf("expects a cache name")
		}
		a.Name = args[0].Text
		return nil
	}
	return []httpAction{
		{name: "cache-use", syntax: "cache-use <cache>", req: true, parse: name,
			desc: "Answer from the cache when it holds a fresh copy for the request (key: Host and URI); otherwise note the key for 'http-response cache-store'. Needed for storing too."},
		{name: "cache-store", syntax: "cache-store <cache>", resp: true, parse: name,
			desc: "Store the response in the cache if HAProxy's rules allow it: the head as it is at this rule, the body as it streams to the client."},
	}
}

// finishCaches checks the sizes once each section is complete, as
// cfg_post_parse_section_cache, and that the actions name a cache.
func (p *parser) finishCaches() {
	names := map[string]bool{}
	for _, c := range p.cfg.Caches {
		names[c.Name] = true
		total := int64(c.TotalMaxMB) << 20
		switch {
		case c.TotalMaxMB == 0:
			p.errs = append(p.errs, config.Errorf(c.Pos, "Size not specified for cache '%s'", c.Name))
		case c.MaxObject == 0:
			c.MaxObject = total >> 8
		case c.MaxObject > total/2:
			p.errs = append(p.errs, config.Errorf(c.Pos, "\"max-object-size\" is limited to an half of \"total-max-size\" => %d", total/2))
		}
	}
	for _, ps := range p.proxies {
		for _, list := range [][]*config.HTTPAction{ps.px.HTTPRequest, ps.px.HTTPResponse} {
			for _, a := range list {
				if (a.Action == "cache-use" || a.Action == "cache-store") && !names[a.Name] {
					p.errs = append(p.errs, config.Errorf(a.Pos, "unable to find cache '%s' referenced by '%s' in %s '%s'.", a.Name, a.Action, proxyType(ps.px.Cap), ps.px.Name))
				}
			}
		}
	}
}

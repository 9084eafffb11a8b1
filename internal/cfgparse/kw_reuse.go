package cfgparse

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
)

func reuseKeywords() []keyword {
	return []keyword{
		{name: "http-reuse", where: wBEOnly, capWarn: true, syntax: "http-reuse never|safe|aggressive|always",
			desc: "Which idle server connections a request may take. safe (the default): a session's first request " +
				"(the first on an HTTP/1 client connection; HTTP/2 streams never count as first) goes over a new connection, " +
				"later ones over any idle one. aggressive: first requests also take idle connections that have carried " +
				"more than one request. always: any request takes any idle connection. never: a connection serves only the " +
				"client connection that opened it and closes with it (an HTTP/2 server connection then carries one request). " +
				"With 'retry-on' covering conn-failure, empty-response and response-timeout, first requests are treated as later ones, as in HAProxy.",
			parse: parseHTTPReuse},
	}
}

// reuseOptions are the "option" words about server connections.
func reuseOptions() []keyword {
	return []keyword{
		{name: "prefer-last-server", where: wBEOnly, capWarn: true, syntax: "[no] option prefer-last-server",
			desc: "Send a request to the server the client connection already holds a private idle connection to (http-reuse never), " +
				"instead of balancing it, when the balance algorithm is not a hash; as in HAProxy 2.6, shared (safe, aggressive, always) connections belong to no session, so the option then changes nothing.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.PreferLast })},
	}
}

func parseHTTPReuse(p *parser, args []token) error {
	modes := map[string]config.HTTPReuse{
		"never": config.ReuseNever, "safe": config.ReuseSafe,
		"aggressive": config.ReuseAggressive, "always": config.ReuseAlways,
	}
	if len(args) < 2 {
		return fmt.Errorf("'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.")
	}
	m, ok := modes[args[1].Text]
	if !ok {
		return fmt.Errorf("'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.")
	}
	if len(args) > 2 {
		return fmt.Errorf("'http-reuse' cannot handle unexpected argument '%s'.", args[2].Text)
	}
	p.ps.px.HTTPReuse = m
	return nil
}

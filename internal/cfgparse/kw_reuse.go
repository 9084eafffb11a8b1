package cfgparse

import (
	"fmt"
	"strconv"

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
		{name: "max-keep-alive-queue", where: wBEOnly, capWarn: true, syntax: "max-keep-alive-queue <value>",
			desc:  "With 'option prefer-last-server', the server the session holds a connection to is kept only while it has a free slot or fewer than <value> requests wait for it; past that the request is balanced to another server. -1 (the default): no limit; 0: never wait for it.",
			parse: parseMaxKAQueue},
	}
}

func parseMaxKAQueue(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects expects an integer value (or -1 to disable)", args[0].Text)
	}
	v := args[1].Text
	// strtol(v, &end, 0): the longest number, then nothing may follow.
	end := len(v)
	n, err := strconv.ParseInt(v, 0, 64)
	for err != nil && end > 0 {
		end--
		n, err = strconv.ParseInt(v[:end], 0, 64)
	}
	if end < len(v) {
		return fmt.Errorf("'%s' : unexpected character '%c' in integer value '%s'", args[0].Text, v[end], v)
	}
	// HAProxy keeps it unsigned: below -1 wraps to a limit never reached.
	p.ps.px.MaxKAQueue = int(max(n+1, 0))
	return nil
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

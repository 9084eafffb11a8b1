package cfgparse

import "fmt"

// protoGlobalKeywords are global switches of HAProxy 2.6's protocol
// compatibility workarounds.
func protoGlobalKeywords() []keyword {
	return []keyword{
		{name: "pp2-never-send-local", where: wGlobal, syntax: "pp2-never-send-local",
			desc: "Health checks of servers with 'send-proxy-v2' send a PROXY v2 header with the PROXY command and the check connection's own addresses (its source, the server) instead of the LOCAL command, HAProxy's behaviour up to 2.1, for servers that cannot handle LOCAL.",
			parse: func(p *parser, args []token) error {
				if len(args) > 1 {
					return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[1].Text)
				}
				p.cfg.Global.PP2NeverSendLocal = true
				return nil
			}},
		{name: "h1-accept-payload-with-any-method", where: wGlobal, syntax: "h1-accept-payload-with-any-method",
			desc: "Accept HTTP/1.0 GET, HEAD and DELETE requests with a payload (a non-zero Content-Length, or chunked), which are otherwise refused with 413 because HTTP/1.0 servers may ignore such a payload (a request smuggling risk). For old clients that send them. Unlike HAProxy, a chunked HTTP/1.0 request is still refused (400): Gatehouse takes no Transfer-Encoding in HTTP/1.0.",
			parse: func(p *parser, args []token) error {
				if len(args) > 1 {
					return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[1].Text)
				}
				p.cfg.Global.H1AcceptPayloadAnyMethod = true
				return nil
			}},
	}
}

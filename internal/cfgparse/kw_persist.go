package cfgparse

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Cookie persistence: "cookie", "dynamic-cookie-key", "force-persist",
// "ignore-persist", "use-server" (the server's "cookie <value>" is a
// server option, "option persist" an option).
func persistKeywords() []keyword {
	return []keyword{
		{name: "cookie", where: wBEOnly, capWarn: true,
			syntax: "cookie <name> [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly] [secure] [domain <domain>]* [maxidle <idle>] [maxlife <life>] [dynamic] [attr <value>]*",
			desc: "Cookie-based persistence: a request whose cookie <name> carries a server's 'cookie' value goes to that server while it is up ('option persist' and 'force-persist': even down). " +
				"insert: Gatehouse sets '<name>=<value>; path=/' in responses when the request did not already name the server (indirect: and removes it from requests); rewrite: the server's own <name> cookie value is replaced by the server's value; " +
				"prefix: the server's <name> cookie is prefixed with '<value>~', removed again from requests. maxidle/maxlife (insert) date the cookie and ignore it after that long idle/since first seen. dynamic: servers without 'cookie' get a hash of 'dynamic-cookie-key', their address and port.",
			parse: parseCookie},
		{name: "dynamic-cookie-key", where: wBEOnly, capWarn: true, syntax: "dynamic-cookie-key <string>",
			desc: "The secret key of 'cookie ... dynamic': a server's cookie value is the XXH64 hash of the key, its IP address and port, as HAProxy computes it (the same on every load balancer).", parse: parseDynCookieKey},
		{name: "force-persist", where: wBE, capWarn: true, syntax: "force-persist {if|unless} <condition>",
			desc: "When the condition holds, a persistence cookie or 'use-server' rule naming a down server still sends the request to it, and 'option redispatch' never moves it. Checked as soon as the backend is chosen; the first matching force-/ignore-persist rule wins.", parse: parsePersistRule(true)},
		{name: "ignore-persist", where: wBE, capWarn: true, syntax: "ignore-persist {if|unless} <condition>",
			desc: "When the condition holds, the persistence cookie is ignored (logged 'U') and no cookie is inserted: the request is balanced. Checked as soon as the backend is chosen; the first matching force-/ignore-persist rule wins.", parse: parsePersistRule(false)},
		{name: "use-server", where: wBE, capWarn: true, syntax: "use-server <server> {if|unless} <condition>",
			desc: "Send the request to <server> (a name, or a log-format giving one) when the condition holds, before any cookie; a down server is skipped unless 'option persist' or 'force-persist' applies. The first matching rule whose server can take it wins; in mode tcp too (with a server name, not a log-format).", parse: parseUseServer},
	}
}

func parseCookie(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'cookie' expects <cookie_name> as argument.")
	}
	if !cookieToken(args[1].Text) {
		return fmt.Errorf("'cookie' : invalid cookie name '%s' (a token: no separators, blanks or control characters).", args[1].Text)
	}
	// Every line starts over, as in HAProxy (a defaults' cookie included).
	c := &config.Cookie{Pos: p.pos(), Name: args[1].Text}
	for i := 2; i < len(args); i++ {
		o := args[i].Text
		arg := func() (string, error) {
			if i+1 >= len(args) || args[i+1].Text == "" {
				what := map[string]string{"domain": "<domain>", "maxidle": "<idletime> in seconds", "maxlife": "<lifetime> in seconds", "attr": "<value>"}[o]
				return "", fmt.Errorf("'%s' expects %s as argument.", o, what)
			}
			i++
			return args[i].Text, nil
		}
		switch o {
		case "rewrite", "insert", "prefix":
			if c.Mode != "" && c.Mode != o {
				return fmt.Errorf("cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
			}
			c.Mode = o
		case "indirect":
			c.Indirect = true
		case "nocache":
			c.NoCache = true
		case "postonly":
			c.PostOnly = true
		case "preserve":
			c.Preserve = true
		case "httponly":
			c.HTTPOnly = true
		case "secure":
			c.Secure = true
		case "dynamic":
			c.Dynamic = true
		case "domain":
			d, err := arg()
			if err != nil {
				return err
			}
			if bad := invalidDomainChar(d); bad >= 0 {
				return fmt.Errorf("character '%c' is not permitted in domain name '%s'.", d[bad], d)
			}
			if !strings.Contains(d, ".") {
				p.warnf("domain '%s' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).", d)
			}
			c.Domains = append(c.Domains, d)
		case "maxidle", "maxlife":
			v, err := arg()
			if err != nil {
				return err
			}
			d, err := parseSeconds(o, v)
			if err != nil {
				return err
			}
			if o == "maxidle" {
				c.MaxIdle = d
			} else {
				c.MaxLife = d
			}
		case "attr":
			v, err := arg()
			if err != nil {
				return err
			}
			for j := 0; j < len(v); j++ {
				if v[j] < 0x20 || v[j] == 0x7f || v[j] == ';' {
					return fmt.Errorf("character '%%x%02X' is not permitted in attribute value.", v[j])
				}
			}
			c.Attrs = append(c.Attrs, v)
		default:
			return fmt.Errorf("'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.")
		}
	}
	if c.Mode == "rewrite" && c.Indirect {
		return fmt.Errorf("cookie 'rewrite' and 'indirect' modes are incompatible.")
	}
	if c.Preserve && c.Mode != "insert" && !c.Indirect {
		return fmt.Errorf("cookie 'preserve' requires at least 'insert' or 'indirect'.")
	}
	p.ps.px.Cookie = c
	return nil
}

// parseSeconds reads maxidle/maxlife: HAProxy's time with seconds as the
// default unit, at most 2147483647 seconds.
func parseSeconds(kw, v string) (time.Duration, error) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		if v == "" {
			return 0, fmt.Errorf("'%s' expects a time in seconds as argument.", kw)
		}
		return 0, fmt.Errorf("unexpected character '%c' in argument to <%s>.", v[0], kw)
	}
	n, err := strconv.ParseUint(v[:i], 10, 63)
	unit := time.Second
	if suf := v[i:]; suf != "" {
		if unit = durationUnit(suf); unit == 0 {
			return 0, fmt.Errorf("unexpected character '%c' in argument to <%s>.", suf[0], kw)
		}
	}
	// As HAProxy's parse_time_err: rounded up to whole seconds.
	const maxSecs = 1<<31 - 1
	var secs uint64
	if unit >= time.Second {
		per := uint64(unit / time.Second)
		if err != nil || n > maxSecs/per {
			return 0, fmt.Errorf("timer overflow in argument <%s> to <%s>, maximum value is 2147483647 s (~68 years).", v, kw)
		}
		secs = n * per
	} else {
		div := uint64(time.Second / unit)
		secs = n/div + min(n%div, 1)
		if err != nil || secs > maxSecs {
			return 0, fmt.Errorf("timer overflow in argument <%s> to <%s>, maximum value is 2147483647 s (~68 years).", v, kw)
		}
	}
	return time.Duration(secs) * time.Second, nil
}

// invalidDomainChar is HAProxy's invalid_domainchar: letters, digits, '.',
// '_' and '-' only; it returns the index of the first other byte, or -1.
func invalidDomainChar(d string) int {
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return i
		}
	}
	return -1
}

// cookieToken reports an RFC 6265 cookie-name (an RFC 7230 token).
func cookieToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// cookieOctets reports an RFC 6265 cookie-value without quotes: what a
// server's "cookie" value must be to go into a header unchanged.
func cookieOctets(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return s != ""
}

func parseDynCookieKey(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'dynamic-cookie-key' expects <secret_key> as argument.")
	}
	p.ps.px.DynCookieKey = args[1].Text
	return nil
}

func parsePersistRule(force bool) kwParser {
	return func(p *parser, args []token) error {
		if len(args) < 2 || (args[1].Text != "if" && args[1].Text != "unless") {
			return fmt.Errorf("'%s' requires either 'if' or 'unless' followed by a condition.", args[0].Text)
		}
		c, err := parseCond(p, args, 1)
		if err != nil {
			return err
		}
		p.ps.px.PersistRules = append(p.ps.px.PersistRules, &config.PersistRule{Pos: p.pos(), Force: force, Cond: c})
		return nil
	}
}

func parseUseServer(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'use-server' expects a server name.")
	}
	if len(args) < 3 || (args[2].Text != "if" && args[2].Text != "unless") {
		return fmt.Errorf("'use-server' requires either 'if' or 'unless' followed by a condition.")
	}
	c, err := parseCond(p, args, 2)
	if err != nil {
		return err
	}
	p.ps.px.UseServers = append(p.ps.px.UseServers, &config.UseServer{Pos: p.pos(), Name: args[1].Text, Cond: c})
	return nil
}

// serverCookieOption is the server's "cookie <value>".
func serverCookieOption() serverOption {
	return strOpt("cookie", "cookie <value>", "The persistence cookie value of the server (see the proxy's 'cookie'): requests carrying it go to the first server with this value that can take them; inserted and rewritten cookies carry it.",
		func(s *config.Server, v string) error {
			if !cookieOctets(v) {
				return fmt.Errorf("'cookie' : invalid cookie value '%s' (no blanks, quotes, commas, semicolons, backslashes or control characters).", v)
			}
			s.Cookie, s.CookieSet = v, true
			return nil
		})
}

// checkPersist runs the checks HAProxy makes once the proxy is read:
// use-server targets exist, cookies need mode http.
func (p *parser) checkPersist(px *config.Proxy) {
	if px.Cap&config.CapBE == 0 {
		return
	}
	if px.Mode != config.ModeHTTP {
		if px.Cookie != nil {
			p.warnAt(px.Pos, "cookie will be ignored for %s '%s' (needs 'mode http').", proxyType(px.Cap), px.Name)
		}
		for _, s := range px.Servers {
			if s.CookieSet {
				p.warnAt(px.Pos, "%s '%s' : ignoring cookie for server '%s' as HTTP mode is disabled.", proxyType(px.Cap), px.Name, s.Name)
			}
		}
		for _, us := range px.UseServers {
			if strings.Contains(us.Name, "%") {
				p.errs = append(p.errs, config.Errorf(us.Pos, "'use-server' with a log-format server name is not implemented in mode tcp by Gatehouse (%s '%s').", proxyType(px.Cap), px.Name))
			}
		}
	}
	for _, us := range px.UseServers {
		if strings.Contains(us.Name, "%") {
			continue // a log-format: the name is only known per request
		}
		found := false
		for _, s := range px.Servers {
			found = found || s.Name == us.Name
		}
		if !found {
			p.errs = append(p.errs, config.Errorf(us.Pos, "%s '%s' : unable to find server '%s' referenced in a 'use-server' rule.", proxyType(px.Cap), px.Name, us.Name))
		}
	}
}

package cfgparse

import (
	"fmt"
	"net"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "mailers" section (HAProxy's configuration.txt 3.6) and the proxies'
// "email-alert" lines, read as 2.6's cfg_parse_mailers and
// cfg_parse_listen read them.

func mailersSection() sectionDef {
	return sectionDef{name: "mailers", kind: secIdentity, syntax: "mailers <name>", open: openMailers,
		kws: mailersKeywords(), ownTable: true,
		desc: "SMTP servers the proxies' 'email-alert mailers <name>' send their alerts to: each state change of a server at or above the proxy's 'email-alert level' goes as one mail to every mailer of the section, in the background, failures logged."}
}

func openMailers(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		p.mailers = nil
		return
	}
	for _, m := range p.cfg.Mailers {
		if m.Name == name {
			p.errorf("mailers section '%s' has the same name as another mailers section declared at %s.", name, m.Pos)
			p.sec, p.mailers = &sectionDef{name: sec.name, skip: true}, nil
			return
		}
	}
	p.mailers = &config.Mailers{Pos: p.pos(), Name: name}
	p.cfg.Mailers = append(p.cfg.Mailers, p.mailers)
}

func mailersKeywords() []keyword {
	return []keyword{
		{name: "mailer", syntax: "mailer <name> <ip>:<port>",
			desc: "An SMTP server. Alerts are sent with HAProxy 2.6's exchange: HELO <myhostname>, MAIL FROM, RCPT TO, DATA with From, To, Date and Subject headers, QUIT; no TLS, no authentication.", parse: parseMailer},
		{name: "timeout", syntax: "timeout mail <time>",
			desc: "How long the exchange of one mail with one mailer may last (default 10s).", parse: parseMailersTimeout},
	}
}

func parseMailer(p *parser, args []token) error {
	if len(args) < 3 || args[1].Text == "" || args[2].Text == "" {
		return fmt.Errorf("'mailer' expects <name> and <addr>[:<port>] as arguments.")
	}
	if len(args) > 3 {
		return fmt.Errorf("'mailer' cannot handle unexpected argument '%s'.", args[3].Text)
	}
	name := args[1].Text
	if c, bad := invalidChar(name); bad {
		return fmt.Errorf("character '%c' is not permitted in server name '%s'.", c, name)
	}
	hp, err := splitHostPort(envExpand(args[2].Text, p.opt.LookupEnv), true)
	if err != nil {
		return fmt.Errorf("'mailer %s' : %v", name, err)
	}
	if hp.Host == "" {
		return fmt.Errorf("'mailer %s' : an address to connect to is required, not '%s'", name, args[2].Text)
	}
	if p.mailers == nil {
		return nil
	}
	for _, m := range p.mailers.Mailers {
		if m.Name == name {
			return fmt.Errorf("mailer '%s' has the same name as another mailer declared at %s.", name, m.Pos)
		}
	}
	p.mailers.Mailers = append(p.mailers.Mailers, config.Mailer{Pos: p.pos(), Name: name,
		Addr: net.JoinHostPort(hp.Host, strconv.Itoa(hp.Port))})
	return nil
}

func parseMailersTimeout(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text != "mail" {
		return fmt.Errorf("'timeout' expects 'mail' and <time> as arguments.")
	}
	if len(args) < 3 {
		return fmt.Errorf("'timeout mail' expects <time> as argument.")
	}
	if len(args) > 3 {
		return fmt.Errorf("'timeout mail' cannot handle unexpected argument '%s'.", args[3].Text)
	}
	d, err := parseDuration(args[2].Text)
	if err != nil {
		return fmt.Errorf("'timeout mail' : %v", err)
	}
	if d <= 0 {
		return fmt.Errorf("'timeout mail' : the timeout must be greater than 0")
	}
	if p.mailers != nil {
		p.mailers.TimeoutMail = d
	}
	return nil
}

func emailAlertKeywords() []keyword {
	return []keyword{
		{name: "email-alert", where: wProxy, syntax: "email-alert mailers|from|to|level|myhostname <value>",
			desc:  "Mail the state changes of this proxy's servers (going DOWN, UP, stopping) through the 'mailers' section named by 'email-alert mailers', from 'from', to 'to', when their syslog level is at or above 'level' (default alert: a server going DOWN; notice adds the rest). 'myhostname' is the HELO name (default: the host name). Without mailers, from and to the other lines are ignored with a warning, as HAProxy does.",
			parse: parseEmailAlert},
	}
}

func parseEmailAlert(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("missing argument after '%s'.", args[0].Text)
	}
	what := args[1].Text
	if len(args) < 3 || args[2].Text == "" {
		return fmt.Errorf("missing argument after '%s %s'.", args[0].Text, what)
	}
	if len(args) > 3 {
		return fmt.Errorf("'email-alert %s' cannot handle unexpected argument '%s'.", what, args[3].Text)
	}
	v := args[2].Text
	ea := p.ps.px.EmailAlert
	if ea == nil {
		ea = &config.EmailAlert{Pos: p.pos()}
	}
	switch what {
	case "mailers":
		ea.Mailers = v
	case "from", "to":
		// The values go verbatim into the SMTP commands and headers:
		// a line break would let a configuration forge commands.
		for _, c := range v {
			if c == '\r' || c == '\n' || c < ' ' {
				return fmt.Errorf("'email-alert %s' : control characters are not permitted in '%s'.", what, v)
			}
		}
		if what == "from" {
			ea.From = v
		} else {
			ea.To = v
		}
	case "level":
		if !contains(logLevels(), v) {
			return fmt.Errorf("unknown log level '%s' after '%s %s'.", v, args[0].Text, what)
		}
		ea.Level = v
	case "myhostname":
		for _, c := range v {
			if c < '!' || c > '~' {
				return fmt.Errorf("'email-alert myhostname' : '%s' is not a host name.", v)
			}
		}
		ea.MyHostname = v
	default:
		return fmt.Errorf("email-alert: unknown argument '%s'.", what)
	}
	p.ps.px.EmailAlert = ea
	return nil
}

// checkEmailAlert is HAProxy's check_config_validity for email-alert: all
// three of mailers, from and to or a warning and nothing; the mailers
// section must exist.
func (p *parser) checkEmailAlert(px *config.Proxy) {
	ea := px.EmailAlert
	if ea == nil {
		return
	}
	if ea.Mailers == "" || ea.From == "" || ea.To == "" {
		p.warnAt(px.Pos, "'email-alert' will be ignored for %s '%s' (the presence any of 'email-alert from', 'email-alert level' 'email-alert mailers', 'email-alert myhostname', or 'email-alert to' requires each of 'email-alert from', 'email-alert mailers' and 'email-alert to' to be present).",
			proxyType(px.Cap), px.Name)
		px.EmailAlert = nil
		return
	}
	for _, m := range p.cfg.Mailers {
		if m.Name == ea.Mailers {
			return
		}
	}
	p.errs = append(p.errs, config.Errorf(ea.Pos, "proxy '%s': unable to find mailers '%s'.", px.Name, ea.Mailers))
}

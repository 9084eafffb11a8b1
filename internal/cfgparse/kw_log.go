package cfgparse

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func logKeywords() []keyword {
	return []keyword{
		{name: "log", where: wProxy, syntax: "log global | log <target> [len <n>] [format <fmt>] <facility> [<level> [<minlevel>]] | no log",
			desc: "Add a log target ('log global': the global ones); 'no log' drops the targets inherited from defaults.", parse: parseProxyLog},
		{name: "log-tag", where: wProxy, syntax: "log-tag <string>",
			desc: "The syslog tag of this proxy's log lines (default: the global 'log-tag', else 'gatehouse').", parse: parseProxyLogTag},
		{name: "log-format", where: wFEOnly, capWarn: true, syntax: "log-format <format>",
			desc: "Custom access log line format.", parse: parseStringKW(func(px *config.Proxy) *string { return &px.LogFormat })},
		{name: "log-format-sd", where: wFEOnly, capWarn: true, syntax: "log-format-sd <format>",
			desc: "RFC 5424 structured-data of each access log line (sent with 'format rfc5424' targets).", parse: parseStringKW(func(px *config.Proxy) *string { return &px.LogFormatSD })},
	}
}

// logGlobalKeywords are the global settings of syslog headers.
func logGlobalKeywords() []keyword {
	return []keyword{
		{name: "log-tag", where: wGlobal, syntax: "log-tag <string>",
			desc: "The syslog tag of every log line (default 'gatehouse', the program's name, as HAProxy's is 'haproxy').", parse: parseGlobalLogTag},
		{name: "log-send-hostname", where: wGlobal, syntax: "log-send-hostname [<string>]",
			desc: "Put a host name in the syslog header (rfc3164, rfc5424): <string>, or the system's host name.", parse: parseLogSendHostname},
	}
}

func parseGlobalLogTag(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects a tag for use in syslog.", args[0].Text)
	}
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[2].Text)
	}
	p.cfg.Global.LogTag = args[1].Text
	return nil
}

func parseProxyLogTag(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects a tag for use in syslog.", args[0].Text)
	}
	p.ps.px.LogTag = args[1].Text
	return nil
}

func parseLogSendHostname(p *parser, args []token) error {
	if p.cfg.Global.LogSendHostname != "" {
		return fmt.Errorf("'%s' already specified. Continuing.", args[0].Text)
	}
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[2].Text)
	}
	if len(args) == 2 && args[1].Text != "" {
		p.cfg.Global.LogSendHostname = args[1].Text
		return nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return fmt.Errorf("'%s': cannot read the system's host name: %v", args[0].Text, err)
	}
	p.cfg.Global.LogSendHostname = h
	return nil
}

func logFacilities() []string {
	return []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
		"auth2", "ftp", "ntp", "audit", "alert", "cron2",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
}

func logLevels() []string {
	return []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
}

func logFormats() []string {
	return []string{"local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"}
}

func parseProxyLog(p *parser, args []token) error {
	if p.negated {
		if len(args) > 1 {
			return fmt.Errorf("'no log' does not expect any argument.")
		}
		p.ps.px.Logs = nil
		return nil
	}
	if len(args) > 1 && args[1].Text == "global" {
		if len(args) > 2 {
			return fmt.Errorf("'log global' cannot handle unexpected argument '%s'.", args[2].Text)
		}
		p.ps.px.Logs = append(p.ps.px.Logs, p.cfg.Global.Logs...)
		return nil
	}
	l, err := parseLogTarget(p, args)
	if err != nil {
		return err
	}
	p.ps.px.Logs = append(p.ps.px.Logs, l)
	return nil
}

// parseLogTarget parses "log <target> [len <n>] [format <fmt>] <facility>
// [<level> [<minlevel>]]".
func parseLogTarget(p *parser, args []token) (*config.Log, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("'log' expects either <address[:port]> and <facility> or 'global' as arguments.")
	}
	l := &config.Log{Pos: p.pos(), Target: envExpand(args[1].Text, p.opt.LookupEnv), Format: "rfc3164"}
	if name, ok := strings.CutPrefix(l.Target, "ring@"); ok && name == "" {
		return nil, fmt.Errorf("'log ring@' expects a ring name.")
	}
	i := 2
	for i+1 < len(args) {
		switch args[i].Text {
		case "len":
			n, err := parseInt("'log' len", args[i+1].Text, 80, 65535)
			if err != nil {
				return nil, err
			}
			l.Len = n
		case "format":
			if !slices.Contains(logFormats(), args[i+1].Text) {
				return nil, fmt.Errorf("'log' : unknown log format '%s' (expected one of %v).", args[i+1].Text, logFormats())
			}
			l.Format, l.FormatSet = args[i+1].Text, true
		case "sample":
			return nil, fmt.Errorf("'log ... sample' is a HAProxy keyword that Gatehouse does not implement")
		default:
			goto facility
		}
		i += 2
	}
facility:
	if i >= len(args) {
		return nil, fmt.Errorf("'log' expects a facility after the target.")
	}
	if !slices.Contains(logFacilities(), args[i].Text) {
		return nil, fmt.Errorf("unknown log facility '%s'", args[i].Text)
	}
	l.Facility = args[i].Text
	if i+1 < len(args) {
		if !slices.Contains(logLevels(), args[i+1].Text) {
			return nil, fmt.Errorf("unknown optional log level '%s'", args[i+1].Text)
		}
		l.Level = args[i+1].Text
	}
	if i+2 < len(args) {
		if !slices.Contains(logLevels(), args[i+2].Text) {
			return nil, fmt.Errorf("unknown optional minimum log level '%s'", args[i+2].Text)
		}
		l.MinLevel = args[i+2].Text
	}
	if i+3 < len(args) {
		return nil, fmt.Errorf("'log' cannot handle unexpected argument '%s'.", args[i+3].Text)
	}
	return l, nil
}

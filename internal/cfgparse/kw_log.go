package cfgparse

import (
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/config"
)

func logKeywords() []keyword {
	return []keyword{
		{name: "log", where: wProxy, syntax: "log global | log <target> [len <n>] [format <fmt>] <facility> [<level> [<minlevel>]] | no log",
			desc: "Add a log target ('log global': the global ones); 'no log' drops the targets inherited from defaults.", parse: parseProxyLog},
		{name: "log-format", where: wFEOnly, capWarn: true, syntax: "log-format <format>",
			desc: "Custom access log line format.", parse: parseStringKW(func(px *config.Proxy) *string { return &px.LogFormat })},
		{name: "log-format-sd", where: wFEOnly, capWarn: true, syntax: "log-format-sd <format>",
			desc: "RFC 5424 structured-data of each access log line (sent with 'format rfc5424' targets).", parse: parseStringKW(func(px *config.Proxy) *string { return &px.LogFormatSD })},
	}
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
	if len(l.Target) > 5 && l.Target[:5] == "ring@" {
		return nil, fmt.Errorf("'log ring@...' targets are a HAProxy feature that Gatehouse does not implement")
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
			l.Format = args[i+1].Text
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

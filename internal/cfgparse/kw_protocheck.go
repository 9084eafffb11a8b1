package cfgparse

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// HAProxy's protocol health checks: each option replaces the backend's
// check with a fixed exchange (internal/health/proto.go), as HAProxy 2.6
// builds a tcp-check rule set for it.
func protoCheckOptions() []keyword {
	return []keyword{
		{name: "redis-check", where: wBEOnly, capWarn: true, syntax: "option redis-check",
			desc:  "Check servers by sending Redis' PING (\"*1\\r\\n$4\\r\\nPING\\r\\n\") and expecting \"+PONG\\r\\n\"; another answer fails the check (L7STS) with its first line as the reason.",
			parse: protoCheckOption("redis")},
		{name: "ssl-hello-chk", where: wBEOnly, capWarn: true, syntax: "option ssl-hello-chk",
			desc:  "Check servers by sending an SSLv3 CLIENT HELLO (HAProxy's bytes) and expecting a TLS handshake or alert record back (L6OK); anything else is L6RSP. Proves the server speaks SSL/TLS without completing a handshake.",
			parse: protoCheckOption("ssl-hello")},
		{name: "smtpchk", where: wBEOnly, capWarn: true, syntax: "option smtpchk [HELO|EHLO <domain>]",
			desc:  "Check servers by reading the SMTP greeting (a 2xx code), sending \"HELO localhost\" (or the command and domain given) and expecting a 2xx answer; the code is check_code and the answer's text the reason.",
			parse: parseSMTPChk},
		{name: "pgsql-check", where: wBEOnly, capWarn: true, syntax: "option pgsql-check user <username>",
			desc:  "Check servers by sending a PostgreSQL startup message for <username> and expecting an authentication request or success; an ErrorResponse fails with its text.",
			parse: parsePgSQLCheck},
		{name: "mysql-check", where: wBEOnly, capWarn: true, syntax: "option mysql-check [user <username> [post-41|pre-41]]",
			desc:  "Check servers by reading MySQL's initial handshake; with 'user', also send an authentication packet for <username> (no password; 4.1+ format unless pre-41) and a QUIT, and expect an OK packet. An error packet fails the check (L7STS) with MySQL's error code and message.",
			parse: parseMySQLCheck},
		{name: "ldap-check", where: wBEOnly, capWarn: true, syntax: "option ldap-check",
			desc:  "Check servers by sending an anonymous LDAPv3 bind request and expecting a successful bindResponse; a result code other than 0 fails the check (L7STS, the code as check_code).",
			parse: protoCheckOption("ldap")},
	}
}

// protoCheckOption parses an option without arguments.
func protoCheckOption(kind string) kwParser {
	return func(p *parser, args []token) error {
		if err := noNegation(p, args); err != nil {
			return err
		}
		if len(args) > 2 {
			return fmt.Errorf("'option %s' cannot handle unexpected argument '%s'.", args[1].Text, args[2].Text)
		}
		p.ps.px.ProtoCheck = &config.ProtoCheck{Pos: p.pos(), Kind: kind}
		return nil
	}
}

// parseSMTPChk: HAProxy uses "<EHLO|HELO> <domain>" when both words are
// there and the first is one of those two, else "HELO localhost".
func parseSMTPChk(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	if len(args) > 4 {
		return fmt.Errorf("'option smtpchk' cannot handle unexpected argument '%s'.", args[4].Text)
	}
	cmd := "HELO localhost"
	if len(args) == 4 && (args[2].Text == "EHLO" || args[2].Text == "HELO") && args[3].Text != "" {
		cmd = args[2].Text + " " + args[3].Text
	}
	p.ps.px.ProtoCheck = &config.ProtoCheck{Pos: p.pos(), Kind: "smtp", SMTP: cmd}
	return nil
}

func parsePgSQLCheck(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	if len(args) > 4 {
		return fmt.Errorf("'option pgsql-check' cannot handle unexpected argument '%s'.", args[4].Text)
	}
	if len(args) < 4 || args[2].Text == "" || args[3].Text == "" {
		return fmt.Errorf("'option pgsql-check' expects 'user <username>' as argument.")
	}
	if args[2].Text != "user" {
		return fmt.Errorf("'option pgsql-check' only supports optional values: 'user'.")
	}
	p.ps.px.ProtoCheck = &config.ProtoCheck{Pos: p.pos(), Kind: "pgsql", User: args[3].Text}
	return nil
}

func parseMySQLCheck(p *parser, args []token) error {
	if err := noNegation(p, args); err != nil {
		return err
	}
	if len(args) > 5 {
		return fmt.Errorf("'option mysql-check' cannot handle unexpected argument '%s'.", args[5].Text)
	}
	pc := &config.ProtoCheck{Pos: p.pos(), Kind: "mysql"}
	if len(args) > 2 {
		if args[2].Text != "user" {
			return fmt.Errorf("'option mysql-check' only supports optional values: 'user' (got '%s').", args[2].Text)
		}
		if len(args) < 4 || args[3].Text == "" {
			return fmt.Errorf("'option mysql-check user' expects <username> as argument.")
		}
		pc.User = args[3].Text
		if len(args) == 5 {
			switch args[4].Text {
			case "post-41", "":
			case "pre-41":
				pc.Pre41 = true
			default:
				return fmt.Errorf("keyword 'user' only supports 'post-41' and 'pre-41' (got '%s').", args[4].Text)
			}
		}
	}
	p.ps.px.ProtoCheck = pc
	return nil
}

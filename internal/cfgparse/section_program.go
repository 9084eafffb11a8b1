package cfgparse

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// The "program" section (HAProxy's configuration.txt 3.7), read as 2.6's
// cfg_parse_program reads it. HAProxy needs master-worker mode for it;
// Gatehouse's own process starts it.

func programSection() sectionDef {
	return sectionDef{name: "program", kind: secIdentity, syntax: "program <name>", open: openProgram,
		kws: programKeywords(), ownTable: true,
		desc: "A command started with Gatehouse and stopped (SIGTERM) when Gatehouse exits; a reload stops it and starts it again unless 'no option start-on-reload'. Its exits are logged."}
}

func openProgram(p *parser, sec *sectionDef, toks []token) {
	p.program = nil
	if len(toks) < 2 || toks[1].Text == "" {
		p.errorf("'program' expects an <id> argument.")
		p.sec = &sectionDef{name: sec.name, skip: true}
		return
	}
	name := toks[1].Text
	if c, bad := invalidChar(name); bad {
		p.errorf("character '%c' is not permitted in 'program' name '%s'.", c, name)
	}
	for _, o := range p.cfg.Programs {
		if o.Name == name {
			p.errorf("program '%s' has the same name as another program declared at %s.", name, o.Pos)
		}
	}
	p.program = &config.Program{Pos: p.pos(), Name: name, UID: -1, GID: -1}
	p.cfg.Programs = append(p.cfg.Programs, p.program)
}

func programKeywords() []keyword {
	return []keyword{
		{name: "command", syntax: "command <command> [arguments*]", desc: "The command to start (looked up in PATH without a '/'). Required.", parse: func(p *parser, args []token) error {
			if len(args) < 2 || args[1].Text == "" {
				return fmt.Errorf("'%s' expects at least 1 argument.", args[0].Text)
			}
			if p.program.Command != nil {
				return fmt.Errorf("'%s' is already set.", args[0].Text)
			}
			for _, a := range args[1:] {
				p.program.Command = append(p.program.Command, a.Text)
			}
			return nil
		}},
		{name: "user", syntax: "user <user name>", desc: "The user the command runs as.", parse: func(p *parser, args []token) error {
			if len(args) != 2 {
				return fmt.Errorf("'%s' expects exactly 1 argument.", args[0].Text)
			}
			n, err := LookupUserID(args[1].Text)
			if err != nil {
				return fmt.Errorf("cannot find user id for '%s' (%v)", args[1].Text, err)
			}
			p.program.User, p.program.UID = args[1].Text, n
			return nil
		}},
		{name: "group", syntax: "group <group name>", desc: "The group the command runs as.", parse: func(p *parser, args []token) error {
			if len(args) != 2 {
				return fmt.Errorf("'%s' expects exactly 1 argument.", args[0].Text)
			}
			n, err := LookupGroupID(args[1].Text)
			if err != nil {
				return fmt.Errorf("cannot find group id for '%s' (%v)", args[1].Text, err)
			}
			p.program.Group, p.program.GID = args[1].Text, n
			return nil
		}},
		{name: "option", syntax: "[no] option start-on-reload", desc: "Start a new instance on a reload (the default), or keep the running one (no option ...).", parse: func(p *parser, args []token) error {
			if len(args) != 2 || args[1].Text != "start-on-reload" {
				return fmt.Errorf("'option' only supports 'start-on-reload' in a program section.")
			}
			p.program.NoStartOnReload = p.negated
			return nil
		}},
	}
}

func (p *parser) finishPrograms() {
	for _, pg := range p.cfg.Programs {
		if len(pg.Command) == 0 {
			p.errs = append(p.errs, config.Errorf(pg.Pos, "program section '%s' lacks any command", pg.Name))
		}
	}
}

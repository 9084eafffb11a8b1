package cfgparse

import "fmt"

// serverStateGlobalKeywords are the global half of HAProxy's server-state
// file; app/serverstate.go applies it.
func serverStateGlobalKeywords() []keyword {
	return []keyword{
		{name: "server-state-file", where: wGlobal, syntax: "server-state-file <file>",
			desc: "The file ('show servers state' output) backends with 'load-server-state-from-file global' read their servers' states, weights and addresses from at start and on each reload; relative to 'server-state-base' unless it starts with '/'.", parse: parseServerStateGlobal},
		{name: "server-state-base", where: wGlobal, syntax: "server-state-base <directory>",
			desc: "Directory prepended to server state file names that do not start with '/'.", parse: parseServerStateGlobal},
	}
}

// serverStateProxyKeywords are the per-backend half.
func serverStateProxyKeywords() []keyword {
	return []keyword{
		{name: "load-server-state-from-file", where: wBEOnly, syntax: "load-server-state-from-file global|local|none",
			desc: "Restore this backend's servers (operational and admin state, weight, address of servers given by name, port) from the global 'server-state-file' (global), from its own file (local: 'server-state-file-name' or the backend's name, under 'server-state-base'), or not (none, the default).", parse: parseLoadServerState},
		{name: "server-state-file-name", where: wBEOnly, syntax: "server-state-file-name [<file>|use-backend-name]",
			desc: "The file 'load-server-state-from-file local' reads (default: the backend's name), relative to 'server-state-base' unless it starts with '/'.", parse: parseServerStateFileName},
	}
}

func parseServerStateGlobal(p *parser, args []token) error {
	kw := args[0].Text
	if err := wantArgs(args, kw, 1, 1, "one argument"); err != nil {
		return err
	}
	dst := &p.cfg.Global.ServerStateFile
	if kw == "server-state-base" {
		dst = &p.cfg.Global.ServerStateBase
	}
	if *dst != "" {
		return fmt.Errorf("'%s' already specified. Continuing.", kw)
	}
	*dst = args[1].Text
	return nil
}

func parseLoadServerState(p *parser, args []token) error {
	if err := wantArgs(args, "load-server-state-from-file", 1, 1, "one of 'global', 'local' or 'none'"); err != nil {
		return err
	}
	switch v := args[1].Text; v {
	case "global", "local", "none":
		p.ps.px.LoadServerState = v
		return nil
	default:
		return fmt.Errorf("'load-server-state-from-file' unknown value '%s'. Possible values are 'global', 'local' or 'none'.", v)
	}
}

func parseServerStateFileName(p *parser, args []token) error {
	if err := wantArgs(args, "server-state-file-name", 0, 1, "at most one argument"); err != nil {
		return err
	}
	name := ""
	if len(args) == 2 && args[1].Text != "use-backend-name" {
		name = args[1].Text
	}
	p.ps.px.ServerStateFileName = name
	return nil
}

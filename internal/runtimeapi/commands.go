package runtimeapi

import (
	"bufio"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/stats"
)

// Target is the running proxy the API reads and acts on. Errors are
// returned to the client verbatim: HAProxy's messages, ending with "\n".
type Target interface {
	Snapshot() *stats.Snapshot
	// ServersState lists the servers of backend ("" for all); an unknown
	// backend is an error.
	ServersState(backend string) ([]ServerState, error)
	// SetServerState sets the admin state: "ready", "drain" or "maint".
	SetServerState(backend, server, state string) error
	// SetServerWeight sets the user weight: "N" or "N%" of the initial one.
	SetServerWeight(backend, server, weight string) error
	// ServerWeight returns the current and initial weights.
	ServerWeight(backend, server string) (cur, initial int, err error)
}

// PermissionDenied is HAProxy's answer to a command above the socket's level.
const PermissionDenied = "Permission denied\n"

// command is one entry of the command table.
type command struct {
	words []string // the keywords that select it, e.g. "show", "servers", "state"
	usage string   // as shown by help
	level Level    // minimum level
	run   func(ss *session, w *bufio.Writer, args []string)
}

// commands is the command table, in help order.
// The command table is built once: a runtime API client filling a table
// with a million "set table" lines made a million copies of it (~24 KB of
// garbage a command, a collection every half second).
var (
	commandTable     []command
	commandTableOnce sync.Once
)

func commands() []command {
	commandTableOnce.Do(func() { commandTable = buildCommands() })
	return commandTable
}

func buildCommands() []command {
	return append([]command{
		{[]string{"help"}, "help [<command>]                        : list matching or all commands", LevelUser, cmdHelp},
		{[]string{"prompt"}, "prompt                                  : toggle interactive mode with prompt", LevelUser,
			func(ss *session, _ *bufio.Writer, _ []string) { ss.prompt = !ss.prompt }},
		{[]string{"quit"}, "quit                                    : disconnect", LevelUser,
			func(ss *session, _ *bufio.Writer, _ []string) { ss.quit = true }},
		{[]string{"disable", "server"}, "disable server (DEPRECATED)             : disable a server for maintenance (use 'set server' instead)", LevelAdmin,
			func(ss *session, w *bufio.Writer, a []string) { ss.setState(w, a, 2, "maint") }},
		{[]string{"enable", "server"}, "enable server  (DEPRECATED)             : enable a disabled server (use 'set server' instead)", LevelAdmin,
			func(ss *session, w *bufio.Writer, a []string) { ss.setState(w, a, 2, "ready") }},
		{[]string{"get", "weight"}, "get weight <bk>/<srv>                   : report a server's current weight", LevelUser, cmdGetWeight},
		{[]string{"set", "server"}, "set server <bk>/<srv> [opts]            : change a server's state or weight", LevelAdmin, cmdSetServer},
		{[]string{"set", "weight"}, "set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)", LevelAdmin,
			func(ss *session, w *bufio.Writer, a []string) { ss.setWeight(w, a, 2, 3) }},
		{[]string{"show", "cache"}, "show cache                              : show cache status", LevelAdmin, cmdShowCache},
		{[]string{"show", "errors"}, "show errors [<px>] [request|response]   : report last request and/or response errors for each proxy", LevelOperator, cmdShowErrors},
		{[]string{"show", "events"}, "show events [<sink>] [-w] [-n]          : show event sink state", LevelOperator, cmdShowEvents},
		{[]string{"show", "info"}, "show info [desc|json|typed|float]*      : report information about the running process", LevelUser, cmdShowInfo},
		{[]string{"show", "resolvers"}, "show resolvers [id]                     : dumps counters from all resolvers section and associated name servers", LevelUser, cmdShowResolvers},
		{[]string{"show", "peers"}, "show peers [dict|-] [section]           : dump some information about all the peers or this peers section", LevelUser, cmdShowPeers},
		{[]string{"show", "servers", "state"}, "show servers state [<backend>]          : dump volatile server information (all or for a single backend)", LevelUser, cmdShowServersState},
		{[]string{"show", "sess"}, "show sess [id]                          : report the list of current sessions or dump this exact session", LevelOperator, cmdShowSess},
		{[]string{"show", "stat"}, "show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server", LevelUser, cmdShowStat},
		{[]string{"set", "table"}, "set table <table> key <k> [data.* <v>]* : update or create a table entry's data", LevelOperator, cmdSetTable},
		{[]string{"show", "table"}, "show table <table> [<filter>]*          : report table usage stats or dump this table's contents (filter: data/key)", LevelOperator, cmdShowTable},
		{[]string{"clear", "table"}, "clear table <table> [<filter>]*         : remove an entry from a table (filter: data/key)", LevelOperator, cmdClearTable},
		{[]string{"show", "version"}, "show version                            : show version of the current process", LevelUser, cmdShowVersion},
	}, append(append(append(append(mapCommands(), varCommands()...), cookieCommands()...), identityCommands()...), append(acmeCommands(), rateLimitCommands()...)...)...)
}

// matches reports whether args start with c's keywords.
func (c *command) matches(args []string) bool {
	if len(args) < len(c.words) {
		return false
	}
	for i, w := range c.words {
		if args[i] != w {
			return false
		}
	}
	return true
}

func (ss *session) run(w *bufio.Writer, args []string) {
	cmds := commands()
	var found *command
	for i := range cmds {
		// The longest match wins ("show servers state" over a shorter one).
		if cmds[i].matches(args) && (found == nil || len(cmds[i].words) > len(found.words)) {
			found = &cmds[i]
		}
	}
	if found == nil {
		fmt.Fprintf(w, "Unknown command: '%s'. Please enter one of the following commands only:\n", args[0])
		ss.usage(w, cmds)
		return
	}
	if ss.level < found.level {
		w.WriteString(PermissionDenied)
		return
	}
	found.run(ss, w, args)
}

func (ss *session) usage(w *bufio.Writer, cmds []command) {
	for _, c := range cmds {
		if ss.level >= c.level {
			w.WriteString("  " + c.usage + "\n")
		}
	}
}

func cmdHelp(ss *session, w *bufio.Writer, args []string) {
	cmds := commands()
	if len(args) > 1 {
		var match []command
		for _, c := range cmds {
			if c.words[0] == args[1] {
				match = append(match, c)
			}
		}
		if len(match) > 0 {
			cmds = match
		}
	}
	w.WriteString("The following commands are valid at this level:\n")
	ss.usage(w, cmds)
}

// splitServer parses "<bk>/<srv>" as HAProxy's cli_find_server does.
func splitServer(arg string) (be, srv string, msg string) {
	be, srv, ok := strings.Cut(arg, "/")
	if arg == "" || !ok {
		return "", "", "Require 'backend/server'.\n"
	}
	return be, srv, ""
}

// setState applies "state" to the server named by args[i].
func (ss *session) setState(w *bufio.Writer, args []string, i int, state string) {
	if len(args) <= i {
		w.WriteString("Require 'backend/server'.\n")
		return
	}
	be, srv, msg := splitServer(args[i])
	if msg == "" {
		if err := ss.target.SetServerState(be, srv, state); err != nil {
			msg = err.Error()
		}
	}
	w.WriteString(msg)
}

func (ss *session) setWeight(w *bufio.Writer, args []string, i, wi int) {
	if len(args) <= i {
		w.WriteString("Require 'backend/server'.\n")
		return
	}
	be, srv, msg := splitServer(args[i])
	if msg == "" {
		if len(args) <= wi {
			msg = "Require <weight> or <weight%>.\n"
		} else if err := ss.target.SetServerWeight(be, srv, args[wi]); err != nil {
			msg = err.Error()
		}
	}
	// A few of HAProxy's weight messages lack their newline, which would
	// make the answer's terminating empty line go missing.
	if msg != "" && !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	w.WriteString(msg)
}

func cmdSetServer(ss *session, w *bufio.Writer, args []string) {
	const usage = "'set server <srv>' only supports 'state' and 'weight'.\n"
	if len(args) < 3 {
		w.WriteString("Require 'backend/server'.\n")
		return
	}
	if len(args) < 4 {
		w.WriteString(usage)
		return
	}
	switch args[3] {
	case "state":
		if len(args) < 5 || (args[4] != "ready" && args[4] != "drain" && args[4] != "maint") {
			w.WriteString("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n")
			return
		}
		ss.setState(w, args, 2, args[4])
	case "weight":
		ss.setWeight(w, args, 2, 4)
	default:
		w.WriteString(usage)
	}
}

func cmdGetWeight(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 3 {
		w.WriteString("Require 'backend/server'.\n")
		return
	}
	be, srv, msg := splitServer(args[2])
	if msg != "" {
		w.WriteString(msg)
		return
	}
	cur, initial, err := ss.target.ServerWeight(be, srv)
	if err != nil {
		w.WriteString(err.Error())
		return
	}
	fmt.Fprintf(w, "%d (initial %d)\n", cur, initial)
}

func cmdShowStat(ss *session, w *bufio.Writer, args []string) {
	snap := ss.target.Snapshot()
	// The CLI shows the address, cookie and algorithm from operator level.
	snap.Legends = ss.level >= LevelOperator
	var typed, json, up, noMaint bool
	for _, a := range args[2:] {
		switch a {
		case "typed":
			typed = true
		case "json":
			json = true
		case "up":
			up = true
		case "no-maint":
			noMaint = true
		}
	}
	if up || noMaint {
		for _, px := range snap.Proxies {
			kept := px.Servers[:0:0]
			for _, r := range px.Servers {
				if (up && r.IsDown()) || (noMaint && r.State == stats.SrvMaint) {
					continue
				}
				kept = append(kept, r)
			}
			px.Servers = kept
		}
	}
	switch {
	case json:
		stats.WriteJSON(w, snap)
	case typed:
		stats.WriteTyped(w, snap)
	default:
		stats.WriteCSV(w, snap)
	}
}

// cmdShowInfo is "show info [desc|json|typed|float]*"; like HAProxy it
// ignores other words, and "float" changes nothing as no field is one.
func cmdShowInfo(ss *session, w *bufio.Writer, args []string) {
	f, desc := stats.InfoPlain, false
	for _, a := range args[2:] {
		switch a {
		case "typed":
			f = stats.InfoTyped
		case "json":
			f = stats.InfoJSON
		case "desc":
			desc = true
		}
	}
	_ = stats.WriteInfo(w, ss.target.Snapshot(), f, desc)
}

// cmdShowVersion is "show version": the version alone.
func cmdShowVersion(ss *session, w *bufio.Writer, _ []string) {
	w.WriteString(ss.target.Snapshot().Info.Version + "\n")
}

func cmdShowServersState(ss *session, w *bufio.Writer, args []string) {
	be := ""
	if len(args) > 3 {
		be = args[3]
	}
	list, err := ss.target.ServersState(be)
	if err != nil {
		w.WriteString(err.Error())
		return
	}
	WriteServersState(w, list, time.Now())
}

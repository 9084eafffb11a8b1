package runtimeapi

import (
	"bufio"
	"strings"
)

// VarsTarget is a Target with process-wide variables ("get var").
type VarsTarget interface {
	// ProcVar returns a proc variable's type as HAProxy names it (bool,
	// sint, ipv4, ipv6, str, bin) and its value as a string; ok is false
	// when it is not set or not a proc variable.
	ProcVar(name string) (typ, value string, ok bool)
}

func varCommands() []command {
	return []command{
		{[]string{"get", "var"}, "get var <name>                          : retrieve contents of a process-wide variable", LevelOperator, cmdGetVar},
	}
}

// cmdGetVar is "get var <name>", as HAProxy 2.6 answers it: the type and
// the value with unprintable bytes shown as '.'.
func cmdGetVar(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 3 || args[2] == "" {
		w.WriteString("Missing process-wide variable identifier.\n")
		return
	}
	vt, ok := ss.target.(VarsTarget)
	var typ, val string
	if ok {
		typ, val, ok = vt.ProcVar(args[2])
	}
	if !ok {
		w.WriteString("Variable not found.\n")
		return
	}
	w.WriteString(args[2] + ": type=" + typ + " value=<")
	w.WriteString(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '.'
		}
		return r
	}, val))
	w.WriteString(">")
}

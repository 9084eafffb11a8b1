package runtimeapi

import (
	"bufio"
	"io"
)

// ACMETarget is implemented by a Target whose configuration has acme
// sections.
type ACMETarget interface {
	// ACMEStatus writes HAProxy 3.2's "acme status".
	ACMEStatus(w io.Writer)
	// ACMERenew starts an order of the certificate (its load line's crt
	// or its file); false when no acme section keeps it.
	ACMERenew(crt string) bool
}

func acmeCommands() []command {
	return []command{
		{[]string{"acme", "status"}, "acme status                             : show the status of the ACME certificates", LevelAdmin, cmdACMEStatus},
		{[]string{"acme", "renew"}, "acme renew <certfile>                   : renew an ACME certificate now", LevelAdmin, cmdACMERenew},
	}
}

func cmdACMEStatus(ss *session, w *bufio.Writer, _ []string) {
	at, ok := ss.target.(ACMETarget)
	if !ok {
		w.WriteString("No ACME certificate configured.\n")
		return
	}
	at.ACMEStatus(w)
}

func cmdACMERenew(ss *session, w *bufio.Writer, args []string) {
	if len(args) < 3 || args[2] == "" {
		w.WriteString("'acme renew' expects a certificate name.\n")
		return
	}
	at, ok := ss.target.(ACMETarget)
	if !ok || !at.ACMERenew(args[2]) {
		w.WriteString("Certificate '" + args[2] + "' is not configured with ACME.\n")
		return
	}
	w.WriteString("ACME renewal of certificate '" + args[2] + "' started.\n")
}

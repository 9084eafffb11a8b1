package runtimeapi

import (
	"bufio"
	"fmt"
	"strings"
	"time"
)

// IdentitySession is one server-side session, as "show identity sessions"
// lists it.
type IdentitySession struct {
	OIDC     string // the oidc section
	ID       string
	Sub      string
	Sid      string
	Email    string
	Created  time.Time
	LastSeen time.Time
	Replica  string // the replica that last verified it
}

// IdentityTarget is implemented by a Target whose oidc sections keep
// sessions in a session store. Errors are answered verbatim.
type IdentityTarget interface {
	// IdentitySessions lists the sessions of section name ("" all
	// sections with a store), of subject sub ("" all).
	IdentitySessions(name, sub string) ([]IdentitySession, error)
	// EndIdentitySession ends the session id, whichever section holds it.
	EndIdentitySession(id string) error
	// EndIdentitySessions ends every session of sub in section name.
	EndIdentitySessions(name, sub string) (int, error)
}

func identityCommands() []command {
	return []command{
		{[]string{"show", "identity", "sessions"}, "show identity sessions [<oidc>] [sub <s>] : list the sessions of the oidc session stores", LevelOperator, cmdShowIdentitySessions},
		{[]string{"del", "identity", "session"}, "del identity session <id>               : end one stored session on every replica", LevelAdmin, cmdDelIdentitySession},
		{[]string{"del", "identity", "sessions"}, "del identity sessions <oidc> sub <s>    : end every stored session of a subject", LevelAdmin, cmdDelIdentitySessions},
	}
}

func (ss *session) identity(w *bufio.Writer) (IdentityTarget, bool) {
	t, ok := ss.target.(IdentityTarget)
	if !ok {
		w.WriteString("No oidc section keeps sessions in a session store.\n")
	}
	return t, ok
}

// cmdShowIdentitySessions prints one line per session: section, id, sub,
// sid, email, created, last seen, replica ("-" for an empty field).
func cmdShowIdentitySessions(ss *session, w *bufio.Writer, args []string) {
	name, sub := "", ""
	rest := args[3:]
	if len(rest) > 0 && rest[0] != "sub" {
		name, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		if rest[0] != "sub" || len(rest) != 2 {
			w.WriteString("Usage: show identity sessions [<oidc>] [sub <subject>]\n")
			return
		}
		sub = rest[1]
	}
	t, ok := ss.identity(w)
	if !ok {
		return
	}
	l, err := t.IdentitySessions(name, sub)
	if err != nil {
		w.WriteString(err.Error())
		return
	}
	w.WriteString("# oidc id sub sid email created last_seen replica\n")
	for _, s := range l {
		fmt.Fprintf(w, "%s %s %s %s %s %s %s %s\n", field(s.OIDC), field(s.ID), field(s.Sub), field(s.Sid), field(s.Email),
			stamp(s.Created), stamp(s.LastSeen), field(s.Replica))
	}
}

// field keeps a line's fields apart: spaces and control characters in a
// value (a subject is the provider's choice) become '_'.
func field(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdDelIdentitySession(ss *session, w *bufio.Writer, args []string) {
	if len(args) != 4 {
		w.WriteString("Usage: del identity session <id>\n")
		return
	}
	t, ok := ss.identity(w)
	if !ok {
		return
	}
	if err := t.EndIdentitySession(args[3]); err != nil {
		w.WriteString(err.Error())
		return
	}
	w.WriteString("Session ended.\n")
}

func cmdDelIdentitySessions(ss *session, w *bufio.Writer, args []string) {
	if len(args) != 6 || args[4] != "sub" {
		w.WriteString("Usage: del identity sessions <oidc> sub <subject>\n")
		return
	}
	t, ok := ss.identity(w)
	if !ok {
		return
	}
	n, err := t.EndIdentitySessions(args[3], args[5])
	if err != nil {
		w.WriteString(err.Error())
		return
	}
	fmt.Fprintf(w, "%d session(s) ended.\n", n)
}

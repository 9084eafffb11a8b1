package runtimeapi

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/stats"
)

// fakeIdentity records the calls of the identity session commands.
type fakeIdentity struct {
	calls []string
}

func (f *fakeIdentity) Snapshot() *stats.Snapshot                     { return &stats.Snapshot{} }
func (f *fakeIdentity) ServersState(string) ([]ServerState, error)    { return nil, nil }
func (f *fakeIdentity) SetServerState(string, string, string) error   { return nil }
func (f *fakeIdentity) SetServerWeight(string, string, string) error  { return nil }
func (f *fakeIdentity) ServerWeight(string, string) (int, int, error) { return 0, 0, nil }
func (f *fakeIdentity) EndIdentitySession(id string) error {
	f.calls = append(f.calls, "end "+id)
	if id == "gone" {
		return errors.New("No such session.\n")
	}
	return nil
}
func (f *fakeIdentity) EndIdentitySessions(name, sub string) (int, error) {
	f.calls = append(f.calls, "endsub "+name+" "+sub)
	return 2, nil
}
func (f *fakeIdentity) IdentitySessions(name, sub string) ([]IdentitySession, error) {
	f.calls = append(f.calls, "list "+name+" "+sub)
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	return []IdentitySession{{OIDC: "corp", ID: "abc", Sub: "alice smith", Email: "alice@example.com", Created: at, LastSeen: at.Add(time.Minute), Replica: "r1"}}, nil
}

func TestIdentitySessionCommands(t *testing.T) {
	cases := []struct {
		level      Level
		line, want string
		call       string
	}{
		{LevelOperator, "show identity sessions", "# oidc id sub sid email created last_seen replica\n" +
			"corp abc alice_smith - alice@example.com 2026-12-07T06:00:00Z 2026-12-07T06:01:00Z r1\n", "list  "},
		{LevelOperator, "show identity sessions corp", "", "list corp "},
		{LevelOperator, "show identity sessions corp sub alice", "", "list corp alice"},
		{LevelOperator, "show identity sessions sub alice", "", "list  alice"},
		{LevelOperator, "show identity sessions corp sub", "Usage: show identity sessions [<oidc>] [sub <subject>]\n", ""},
		{LevelUser, "show identity sessions", PermissionDenied, ""},
		{LevelOperator, "del identity session abc", PermissionDenied, ""},
		{LevelAdmin, "del identity session abc", "Session ended.\n", "end abc"},
		{LevelAdmin, "del identity session gone", "No such session.\n", "end gone"},
		{LevelAdmin, "del identity session", "Usage: del identity session <id>\n", ""},
		{LevelAdmin, "del identity sessions corp sub alice", "2 session(s) ended.\n", "endsub corp alice"},
		{LevelAdmin, "del identity sessions corp alice", "Usage: del identity sessions <oidc> sub <subject>\n", ""},
	}
	for _, c := range cases {
		f := &fakeIdentity{}
		ss := &session{target: f, level: c.level}
		var b strings.Builder
		w := bufio.NewWriter(&b)
		ss.run(w, strings.Fields(c.line))
		w.Flush()
		if c.want != "" && b.String() != c.want {
			t.Errorf("%s: got %q, want %q", c.line, b.String(), c.want)
		}
		if got := strings.Join(f.calls, ";"); got != c.call {
			t.Errorf("%s: calls %q, want %q", c.line, got, c.call)
		}
	}
}

package identity

import (
	"strings"
	"testing"
)

// The session keeps the provider's 'sid' (back-channel logout ends sessions
// by it), through a refresh whose ID token leaves it out too.
func TestSessionKeepsSid(t *testing.T) {
	op := newFakeOP(t)
	op.sid = "op-session-7"
	p := newTestProvider(t, op, nil)
	cookies := login(t, p, "/")
	var parts []string
	for _, c := range cookies {
		_, v, _ := strings.Cut(c, "=")
		parts = append(parts, v)
	}
	s, err := p.openSession(parts, p.now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Sid != "op-session-7" {
		t.Fatalf("session sid = %q, want op-session-7", s.Sid)
	}
	if _, ok := s.Claims["sid"]; ok {
		t.Error("sid copied into the user's claims")
	}
	op.sid = ""
	ns, _, err := p.redeem(t.Context(), p.ready.Load(), s)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Sid != "op-session-7" {
		t.Fatalf("refreshed session sid = %q, want the first one kept", ns.Sid)
	}
}

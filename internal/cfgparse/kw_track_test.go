package cfgparse

import (
	"strings"
	"testing"
)

// TestTrackSyntax: "track" resolves as HAProxy's srv_apply_track, with its
// messages: an unknown proxy or server, a tracked server without checks,
// a chain looping back, and checks together with tracking are errors.
func TestTrackSyntax(t *testing.T) {
	const head = "defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n" +
		"listen l\n    bind 127.0.0.1:8080\n"
	for _, tc := range []struct{ servers, err string }{
		{"    server a 127.0.0.1:1 check\n    server b 127.0.0.1:2 track a\n    server c 127.0.0.1:3 track l/b\n", ""},
		{"    server a 127.0.0.1:1 track nope/x\n", "unable to find required proxy 'nope' for tracking."},
		{"    server a 127.0.0.1:1 track x\n", "unable to find required server 'x' for tracking."},
		{"    server a 127.0.0.1:1\n    server b 127.0.0.1:2 track a\n", "unable to use l/a for tracking as it does not have any check nor agent enabled."},
		{"    server a 127.0.0.1:1 agent-check agent-port 9\n    server b 127.0.0.1:2 track a\n", ""},
		{"    server a 127.0.0.1:1 track b\n    server b 127.0.0.1:2 track a\n", "unable to track l/b as it belongs to a tracking chain looping back to l/a."},
		{"    server a 127.0.0.1:1 check\n    server b 127.0.0.1:2 check track a\n", "unable to enable checks and tracking at the same time!"},
	} {
		_, err := Parse("c.cfg", []byte(head+tc.servers), Options{LookupEnv: testEnv})
		if tc.err == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.servers, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.servers, err, tc.err)
		}
	}
}

// TestOnMarkedSyntax: on-marked-down and on-marked-up take HAProxy's one
// value each, with its message for another.
func TestOnMarkedSyntax(t *testing.T) {
	px, _, err := parseBackend(t, "    server a 127.0.0.1:1 check on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions")
	if err != nil {
		t.Fatal(err)
	}
	if s := px.Servers[0]; s.OnMarkedDown != "shutdown-sessions" || s.OnMarkedUp != "shutdown-backup-sessions" {
		t.Errorf("got %q %q", s.OnMarkedDown, s.OnMarkedUp)
	}
	for line, want := range map[string]string{
		"    server a 127.0.0.1:1 on-marked-down foo": "'on-marked-down' expects 'shutdown-sessions' but got 'foo'",
		"    server a 127.0.0.1:1 on-marked-up bar":   "'on-marked-up' expects 'shutdown-backup-sessions' but got 'bar'",
	} {
		if _, _, err := parseBackend(t, line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", line, err, want)
		}
	}
}

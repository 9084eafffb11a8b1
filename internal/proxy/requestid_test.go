package proxy

import (
	"regexp"
	"testing"
)

// TestRequestIDForms: the ids built in place keep their wire forms: a
// version 4, RFC 4122 variant UUID, and a valid W3C traceparent that keeps
// a trusted trace id and flags.
func TestRequestIDForms(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id := string(appendUUID([]byte("x")))
		if id[0] != 'x' || !uuid.MatchString(id[1:]) {
			t.Fatalf("uuid %q", id)
		}
		if seen[id] {
			t.Fatalf("uuid %q twice", id)
		}
		seen[id] = true
		tp := string(appendTraceparent(nil, "", "01"))
		if !validTraceparent(tp) || tp[53:] != "01" {
			t.Fatalf("traceparent %q", tp)
		}
		const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
		hop := string(appendTraceparent(nil, trace, "00"))
		if !validTraceparent(hop) || hop[3:35] != trace || hop[53:] != "00" || hop[36:52] == tp[36:52] {
			t.Fatalf("hop %q", hop)
		}
	}
}

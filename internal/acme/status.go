package acme

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CertStatus is one certificate's state, for "acme status" and metrics.
type CertStatus struct {
	Section  string
	Name     string
	Path     string
	Domains  []string
	State    string    // Running, Scheduled, Waiting (another replica orders), Stopped
	NotAfter time.Time // zero before the first issuance
	Next     time.Time // next order or look
	OrdersOK uint64
	Failed   uint64
	LastErr  string
}

// Status describes the section's certificates in configuration order.
func (m *Manager) Status() []CertStatus {
	out := make([]CertStatus, 0, len(m.certs))
	for _, c := range m.certs {
		c.mu.Lock()
		out = append(out, CertStatus{Section: m.sec.Name, Name: c.Name, Path: c.Path, Domains: c.Domains,
			State: c.state, NotAfter: c.notAfter, Next: c.next, OrdersOK: c.ok.Load(), Failed: c.failed.Load(), LastErr: c.lastErr})
		c.mu.Unlock()
	}
	return out
}

// FormatStatus writes HAProxy 3.2's "acme status": a header line, then
// one tab-separated line per certificate (name, section, state,
// expiration date and how far it is, schedule date and how far).
func FormatStatus(sts []CertStatus, now time.Time) string {
	var b strings.Builder
	b.WriteString("# certificate\tsection\tstate\texpiration date (UTC)\texpires in\tscheduled date (UTC)\tscheduled in\n")
	for _, s := range sts {
		state := s.State
		if state == "Waiting" {
			state = "Scheduled" // HAProxy's states; another replica runs it
		}
		exp, expIn := "-", "-"
		if !s.NotAfter.IsZero() {
			exp, expIn = s.NotAfter.UTC().Format("2006-01-02T15:04:05Z"), relTime(s.NotAfter.Sub(now))
		}
		sched, schedIn := "-", "-"
		if !s.Next.IsZero() {
			sched, schedIn = s.Next.UTC().Format("2006-01-02T15:04:05Z"), relTime(s.Next.Sub(now))
		}
		if s.State == "Running" {
			schedIn = relTime(0)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Section, state, exp, expIn, sched, schedIn)
	}
	return b.String()
}

// relTime is HAProxy's "89d 23h01m13s"; 0 for the past.
func relTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
}

// Responder answers HTTP-01 challenges for a set of sections: the tokens
// of this process's pending orders, then those the replicas shared.
type Responder struct {
	managers []*Manager
	stores   []ChallengeStore
}

// NewResponder answers for ms, asking stores (deduplicated by the caller)
// for tokens other replicas put there.
func NewResponder(ms []*Manager, stores []ChallengeStore) *Responder {
	return &Responder{managers: ms, stores: stores}
}

// ChallengePrefix is the path HTTP-01 requests come to (RFC 8555 8.3).
const ChallengePrefix = "/.well-known/acme-challenge/"

// Lookup returns the key authorization to answer for a request path, and
// whether it is a pending token's. Anything else under the prefix is left
// to the rules, as it would be without ACME.
func (r *Responder) Lookup(path string) (string, bool) {
	token, ok := strings.CutPrefix(path, ChallengePrefix)
	if !ok || !validToken(token) {
		return "", false
	}
	for _, m := range r.managers {
		if ka, ok := m.tokens.get(token); ok {
			return ka, true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range r.stores {
		if ka, ok, err := s.Get(ctx, token); err == nil && ok {
			return ka, true
		}
	}
	return "", false
}

// validToken: ACME tokens are base64url (RFC 8555 8.1), at least 128 bits.
func validToken(t string) bool {
	if len(t) < 22 || len(t) > 256 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

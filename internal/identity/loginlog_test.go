package identity

import (
	"bytes"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// A provider's error_description is the client's to choose (it rides in
// the callback's query): with %0a in it, the refused login must still be
// one log line, wired as app wires the provider's Logf.
func TestRefusedLoginLogIsOneLine(t *testing.T) {
	op := newFakeOP(t)
	p := newTestProvider(t, op, nil)
	var out lockedBuf
	l, err := logging.NewLogger([]*config.Log{{Target: "stdout", Format: "raw"}}, logging.Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	p.logf = func(f string, a ...any) { l.Printf(logging.LevelWarning, f, a...) }

	_, rep := p.Authenticate(browserReq("/start"), true)
	state := cookiePairs(rep.Header)
	loc, _ := rep.Header.Get("Location")
	u, _ := url.Parse(loc)
	st := u.Query().Get("state")
	desc := url.QueryEscape("denied\n[07/Dec/2026:00:00:00.000] fe be/srv 0/0/0/0/0 200 1 - - ---- \"GET /admin HTTP/1.1\"\r\x00\x1b")
	_, rep = p.Authenticate(browserReq("/oauth2/callback?error=access_denied&error_description="+desc+"&state="+st, state...), true)
	if rep == nil || rep.Status != 403 {
		t.Fatalf("callback with error: %+v", rep)
	}
	l.Close()
	got := out.b.String()
	if strings.Count(got, "\n") != 1 {
		t.Fatalf("refused login wrote %d lines: %q", strings.Count(got, "\n"), got)
	}
	for _, b := range []byte(strings.TrimSuffix(got, "\n")) {
		if b < 32 || b == 127 {
			t.Fatalf("raw control byte %#x in %q", b, got)
		}
	}
	if !strings.Contains(got, "login refused: provider refused the login: access_denied denied#0A[07/Dec/2026") || !strings.Contains(got, "#0D#00#1B") {
		t.Errorf("log line %q", got)
	}
}

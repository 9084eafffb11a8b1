package acme

import (
	"crypto"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	m := &Manager{sec: &config.ACME{RetryMin: time.Second, RetryMax: 10 * time.Second}}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := m.backoff(i + 1); got != w {
			t.Errorf("failure %d: %v, want %v", i+1, got, w)
		}
	}
	if got := m.backoff(1000); got != 10*time.Second {
		t.Errorf("failure 1000: %v", got)
	}
	def := &Manager{sec: &config.ACME{}}
	if def.backoff(1) != time.Minute || def.backoff(10) != time.Hour {
		t.Errorf("defaults: %v %v", def.backoff(1), def.backoff(10))
	}
}

func TestRenewTime(t *testing.T) {
	nb := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	na := nb.Add(90 * 24 * time.Hour)
	if got := (&Manager{sec: &config.ACME{}}).renewTime(nb, na); !got.Equal(nb.Add(60 * 24 * time.Hour)) {
		t.Errorf("two thirds of 90 days: %v", got)
	}
	if got := (&Manager{sec: &config.ACME{RenewAt: 50}}).renewTime(nb, na); !got.Equal(nb.Add(45 * 24 * time.Hour)) {
		t.Errorf("renew-at 50%%: %v", got)
	}
}

func TestFormatStatus(t *testing.T) {
	now := time.Date(2025, 5, 7, 10, 49, 41, 0, time.UTC)
	got := FormatStatus([]CertStatus{
		{Section: "LE", Name: "foobar.pem.rsa", State: "Scheduled", NotAfter: time.Date(2025, 8, 4, 11, 50, 54, 0, time.UTC), Next: time.Date(2025, 7, 27, 23, 50, 55, 0, time.UTC)},
		{Section: "LE", Name: "ecdsa.pem", State: "Running", NotAfter: time.Date(2020, 1, 18, 9, 31, 12, 0, time.UTC), Next: now},
		{Section: "LE", Name: "new.pem", State: "Waiting"},
	}, now)
	// HAProxy 3.2's management.txt example lines, and "-" where nothing is known yet.
	want := "# certificate\tsection\tstate\texpiration date (UTC)\texpires in\tscheduled date (UTC)\tscheduled in\n" +
		"foobar.pem.rsa\tLE\tScheduled\t2025-08-04T11:50:54Z\t89d 1h01m13s\t2025-07-27T23:50:55Z\t81d 13h01m14s\n" +
		"ecdsa.pem\tLE\tRunning\t2020-01-18T09:31:12Z\t0d 0h00m00s\t2025-05-07T10:49:41Z\t0d 0h00m00s\n" +
		"new.pem\tLE\tScheduled\t-\t-\t-\t-\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidToken(t *testing.T) {
	for tok, ok := range map[string]bool{
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA": true,
		"short":                             false,
		"../../../../etc/passwd/aaaaaaaaaa": false,
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ%2FPCt92wr":  false,
		"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ.PCt92wr-oA": false,
	} {
		if validToken(tok) != ok {
			t.Errorf("validToken(%q) = %v", tok, !ok)
		}
	}
	r := NewResponder(nil, nil)
	if _, ok := r.Lookup("/.well-known/acme-challenge/../../x"); ok {
		t.Error("a dot-segment path was answered")
	}
}

// TestPlaceholderOnce: replicas starting together write one placeholder;
// it is recognised as such (ordered at once) and covers the names.
func TestPlaceholderOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.pem")
	var wg sync.WaitGroup
	wrote := make(chan bool, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ph, err := placeholder([]string{"a.example", "b.example"}, "ECDSA", 0, "P-256")
			if err != nil {
				t.Error(err)
				return
			}
			ok, err := createExclusive(path, ph, 0o600)
			if err != nil {
				t.Error(err)
			}
			wrote <- ok
		}()
	}
	wg.Wait()
	close(wrote)
	n := 0
	for ok := range wrote {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d placeholders written", n)
	}
	st, err := readStored(path)
	if err != nil || !st.placeholder || !covers(st.leaf, []string{"a.example", "b.example"}) || covers(st.leaf, []string{"c.example"}) {
		t.Fatalf("placeholder: %+v %v", st, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

// TestAccountKeyReused: the key generated at first use is read back, not
// replaced, so the account stays the same across restarts.
func TestAccountKeyReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "LE.account.key")
	k1, err := loadOrCreateAccountKey(path, "ECDSA", 0, "P-384")
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(path)
	k2, err := loadOrCreateAccountKey(path, "RSA", 2048, "")
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(path)
	if string(b1) != string(b2) || !k1.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k2.Public()) {
		t.Fatal("the stored account key was replaced")
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateAccountKey(path, "ECDSA", 0, "P-384"); err == nil {
		t.Fatal("a damaged account key was accepted (or replaced)")
	}
}

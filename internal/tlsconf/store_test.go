package tlsconf

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// leafName is the first SNI name of the certificate GetCertificate returns.
func leafName(t *testing.T, s *Store, sni string) string {
	t.Helper()
	c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
	if err != nil {
		t.Fatalf("GetCertificate(%q): %v", sni, err)
	}
	return c.Leaf.Subject.CommonName
}

func TestSNISelection(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	// Loaded in this order; "default" is first, so it is the default.
	def := ca.WritePEMFile(t, dir, "0-default.pem", "default.example.net")
	exact := ca.WritePEMFile(t, dir, "1-www.pem", "www.example.com")
	wild := ca.WritePEMFile(t, dir, "2-wild.pem", "*.example.com")
	deep := ca.WritePEMFile(t, dir, "3-deep.pem", "*.api.example.com", "Mixed.Example.ORG")
	s, err := LoadStore([]string{def, exact, wild, deep})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sni, want string
	}{
		{"www.example.com", "www.example.com"},
		{"WWW.Example.COM", "www.example.com"},  // case-insensitive
		{"www.example.com.", "www.example.com"}, // trailing dot
		{"shop.example.com", "*.example.com"},   // wildcard
		{"a.b.example.com", "default.example.net"},
		{"example.com", "default.example.net"}, // wildcard needs one label
		{"v1.api.example.com", "*.api.example.com"},
		{"api.example.com", "*.example.com"},
		{"mixed.example.org", "*.api.example.com"}, // second SAN, case folded at load
		{"unknown.test", "default.example.net"},
		{"", "default.example.net"}, // no SNI
		{"default.example.net", "default.example.net"},
	}
	for _, tt := range tests {
		if got := leafName(t, s, tt.sni); got != tt.want {
			t.Errorf("SNI %q: got %q, want %q", tt.sni, got, tt.want)
		}
	}
}

func TestSNIExactBeatsEarlierWildcard(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	wild := ca.WritePEMFile(t, dir, "a.pem", "*.example.com")
	exact := ca.WritePEMFile(t, dir, "b.pem", "www.example.com")
	s, err := LoadStore([]string{wild, exact})
	if err != nil {
		t.Fatal(err)
	}
	if got := leafName(t, s, "www.example.com"); got != "www.example.com" {
		t.Errorf("got %q, want the exact certificate", got)
	}
	if got := leafName(t, s, "nope.test"); got != "*.example.com" {
		t.Errorf("default: got %q, want the first loaded", got)
	}
}

func TestNamesFromCommonName(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	c, k := ca.IssueLeaf(t, tlstest.Leaf{CommonName: "cn-only.example.com"})
	noSAN := tlstest.WriteFile(t, filepath.Join(dir, "a.pem"), append(c, k...))
	c, k = ca.IssueLeaf(t, tlstest.Leaf{CommonName: "cn.example.com", Names: []string{"san.example.com"}})
	both := tlstest.WriteFile(t, filepath.Join(dir, "b.pem"), append(c, k...))
	def := ca.WritePEMFile(t, t.TempDir(), "def.pem", "def.test")
	s, err := LoadStore([]string{def, noSAN, both})
	if err != nil {
		t.Fatal(err)
	}
	// HAProxy indexes SAN DNS names and the CN alike.
	for sni, want := range map[string]string{
		"cn-only.example.com": "cn-only.example.com",
		"san.example.com":     "cn.example.com",
		"cn.example.com":      "cn.example.com",
	} {
		if got := leafName(t, s, sni); got != want {
			t.Errorf("SNI %q: got %q, want %q", sni, got, want)
		}
	}
}

func TestDirectoryLoading(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "b.pem", "b.test")
	ca.WritePEMFile(t, dir, "a.pem", "a.test")
	// Sidecar key: c.pem holds only the certificate, c.pem.key the key.
	c, k := ca.Issue(t, "c.test")
	tlstest.WriteFile(t, filepath.Join(dir, "c.pem"), c)
	tlstest.WriteFile(t, filepath.Join(dir, "c.pem.key"), k)
	// Reserved extensions and dot files are not certificates.
	tlstest.WriteFile(t, filepath.Join(dir, "a.pem.ocsp"), []byte("junk"))
	tlstest.WriteFile(t, filepath.Join(dir, "a.pem.issuer"), []byte("junk"))
	tlstest.WriteFile(t, filepath.Join(dir, "a.pem.sctl"), []byte("junk"))
	tlstest.WriteFile(t, filepath.Join(dir, ".hidden.pem"), []byte("junk"))
	// Subdirectories are skipped, Kubernetes' "..data" included.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := LoadStore([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var files, names []string
	for _, ci := range s.Certificates() {
		files = append(files, filepath.Base(ci.File))
		names = append(names, ci.Names...)
	}
	if want := []string{"a.pem", "b.pem", "c.pem"}; !slices.Equal(files, want) {
		t.Errorf("files %v, want %v (alphabetical)", files, want)
	}
	if want := []string{"a.test", "b.test", "c.test"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if got := leafName(t, s, ""); got != "a.test" {
		t.Errorf("default %q, want the alphabetically first", got)
	}
	if ci := s.Certificates()[2]; filepath.Base(ci.KeyFile) != "c.pem.key" {
		t.Errorf("c.pem key file %q", ci.KeyFile)
	}
}

func TestPathOrder(t *testing.T) {
	// A file given before a directory is the default, whatever its name.
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "a.pem", "a.test")
	z := ca.WritePEMFile(t, t.TempDir(), "z.pem", "z.test")
	s, err := LoadStore([]string{z, dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := leafName(t, s, "nomatch.test"); got != "z.test" {
		t.Errorf("default %q, want z.test", got)
	}
}

func TestKubernetesSecretLayout(t *testing.T) {
	// A secret volume: tls.pem -> ..data/tls.pem, ..data -> ..2024_01.
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ts := filepath.Join(dir, "..2024_01")
	ca.WritePEMFile(t, ts, "tls.pem", "k8s.test")
	must(t, os.Symlink("..2024_01", filepath.Join(dir, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "tls.pem"), filepath.Join(dir, "tls.pem")))
	s, err := LoadStore([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if ci := s.Certificates(); len(ci) != 1 || filepath.Base(ci[0].File) != "tls.pem" {
		t.Fatalf("loaded %+v, want only tls.pem", ci)
	}
}

func TestDelExtSidecar(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	c, k := ca.Issue(t, "k.test")
	crt := tlstest.WriteFile(t, filepath.Join(dir, "tls.crt"), c)
	tlstest.WriteFile(t, filepath.Join(dir, "tls.key"), k)
	if _, err := LoadStore([]string{crt}); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("without DelExt: err %v, want ErrNoPrivateKey", err)
	}
	s, err := LoadStoreWithOptions([]string{dir}, Options{DelExt: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := leafName(t, s, ""); got != "k.test" {
		t.Errorf("got %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	c1, k1 := ca.Issue(t, "one.test")
	_, k2 := ca.Issue(t, "two.test")
	write := func(name string, parts ...[]byte) string {
		return tlstest.WriteFile(t, filepath.Join(dir, name), slices.Concat(parts...))
	}
	keyFirst := write("keyfirst.pem", k1, c1) // order within the file does not matter
	tests := []struct {
		name    string
		paths   []string
		wantErr error
		wantMsg []string
	}{
		{"no key", []string{write("nokey.pem", c1)}, ErrNoPrivateKey,
			[]string{"nokey.pem", "nokey.pem.key"}},
		{"mismatch", []string{write("mismatch.pem", c1, k2)}, ErrKeyMismatch,
			[]string{"mismatch.pem"}},
		{"sidecar mismatch", []string{write("side.pem", c1), write("side.pem.key", k2)}, ErrKeyMismatch,
			[]string{"side.pem", "side.pem.key"}},
		{"sidecar without key", []string{write("side2.pem", c1), write("side2.pem.key", c1)}, ErrNoPrivateKey,
			[]string{"side2.pem.key"}},
		{"no certificate", []string{write("onlykey.pem", k1)}, ErrNoCertificate,
			[]string{"onlykey.pem"}},
		{"not pem", []string{write("garbage.pem", []byte("hello\n"))}, ErrNoCertificate,
			[]string{"garbage.pem"}},
		{"encrypted key", []string{write("enc.pem", c1, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))},
			ErrEncryptedKey, []string{"enc.pem"}},
		{"missing file", []string{filepath.Join(dir, "absent.pem")}, os.ErrNotExist,
			[]string{"absent.pem"}},
		{"empty dir", []string{t.TempDir()}, ErrNoCertificate, []string{"directory"}},
		{"ok key first", []string{keyFirst}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := tt.paths
			if tt.name == "sidecar mismatch" || tt.name == "sidecar without key" {
				paths = paths[:1]
			}
			_, err := LoadStore(paths)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestExpiredIsAWarning(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	c, k := ca.IssueLeaf(t, tlstest.Leaf{
		Names:     []string{"old.test"},
		NotBefore: time.Now().Add(-48 * time.Hour),
		NotAfter:  time.Now().Add(-24 * time.Hour),
	})
	p := tlstest.WriteFile(t, filepath.Join(dir, "old.pem"), append(c, k...))
	s, err := LoadStore([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	w := s.Warnings()
	if len(w) != 1 || !errors.Is(w[0], ErrExpired) || !strings.Contains(w[0].Error(), "old.pem") {
		t.Fatalf("warnings %v, want one ErrExpired naming old.pem", w)
	}
	if got := leafName(t, s, "old.test"); got != "old.test" {
		t.Errorf("expired certificate not served: %q", got)
	}
}

func TestChainIsServed(t *testing.T) {
	root := tlstest.NewCA(t)
	inter := root.NewIntermediate(t)
	p := inter.WritePEMFile(t, t.TempDir(), "leaf.pem", "chain.test")
	s, err := LoadStore([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "chain.test"})
	if len(c.Certificate) != 2 {
		t.Fatalf("chain length %d, want leaf + intermediate", len(c.Certificate))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkGetCertificate(b *testing.B) {
	ca := tlstest.NewCA(b)
	dir := b.TempDir()
	var paths []string
	for _, n := range []string{"a.example.com", "b.example.com", "*.example.org", "Mixed.Example.net"} {
		paths = append(paths, ca.WritePEMFile(b, dir, n+".pem", n))
	}
	s, err := LoadStore(paths)
	if err != nil {
		b.Fatal(err)
	}
	for _, sni := range []string{"b.example.com", "www.example.org", "MIXED.example.net", "none.test"} {
		b.Run(sni, func(b *testing.B) {
			hello := &tls.ClientHelloInfo{ServerName: sni}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.GetCertificate(hello); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

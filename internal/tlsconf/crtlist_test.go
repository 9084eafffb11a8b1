package tlsconf

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// TestCrtListSelection: SNI filters replace a line's certificate names,
// wildcards cover one label, "!name" keeps a name out of its own line's
// wildcards, "!*" adds nothing, the first certificate of the line stays the
// default, and crt paths and crt-lists load in the order of the bind line.
func TestCrtListSelection(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "default.pem", "default.example")
	ca.WritePEMFile(t, dir, "wild.pem", "wild.example")
	ca.WritePEMFile(t, dir, "secure.pem", "secure.example")
	ca.WritePEMFile(t, dir, "named.pem", "named.example.org")
	first := ca.WritePEMFile(t, dir, "first.pem", "first.example")
	list := tlstest.WriteFile(t, filepath.Join(dir, "list.txt"), []byte(`# comment
default.pem !*

wild.pem   *.example.com !secure.example.com
secure.pem [alpn h2 ciphers ECDHE-ECDSA-AES256-GCM-SHA384] secure.example.com
named.pem
`))
	b := &config.Bind{Addr: ":443", SSL: true, CrtLists: []config.CrtList{{Path: list, Base: dir}}}
	s, err := LoadBindStore(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for sni, want := range map[string]string{
		"a.example.com":      "wild.example",
		"secure.example.com": "secure.example",
		"named.example.org":  "named.example.org",
		"default.example":    "default.example", // "!*": not by name, but the default anyway
		"wild.example":       "default.example", // filters replace the certificate's names
		"a.b.example.com":    "default.example",
		"":                   "default.example",
	} {
		if got := leafName(t, s, sni); got != want {
			t.Errorf("SNI %q: got %s, want %s", sni, got, want)
		}
	}
	if c := s.lookup(&tls.ClientHelloInfo{ServerName: "other.example"}, true); c != nil {
		t.Errorf("strict lookup of an unknown name gave %s", c.cert.Leaf.Subject.CommonName)
	}

	// A crt before the crt-list is the default.
	b2 := &config.Bind{Addr: ":443", SSL: true, Crts: []string{first}, CrtLists: []config.CrtList{{Path: list, Base: dir, After: 1}}}
	s2, err := LoadBindStore(b2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := leafName(t, s2, "unknown.example"); got != "first.example" {
		t.Errorf("default with crt first: %s", got)
	}

	// The secure line's options apply to its certificate only.
	c, err := ServerConfig(s, b)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := c.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "secure.example.com", SupportedVersions: []uint16{tls.VersionTLS13}})
	if err != nil || sec == nil || len(sec.NextProtos) != 1 || sec.NextProtos[0] != "h2" ||
		len(sec.CipherSuites) != 1 || sec.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Errorf("secure line config: %+v, %v", sec, err)
	}
	if o, _ := c.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "a.example.com", SupportedVersions: []uint16{tls.VersionTLS13}}); o != nil {
		t.Errorf("a line without options got its own config")
	}
}

func TestCrtListErrors(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "a.pem", "a.example")
	for text, want := range map[string]string{
		"":                   "no certificate found in crt-list",
		"a.pem [alpn h2":     "missing ']'",
		"a.pem [npn h2]":     "NPN",
		"a.pem [allow-0rtt]": "not supported in a crt-list line",
		"a.pem [ciphers DHE-RSA-AES128-GCM-SHA256]": "selects no cipher suite",
		"a.pem [ssl-min-ver TLSv9]":                 "unknown ssl/tls version",
		"a.pem [verify required]":                   "no CA file",
		"missing.pem":                               "missing.pem",
	} {
		list := tlstest.WriteFile(t, filepath.Join(dir, "list.txt"), []byte(text+"\n"))
		_, err := LoadBindStore(&config.Bind{Addr: ":443", CrtLists: []config.CrtList{{Path: list, Base: dir}}}, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err=%v, want it to contain %q", text, err, want)
		}
	}
	if _, err := LoadBindStore(&config.Bind{Addr: ":443", CrtLists: []config.CrtList{{Path: filepath.Join(dir, "nope.txt")}}}, Options{}); err == nil {
		t.Error("missing crt-list accepted")
	}
}

// TestCrtListReload: editing the crt-list is a change Watch sees, and a
// reload serves the new lines.
func TestCrtListReload(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "a.pem", "a.example")
	ca.WritePEMFile(t, dir, "b.pem", "b.example")
	list := tlstest.WriteFile(t, filepath.Join(dir, "list.txt"), []byte("a.pem\nb.pem www.example.com\n"))
	s, err := LoadBindStore(&config.Bind{Addr: ":443", CrtLists: []config.CrtList{{Path: list, Base: dir}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := leafName(t, s, "www.example.com"); got != "b.example" {
		t.Fatalf("before: %s", got)
	}
	tlstest.WriteFile(t, list, []byte("a.pem www.example.com\nb.pem api.example.com extra.example.com\n"))
	if changed, _, err := s.changed(); err != nil || !changed {
		t.Fatalf("edit not seen: %v %v", changed, err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := leafName(t, s, "www.example.com"); got != "a.example" {
		t.Errorf("after: www.example.com served %s", got)
	}
	if got := leafName(t, s, "extra.example.com"); got != "b.example" {
		t.Errorf("after: extra.example.com served %s", got)
	}
}

package tlsconf

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

func randomKeys(t *testing.T, n, size int) [][]byte {
	var keys [][]byte
	for range n {
		k := make([]byte, size)
		if _, err := rand.Read(k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func keyFile(t *testing.T, dir string, keys [][]byte) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	return tlstest.WriteFile(t, filepath.Join(dir, "tickets.key"), []byte(b.String()))
}

// TestLoadTicketKeys: the last three keys are kept, the penultimate
// encrypts, and files HAProxy refuses are refused.
func TestLoadTicketKeys(t *testing.T) {
	dir := t.TempDir()
	k := randomKeys(t, 4, 80)
	keys, err := LoadTicketKeys(keyFile(t, dir, k))
	if err != nil {
		t.Fatal(err)
	}
	want := [][32]byte{sha256.Sum256(k[2]), sha256.Sum256(k[3]), sha256.Sum256(k[1])}
	if len(keys) != 3 || keys[0] != want[0] {
		t.Fatalf("the penultimate key must encrypt: got %d keys", len(keys))
	}
	for _, w := range want[1:] {
		if keys[1] != w && keys[2] != w {
			t.Errorf("a decrypting key is missing")
		}
	}
	for name, content := range map[string]string{
		"two keys":    strings.Repeat(base64.StdEncoding.EncodeToString(make([]byte, 48))+"\n", 2),
		"bad base64":  strings.Repeat("!!!\n", 3),
		"wrong size":  strings.Repeat(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n", 3),
		"mixed sizes": base64.StdEncoding.EncodeToString(make([]byte, 48)) + "\n" + strings.Repeat(base64.StdEncoding.EncodeToString(make([]byte, 80))+"\n", 2),
	} {
		f := tlstest.WriteFile(t, filepath.Join(dir, "bad.key"), []byte(content))
		if _, err := LoadTicketKeys(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadTicketKeys(filepath.Join(dir, "none.key")); err == nil {
		t.Error("missing file accepted")
	}
}

// resumes connects twice with one client session cache and reports
// whether the second connection resumed.
func resumes(t *testing.T, first, second *tls.Config, max uint16) bool {
	t.Helper()
	cache := tls.NewLRUClientSessionCache(8)
	var resumed bool
	for i, srv := range []*tls.Config{first, second} {
		// Loopback TCP, not net.Pipe: closing ends must not wait on each other.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			a, err := ln.Accept()
			if err != nil {
				return
			}
			a.SetDeadline(time.Now().Add(20 * time.Second))
			s := tls.Server(a, srv)
			// TLS 1.3 tickets follow the handshake: write, then wait for
			// the client to hang up.
			if s.Handshake() == nil && func() bool { _, err := s.Write([]byte("x")); return err == nil }() {
				io.Copy(io.Discard, s)
			}
			s.Close()
		}()
		b, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b.SetDeadline(time.Now().Add(20 * time.Second))
		c := tls.Client(b, &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", ClientSessionCache: cache, MaxVersion: max})
		if err := c.Handshake(); err != nil {
			t.Fatalf("handshake %d: %v", i, err)
		}
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("read %d (max %x, resumed %v): %v", i, max, c.ConnectionState().DidResume, err)
		}
		resumed = c.ConnectionState().DidResume
		c.Close()
		ln.Close()
	}
	return resumed
}

// TestTicketKeysAcrossReplicas: two binds (two replicas) loading the same
// key file resume each other's sessions; after a rotation (a key appended)
// the old tickets still resume; without shared keys they do not; and
// tune.ssl.lifetime ends resumption.
func TestTicketKeysAcrossReplicas(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	store, err := LoadStore([]string{ca.WritePEMFile(t, dir, "site.pem", "site.test")})
	if err != nil {
		t.Fatal(err)
	}
	k := randomKeys(t, 4, 80)
	shared := keyFile(t, t.TempDir(), k[:3])
	rotated := keyFile(t, t.TempDir(), k)
	build := func(o config.TLSOptions) *tls.Config {
		c, err := ServerConfig(store, &config.Bind{Addr: ":443", TLS: o})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		a, b := build(config.TLSOptions{TicketKeys: shared}), build(config.TLSOptions{TicketKeys: shared})
		if !resumes(t, a, b, max) {
			t.Errorf("%x: replicas sharing the key file did not resume each other's sessions", max)
		}
		if !resumes(t, a, build(config.TLSOptions{TicketKeys: rotated}), max) {
			t.Errorf("%x: a ticket from before the rotation did not resume after it", max)
		}
		if resumes(t, build(config.TLSOptions{}), build(config.TLSOptions{}), max) {
			t.Errorf("%x: replicas with their own keys resumed each other's sessions", max)
		}
		// tune.ssl.lifetime 10s: a session 11 s old is not resumed.
		now := time.Now()
		clock := func() time.Time { return now }
		old := build(config.TLSOptions{TicketKeys: shared, SessionLifetime: 10 * time.Second})
		old.Time = clock
		later := build(config.TLSOptions{TicketKeys: shared, SessionLifetime: 10 * time.Second})
		later.Time = func() time.Time { return now.Add(11 * time.Second) }
		if resumes(t, old, later, max) {
			t.Errorf("%x: a session older than tune.ssl.lifetime was resumed", max)
		}
		within := build(config.TLSOptions{TicketKeys: shared, SessionLifetime: 10 * time.Second})
		within.Time = func() time.Time { return now.Add(5 * time.Second) }
		if !resumes(t, old, within, max) {
			t.Errorf("%x: a session within tune.ssl.lifetime was not resumed", max)
		}
	}
}

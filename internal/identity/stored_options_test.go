package identity

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Every option of session-store reaches the server: TLS verified against
// ca-file, the ACL user and its password, the database and the key prefix.
// A wrong password or another CA is a store failure (503), never a pass.
func TestStoreOptionsReachTheServer(t *testing.T) {
	ca := testenv.NewCA(t)
	cert := ca.Issue(t, "127.0.0.1")
	tlsPort := testenv.FreePort(t)
	srv := testenv.StartRedis(t, "--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", cert.CertFile, "--tls-key-file", cert.KeyFile,
		"--tls-ca-cert-file", ca.File, "--tls-auth-clients", "no", "--user", "edge", "on", ">s3cret-pw", "~*", "&*", "+@all")
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	op := newFakeOP(t)
	mk := func(pwFile, caFile string) *Provider {
		p := newTestProvider(t, op, func(c *config.OIDC) {
			c.SessionStore = &config.SessionStore{Kind: "redis", Addrs: []string{testenv.LocalAddr(tlsPort)}, TLS: true, CAFile: caFile,
				User: "edge", Password: config.SecretRef{Kind: "file", Ref: pwFile}, DB: 3, Prefix: "edge-test:"}
		})
		t.Cleanup(p.Stop)
		return p
	}
	p := mk(pw, ca.File)
	cookies := login(t, p, "/")
	if id, rep := p.Authenticate(browserReq("/", cookies...), true); id == nil {
		t.Fatalf("session refused: %+v", rep)
	}
	// The session is in database 3 under the prefix (read over the plain port).
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 3})
	defer c.Close()
	keys, err := c.Keys(context.Background(), "edge-test:s:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys edge-test:s:* in db 3 = %v, %v; want one session", keys, err)
	}
	c0 := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c0.Close()
	if n, _ := c0.DBSize(context.Background()).Result(); n != 0 {
		t.Fatalf("%d keys in db 0, want none", n)
	}

	otherCA := testenv.NewCA(t)
	for name, p := range map[string]*Provider{"wrong password": mk(bad, ca.File), "another CA": mk(pw, otherCA.File)} {
		id, rep := p.Authenticate(browserReq("/", cookies...), true)
		if id != nil || rep == nil || rep.Status != 503 {
			t.Fatalf("%s: %v %+v, want 503", name, id, rep)
		}
		if p.Counters.StoreErrors.Load() == 0 {
			t.Fatalf("%s: no store error counted", name)
		}
	}
}

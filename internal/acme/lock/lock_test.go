package lock

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// lockStore is what both back ends give.
type lockStore interface {
	Lock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error)
	ChallengeStore
}

// backend makes replicas sharing one directory or one redis-server.
type backend struct {
	name string
	new  func(t *testing.T) lockStore
}

func backends(t *testing.T) []backend {
	dir := t.TempDir()
	var rs *testenv.Redis
	return []backend{
		{"dir", func(t *testing.T) lockStore {
			d, err := NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"redis", func(t *testing.T) lockStore {
			if rs == nil {
				rs = testenv.StartRedis(t)
			}
			r, err := NewRedisFromOptions(store.RedisOptions{Addrs: []string{rs.Addr}, Prefix: "gatehouse:acme:"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}},
	}
}

// stalled makes l's holders extend their locks only once an hour, as a
// process paused or cut off from the store would.
func stalled(l lockStore) lockStore { return renewEvery(l, time.Hour) }

func renewEvery(l lockStore, d time.Duration) lockStore {
	switch v := l.(type) {
	case *Dir:
		v.renewEvery = d
	case *Redis:
		v.renewEvery = d
	}
	return l
}

// remaining is how long name's lock has left, as the store says.
func remaining(t *testing.T, l lockStore, name string) time.Duration {
	t.Helper()
	switch v := l.(type) {
	case *Dir:
		b, err := os.ReadFile(v.fileName("lock-", name))
		if err != nil {
			t.Fatal(err)
		}
		_, exp, ok := decodeLock(b)
		if !ok {
			t.Fatalf("lock file %q", b)
		}
		return time.Until(exp)
	case *Redis:
		d, err := v.c.PTTL(bg(t), v.prefix+"lock:"+name).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	t.Fatalf("no remaining for %T", l)
	return 0
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustLock(t *testing.T, l lockStore, name string, ttl time.Duration) func() {
	t.Helper()
	unlock, ok, err := l.Lock(bg(t), name, ttl)
	if err != nil || !ok {
		t.Fatalf("Lock(%s) = ok %v, %v; want it taken", name, ok, err)
	}
	return unlock
}

func mustNotLock(t *testing.T, l lockStore, name string) {
	t.Helper()
	unlock, ok, err := l.Lock(bg(t), name, time.Minute)
	if err != nil || ok {
		if ok {
			unlock()
		}
		t.Fatalf("Lock(%s) = ok %v, %v; want ok=false (held by another)", name, ok, err)
	}
}

// TestContend: of two replicas one gets a name, the other ok=false until
// it is unlocked; another name is free; unlock twice is harmless.
func TestContend(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.new(t), be.new(t)
			unlock := mustLock(t, a, "*.example.com", time.Minute)
			mustNotLock(t, b, "*.example.com")
			mustNotLock(t, a, "*.example.com") // a second order in the same process too
			mustLock(t, b, "example.com", time.Minute)()
			unlock()
			unlock()
			mustLock(t, b, "*.example.com", time.Minute)()
		})
	}
}

// TestRenewKeepsLock: a holder keeps its name past several ttls.
func TestRenewKeepsLock(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.new(t), be.new(t)
			const ttl = 3 * time.Second
			unlock := mustLock(t, a, "renewed", ttl)
			defer unlock()
			for start := time.Now(); time.Since(start) < 2*ttl+ttl/2; time.Sleep(100 * time.Millisecond) {
				mustNotLock(t, b, "renewed")
			}
		})
	}
}

// TestExpiredTakeover: a holder that stops extending loses the name after
// ttl to another replica, and its late unlock does not release the new
// holder's lock.
func TestExpiredTakeover(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			a, b, c := stalled(be.new(t)), be.new(t), be.new(t)
			unlockA := mustLock(t, a, "stale", time.Second)
			mustNotLock(t, b, "stale")
			var unlockB func()
			testenv.Eventually(t, 20*time.Second, func() bool {
				u, ok, err := b.Lock(bg(t), "stale", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				unlockB = u
				return ok
			}, "the stalled holder's lock was never taken over")
			unlockA() // not the owner any more: must not release b's lock
			mustNotLock(t, c, "stale")
			unlockB()
			mustLock(t, c, "stale", time.Minute)()
		})
	}
}

// TestLateRenewDoesNotExtend: a holder whose extension comes after its
// lock was taken over stops extending and leaves the new holder's lock as
// it is.
func TestLateRenewDoesNotExtend(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			a, b := renewEvery(be.new(t), 1500*time.Millisecond), be.new(t)
			unlockA := mustLock(t, a, "late", 500*time.Millisecond)
			defer unlockA()
			var unlockB func()
			testenv.Eventually(t, 20*time.Second, func() bool {
				u, ok, err := b.Lock(bg(t), "late", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				unlockB = u
				return ok
			}, "the lapsed lock was never taken over")
			defer unlockB()
			// a's next two extensions (every 1.5s) find b's lock. (One
			// that came before the takeover found a's own lapsed lock, and
			// could extend it: nobody had taken it.)
			for took := time.Now(); time.Since(took) < 3500*time.Millisecond; time.Sleep(50 * time.Millisecond) {
				if r := remaining(t, b, "late"); r < 30*time.Second {
					t.Fatalf("b's lock (ttl 1m) has %v left: extended with a's ttl", r)
				}
			}
		})
	}
}

// TestChallenges: a token put by one replica is read by another until
// deleted or expired; a token that is not base64url is refused and never
// found.
func TestChallenges(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.new(t), be.new(t)
			ctx := bg(t)
			if err := a.Put(ctx, "tok-EN_1", "tok-EN_1.thumb", time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := b.Get(ctx, "tok-EN_1"); err != nil || !ok || v != "tok-EN_1.thumb" {
				t.Fatalf("Get from another replica = %q %v %v", v, ok, err)
			}
			if err := b.Delete(ctx, "tok-EN_1"); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := a.Get(ctx, "tok-EN_1"); err != nil || ok {
				t.Fatalf("Get after Delete = %v %v", ok, err)
			}
			if err := a.Delete(ctx, "tok-EN_1"); err != nil {
				t.Fatalf("Delete of a missing token: %v", err)
			}

			if err := a.Put(ctx, "short", "short.thumb", time.Second); err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, 20*time.Second, func() bool {
				_, ok, err := b.Get(ctx, "short")
				return err == nil && !ok
			}, "a challenge put with a 1s ttl was still found")

			for _, bad := range []string{"../lock-x", "a/b", "a b", "", "tok.en"} {
				if err := a.Put(ctx, bad, "x", time.Minute); err == nil {
					t.Errorf("Put(%q) accepted", bad)
				}
				if _, ok, err := a.Get(ctx, bad); ok || err != nil {
					t.Errorf("Get(%q) = %v %v", bad, ok, err)
				}
			}
			if err := a.Put(ctx, "tok", "two words", time.Minute); err == nil {
				t.Error("Put of a key authorization with a space accepted")
			}
		})
	}
}

// TestRedisUnreachable: a store that cannot be asked gives an error, never
// ok=true (fail closed).
func TestRedisUnreachable(t *testing.T) {
	addr := testenv.LocalAddr(testenv.RefusedPort(t))
	r, err := NewRedisFromOptions(store.RedisOptions{Addrs: []string{addr}, Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	unlock, ok, err := r.Lock(bg(t), "example.com", time.Minute)
	if err == nil || ok || unlock != nil {
		t.Fatalf("Lock against %s = ok %v, %v", addr, ok, err)
	}
	if _, ok, err := r.Get(bg(t), "tok"); err == nil || ok {
		t.Fatalf("Get against %s = %v, %v", addr, ok, err)
	}
	if err := r.Put(bg(t), "tok", "tok.x", time.Minute); err == nil {
		t.Fatal("Put against an unreachable store succeeded")
	}
}

// TestRedisServerStops: a server that goes away after a lock was taken
// makes the next Lock fail with an error.
func TestRedisServerStops(t *testing.T) {
	rs := testenv.StartRedis(t)
	r, err := NewRedisFromOptions(store.RedisOptions{Addrs: []string{rs.Addr}, Prefix: "p:"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	unlock := mustLock(t, r, "a", time.Minute)
	rs.Kill()
	_, ok, err := r.Lock(bg(t), "b", time.Minute)
	if err == nil || ok {
		t.Fatalf("Lock with the server gone = ok %v, %v", ok, err)
	}
	done := make(chan struct{})
	go func() { unlock(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("unlock with the server gone did not return within 20s")
	}
}

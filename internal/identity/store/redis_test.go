package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// stores runs f on a store over one redis-server and over a one-node
// cluster (every slot on it), so the cluster form's per-slot commands are
// exercised too.
func stores(t *testing.T, f func(t *testing.T, r *Redis)) {
	t.Run("server", func(t *testing.T) {
		srv := testenv.StartRedis(t)
		r, err := NewRedis(RedisOptions{Addrs: []string{srv.Addr}, Prefix: "gh:web:", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		f(t, r)
	})
	t.Run("cluster", func(t *testing.T) {
		// The bus port is a free port of its own: by default it is the
		// client port + 10000, which another test may hold.
		srv := testenv.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(testenv.FreePort(t)))
		if got := testenv.RedisCommand(srv.Addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); got != "+OK" {
			t.Fatalf("CLUSTER ADDSLOTSRANGE: %q", got)
		}
		testenv.Eventually(t, 20*time.Second, func() bool {
			return strings.Contains(testenv.RedisCommandAll(srv.Addr, "CLUSTER", "INFO"), "cluster_state:ok")
		}, "cluster state not ok")
		r, err := NewRedis(RedisOptions{Addrs: []string{srv.Addr}, Cluster: true, Prefix: "gh:web:", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		f(t, r)
	})
}

// exists counts the keys that exist, one command per key (a cluster
// refuses a multi-key EXISTS across slots).
func exists(t *testing.T, r *Redis, keys ...string) int {
	n := 0
	for _, k := range keys {
		v, err := r.c.Exists(context.Background(), k).Result()
		if err != nil {
			t.Fatalf("EXISTS %s: %v", k, err)
		}
		n += int(v)
	}
	return n
}

func rec(id, sub, sid string, life time.Duration) *Record {
	now := time.Now().Truncate(time.Millisecond)
	return &Record{Meta: Meta{ID: id, Sub: sub, Sid: sid, Email: sub + "@example.com", Created: now,
		LastSeen: now, Replica: "r1", Expires: now.Add(life)}, Sealed: []byte("sealed-" + id)}
}

func TestRedisPutGet(t *testing.T) {
	stores(t, func(t *testing.T, r *Redis) {
		ctx := context.Background()
		in := rec("a1", "alice", "sid1", time.Hour)
		if err := r.Put(ctx, in); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Truncate(time.Millisecond)
		got, err := r.Get(ctx, "a1", "r2", now)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Sealed) != "sealed-a1" || got.Sub != "alice" || got.Sid != "sid1" || got.Email != "alice@example.com" ||
			!got.Created.Equal(in.Created) || !got.Expires.Equal(in.Expires) {
			t.Fatalf("Get = %+v, want %+v", got, in)
		}
		// The store forgets the session with it.
		ttl := r.c.PTTL(ctx, r.key("a1")).Val()
		if ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("PTTL = %v, want about 1h", ttl)
		}
		// Get recorded who saw it when.
		l, _ := r.List(ctx, BySub, "alice")
		if len(l) != 1 || l[0].Replica != "r2" || !l[0].LastSeen.Equal(now) {
			t.Fatalf("List after Get = %+v", l)
		}
		if _, err := r.Get(ctx, "nope", "r2", now); err != ErrNotFound {
			t.Fatalf("Get(unknown) = %v, want ErrNotFound", err)
		}
		// A Get on a session that is gone does not create a key.
		if exists(t, r, r.key("nope")) != 0 {
			t.Fatal("Get created a key for an unknown session")
		}
	})
}

func TestRedisDeleteAndList(t *testing.T) {
	stores(t, func(t *testing.T, r *Redis) {
		ctx := context.Background()
		for _, x := range []*Record{
			rec("a1", "alice", "s1", time.Hour), rec("a2", "alice", "s2", time.Hour),
			rec("b1", "bob", "s1", time.Hour), rec("c1", "carol", "", time.Hour),
		} {
			if err := r.Put(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(by Index, v string) string {
			l, err := r.List(ctx, by, v)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, m := range l {
				s = append(s, m.ID)
			}
			return strings.Join(s, ",")
		}
		if got := ids(BySub, ""); got != "a1,a2,b1,c1" {
			t.Fatalf("List all = %s", got)
		}
		if n, err := r.Count(ctx); n != 4 || err != nil {
			t.Fatalf("Count = %d, %v; want 4", n, err)
		}
		if got := ids(BySub, "alice"); got != "a1,a2" {
			t.Fatalf("List sub alice = %s", got)
		}
		if got := ids(BySid, "s1"); got != "a1,b1" {
			t.Fatalf("List sid s1 = %s", got)
		}
		if n, err := r.DeleteBy(ctx, BySid, "s1"); err != nil || n != 2 {
			t.Fatalf("DeleteBy sid s1 = %d, %v; want 2", n, err)
		}
		if _, err := r.Get(ctx, "a1", "r", time.Now()); err != ErrNotFound {
			t.Fatalf("a1 after DeleteBy sid: %v", err)
		}
		if got := ids(BySub, "alice"); got != "a2" {
			t.Fatalf("List sub alice after DeleteBy sid = %s", got)
		}
		if n, err := r.DeleteBy(ctx, BySub, "alice"); err != nil || n != 1 {
			t.Fatalf("DeleteBy sub alice = %d, %v; want 1", n, err)
		}
		if ok, err := r.Delete(ctx, "c1"); !ok || err != nil {
			t.Fatalf("Delete c1 = %v, %v", ok, err)
		}
		if ok, err := r.Delete(ctx, "c1"); ok || err != nil {
			t.Fatalf("second Delete c1 = %v, %v; want false, nil", ok, err)
		}
		if got := ids(BySub, ""); got != "" {
			t.Fatalf("List all at the end = %s", got)
		}
		if n := exists(t, r, r.index(BySub, "carol"), r.index(BySub, "alice"), r.index(BySid, "s1")); n != 0 {
			t.Fatalf("%d index keys left after every session ended", n)
		}
	})
}

// Expired sessions leave neither their hash nor index members behind.
func TestRedisExpiry(t *testing.T) {
	stores(t, func(t *testing.T, r *Redis) {
		ctx := context.Background()
		if err := r.Put(ctx, rec("short", "dave", "sd", 300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, func() bool {
			return exists(t, r, r.key("short"), r.index(BySub, "dave"), r.index(BySid, "sd")) == 0
		}, "session and index keys still there after the session's end")
		if l, err := r.List(ctx, BySub, ""); err != nil || len(l) != 0 {
			t.Fatalf("List after expiry = %v, %v", l, err)
		}
	})
}

// One owner at a time holds a lock; only the owner releases it.
func TestRedisLock(t *testing.T) {
	stores(t, func(t *testing.T, r *Redis) {
		ctx := context.Background()
		var held atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ok, err := r.Lock(ctx, "x", "owner"+string(rune('a'+i)), 10*time.Second); err != nil {
					t.Error(err)
				} else if ok {
					held.Add(1)
				}
			}()
		}
		wg.Wait()
		if held.Load() != 1 {
			t.Fatalf("%d owners took the lock, want 1", held.Load())
		}
		owner := r.c.Get(ctx, r.lock("x")).Val()
		if err := r.Unlock(ctx, "x", "someone-else"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := r.Lock(ctx, "x", "late", time.Second); ok {
			t.Fatal("Unlock by another owner released the lock")
		}
		if err := r.Unlock(ctx, "x", owner); err != nil {
			t.Fatal(err)
		}
		if ok, _ := r.Lock(ctx, "x", "late", time.Second); !ok {
			t.Fatal("lock not free after its owner released it")
		}
	})
}

// A store that does not answer fails fast with an error, not ErrNotFound.
func TestRedisDownIsAnError(t *testing.T) {
	srv := testenv.StartRedis(t)
	r, err := NewRedis(RedisOptions{Addrs: []string{srv.Addr}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv.Kill()
	begin := time.Now()
	_, err = r.Get(context.Background(), "a", "r", time.Now())
	if err == nil || err == ErrNotFound {
		t.Fatalf("Get with the server down = %v, want a connection error", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("Get with the server down took %v", d)
	}
}

// Count is the live sessions: ended and expired ones are not counted.
func TestRedisCount(t *testing.T) {
	stores(t, func(t *testing.T, r *Redis) {
		ctx := context.Background()
		for _, in := range []*Record{rec("c1", "alice", "", time.Hour), rec("c2", "bob", "", time.Hour), rec("c3", "carol", "", 50*time.Millisecond)} {
			if err := r.Put(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Delete(ctx, "c2"); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, func() bool {
			n, err := r.Count(ctx)
			return err == nil && n == 1
		}, "Count never reached 1 (one session ended, one expired)")
	})
}

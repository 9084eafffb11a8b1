package lock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity/store"
	"github.com/redis/go-redis/v9"
)

// Redis keeps locks and challenges in Valkey/Redis: a lock is the key
// PREFIX "lock:" NAME set to its holder's token with SET NX PX, extended by
// a script that checks the token before PEXPIRE and released by one that
// checks it before DEL; a challenge is PREFIX "http01:" TOKEN with an
// expiry. Every command names one key, so it works on a cluster too.
//
// With Sentinel, a failover can lose a lock the old primary had not
// replicated yet (Redis replication is asynchronous): a second replica may
// then order the same name, which is harmless for ACME.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	// renewEvery replaces ttl/3 in tests (a stalled holder).
	renewEvery time.Duration
}

// NewRedis uses client c; prefix starts every key (give the acme section
// one of its own, e.g. "gatehouse:acme:", so it shares no key with
// sessions).
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

// NewRedisFromOptions connects as the session store does (one server,
// Sentinel or cluster, TLS, credentials, a bounded time per command), with
// o.Prefix as the prefix.
func NewRedisFromOptions(o store.RedisOptions) (*Redis, error) {
	s, err := store.NewRedis(o)
	if err != nil {
		return nil, err
	}
	return NewRedis(s.Client(), o.Prefix), nil
}

// Close closes the client.
func (r *Redis) Close() error { return r.c.Close() }

var (
	extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// Lock implements acme.Locker. An error from the server is an error, never
// ok=true.
func (r *Redis) Lock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	if name == "" || ttl < time.Millisecond {
		return nil, false, errors.New("lock: empty name or ttl under a millisecond")
	}
	key := r.prefix + "lock:" + name
	token := newToken()
	ok, err := r.c.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		return nil, false, nil
	}
	h := &redisLock{r: r, key: key, token: token, ttl: ttl, stop: make(chan struct{}), done: make(chan struct{})}
	go h.renewLoop(renewInterval(ttl, r.renewEvery))
	return h.unlock, true, nil
}

type redisLock struct {
	r     *Redis
	key   string
	token string
	ttl   time.Duration
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// renewLoop extends the lock until unlock, or until the server says it is
// no longer ours. An error (server unreachable) is tried again at the next
// tick: the key is still there until its expiry.
func (h *redisLock) renewLoop(every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			n, err := extendScript.Run(ctx, h.r.c, []string{h.key}, h.token, h.ttl.Milliseconds()).Int()
			cancel()
			if err == nil && n == 0 {
				return // lost
			}
		}
	}
}

// unlock stops the extensions and deletes the key if it still holds our
// token. Calling it again does nothing.
func (h *redisLock) unlock() {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// An error leaves the key to expire after ttl.
		_ = releaseScript.Run(ctx, h.r.c, []string{h.key}, h.token).Err()
	})
}

func (r *Redis) challengeKey(token string) string { return r.prefix + "http01:" + token }

// Put implements ChallengeStore.
func (r *Redis) Put(ctx context.Context, token, keyAuth string, ttl time.Duration) error {
	if !validToken(token) {
		return fmt.Errorf("challenge token %q: not base64url", token)
	}
	if keyAuth == "" || strings.ContainsAny(keyAuth, " \r\n") || ttl < time.Millisecond {
		return errors.New("challenge: empty or multi-word key authorization, or ttl under a millisecond")
	}
	return r.c.Set(ctx, r.challengeKey(token), keyAuth, ttl).Err()
}

// Get implements ChallengeStore. A token that is not base64url is never
// looked up: not found.
func (r *Redis) Get(ctx context.Context, token string) (string, bool, error) {
	if !validToken(token) {
		return "", false, nil
	}
	v, err := r.c.Get(ctx, r.challengeKey(token)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

// Delete implements ChallengeStore.
func (r *Redis) Delete(ctx context.Context, token string) error {
	if !validToken(token) {
		return nil
	}
	return r.c.Del(ctx, r.challengeKey(token)).Err()
}

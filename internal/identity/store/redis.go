package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure a Valkey/Redis store: one server, a Sentinel-
// monitored primary, or a cluster.
type RedisOptions struct {
	Addrs    []string // one address; the sentinels (Master set); or cluster seeds (Cluster)
	Master   string   // Sentinel: the monitored primary's name
	Cluster  bool
	TLS      *tls.Config // nil: plain TCP
	Username string
	Password string
	DB       int
	// Prefix starts every key, so several sections or deployments can share
	// a server.
	Prefix string
	// Timeout bounds one command (dial included): requests fail closed
	// after it rather than hang on a store that does not answer.
	Timeout time.Duration
}

// Redis is a Store on Valkey/Redis. A session is a hash under
// PREFIX "s:" ID that expires with the session; the sorted sets PREFIX
// "all", PREFIX "sub:" SUB and PREFIX "sid:" SID index the ids by expiry
// (ms) and expire with their last member. Every command names one key, so
// the store works on a cluster as on one server.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// quiet drops go-redis's own log lines: the client's errors reach the
// caller, who logs them (at most once a second) and counts them; go-redis
// would print every failed dial of every pool to stderr.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var silence sync.Once

// NewRedis makes the client; it connects on first use.
func NewRedis(o RedisOptions) (*Redis, error) {
	silence.Do(func() { redis.SetLogger(quiet{}) })
	if len(o.Addrs) == 0 {
		return nil, errors.New("no address")
	}
	to := o.Timeout
	if to <= 0 {
		to = time.Second
	}
	// One dial per attempt and one retry (a pooled connection the server
	// closed): a store that is down must give 503 at once, not after
	// go-redis's five dials with backoff per request.
	var c redis.UniversalClient
	switch {
	case o.Master != "":
		c = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: o.Master, SentinelAddrs: o.Addrs, Username: o.Username, Password: o.Password,
			DB: o.DB, TLSConfig: o.TLS, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
			MaxRetries: 1, DialerRetries: 1, ContextTimeoutEnabled: true, DisableIdentity: true,
		})
	case o.Cluster:
		c = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: o.Addrs, Username: o.Username, Password: o.Password, TLSConfig: o.TLS,
			DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
			MaxRetries: 1, DialerRetries: 1, ContextTimeoutEnabled: true, DisableIdentity: true,
		})
	default:
		if len(o.Addrs) != 1 {
			return nil, fmt.Errorf("one address expected, %d given (use sentinel or cluster for several)", len(o.Addrs))
		}
		c = redis.NewClient(&redis.Options{
			Addr: o.Addrs[0], Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLS,
			DialTimeout: to, ReadTimeout: to, WriteTimeout: to, PoolTimeout: to,
			MaxRetries: 1, DialerRetries: 1, ContextTimeoutEnabled: true, DisableIdentity: true,
		})
	}
	return &Redis{c: c, prefix: o.Prefix}, nil
}

func (r *Redis) key(id string) string  { return r.prefix + "s:" + id }
func (r *Redis) lock(id string) string { return r.prefix + "l:" + id }

func (r *Redis) index(by Index, value string) string {
	if value == "" {
		return r.prefix + "all"
	}
	return r.prefix + by.String() + ":" + value
}

// getScript reads a session and notes who saw it when, in one round trip;
// it never creates a key (HSET on a session just ended would).
var getScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'd', 'sub', 'sid', 'em', 'cr', 'ex')
if not v[1] then return false end
redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'rp', ARGV[2])
return v`)

// indexScript adds a member to an index, drops the members that expired,
// and makes the index expire with its last member.
const indexScript = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[1], top[2]) end
return 1`

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func ms(t time.Time) int64 { return t.UnixMilli() }

func parseMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, id, replica string, now time.Time) (*Record, error) {
	v, err := getScript.Run(ctx, r.c, []string{r.key(id)}, ms(now), replica).Slice()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(v) != 6 {
		return nil, fmt.Errorf("session %s: unexpected reply", id)
	}
	str := func(i int) string { s, _ := v[i].(string); return s }
	rec := &Record{Meta: Meta{
		ID: id, Sub: str(1), Sid: str(2), Email: str(3), Created: parseMS(str(4)),
		LastSeen: now, Replica: replica, Expires: parseMS(str(5)),
	}, Sealed: []byte(str(0))}
	if !now.Before(rec.Expires) {
		return nil, ErrNotFound
	}
	return rec, nil
}

// Put implements Store: the session, then its indexes, in one pipeline.
func (r *Redis) Put(ctx context.Context, rec *Record) error {
	if !time.Now().Before(rec.Expires) {
		return errors.New("session already expired")
	}
	k := r.key(rec.ID)
	ex := ms(rec.Expires)
	now := ms(time.Now())
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		// HSET replaces every field: no DEL first, which a concurrent Get
		// could see as the session's end.
		p.HSet(ctx, k, "d", rec.Sealed, "sub", rec.Sub, "sid", rec.Sid, "em", rec.Email,
			"cr", ms(rec.Created), "ls", ms(rec.LastSeen), "rp", rec.Replica, "ex", ex)
		p.PExpireAt(ctx, k, rec.Expires)
		p.Eval(ctx, indexScript, []string{r.index(BySub, "")}, ex, rec.ID, now)
		p.Eval(ctx, indexScript, []string{r.index(BySub, rec.Sub)}, ex, rec.ID, now)
		if rec.Sid != "" {
			p.Eval(ctx, indexScript, []string{r.index(BySid, rec.Sid)}, ex, rec.ID, now)
		}
		return nil
	})
	return err
}

// Delete implements Store. The indexes lose the id too; a member left
// behind (the session's hash gone between the two steps) is dropped by the
// next List or at its expiry.
func (r *Redis) Delete(ctx context.Context, id string) (bool, error) {
	k := r.key(id)
	v, err := r.c.HMGet(ctx, k, "sub", "sid").Result()
	if err != nil {
		return false, err
	}
	var n *redis.IntCmd
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Del(ctx, k)
		p.ZRem(ctx, r.index(BySub, ""), id)
		if sub, _ := v[0].(string); sub != "" {
			p.ZRem(ctx, r.index(BySub, sub), id)
		}
		if sid, _ := v[1].(string); sid != "" {
			p.ZRem(ctx, r.index(BySid, sid), id)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return n.Val() > 0, nil
}

// DeleteBy implements Store.
func (r *Redis) DeleteBy(ctx context.Context, by Index, value string) (int, error) {
	if value == "" {
		return 0, fmt.Errorf("empty %s", by)
	}
	idx := r.index(by, value)
	ids, err := r.c.ZRange(ctx, idx, 0, -1).Result()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	dels := make([]*redis.IntCmd, len(ids))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			dels[i] = p.Del(ctx, r.key(id))
		}
		p.ZRem(ctx, idx, toAny(ids)...)
		p.ZRem(ctx, r.index(BySub, ""), toAny(ids)...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// List implements Store.
func (r *Redis) List(ctx context.Context, by Index, value string) ([]Meta, error) {
	idx := r.index(by, value)
	now := time.Now()
	ids, err := r.c.ZRangeByScore(ctx, idx, &redis.ZRangeBy{Min: strconv.FormatInt(ms(now), 10), Max: "+inf"}).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, r.key(id), "sub", "sid", "em", "cr", "ls", "rp", "ex")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Meta, 0, len(ids))
	var gone []any
	for i, c := range cmds {
		v := c.Val()
		str := func(j int) string { s, _ := v[j].(string); return s }
		if len(v) != 7 || v[0] == nil {
			gone = append(gone, ids[i])
			continue
		}
		m := Meta{ID: ids[i], Sub: str(0), Sid: str(1), Email: str(2), Created: parseMS(str(3)),
			LastSeen: parseMS(str(4)), Replica: str(5), Expires: parseMS(str(6))}
		// A session that moved to another subject or sid is not listed
		// under the old one.
		if value != "" && ((by == BySub && m.Sub != value) || (by == BySid && m.Sid != value)) {
			continue
		}
		out = append(out, m)
	}
	if len(gone) > 0 {
		// Members whose session ended without them: best effort.
		_ = r.c.ZRem(ctx, idx, gone...).Err()
	}
	slices.SortStableFunc(out, func(a, b Meta) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Count implements Store.
func (r *Redis) Count(ctx context.Context) (int64, error) {
	return r.c.ZCount(ctx, r.index(BySub, ""), strconv.FormatInt(ms(time.Now()), 10), "+inf").Result()
}

// Lock implements Store.
func (r *Redis) Lock(ctx context.Context, id, owner string, ttl time.Duration) (bool, error) {
	return r.c.SetNX(ctx, r.lock(id), owner, ttl).Result()
}

// Unlock implements Store.
func (r *Redis) Unlock(ctx context.Context, id, owner string) error {
	return unlockScript.Run(ctx, r.c, []string{r.lock(id)}, owner).Err()
}

// Close implements Store.
func (r *Redis) Close() error { return r.c.Close() }

// Client is the underlying client, for tests and measurements.
func (r *Redis) Client() redis.UniversalClient { return r.c }

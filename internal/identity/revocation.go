package identity

import (
	"sync"
	"sync/atomic"
	"time"
)

// revocations is the cookie mode's record of ended sessions: a session
// cookie cannot be taken back from the browser, so the edge remembers
// which sessions a back-channel logout ended and refuses those cookies.
// It lives in the process: a logout ends the sessions on the replica that
// received it, not on the others (docs/identity.md).
//
// A logout names a sid, a sub, or both (OpenID Connect Back-Channel Logout
// 1.0, 2.4): a sid ends the sessions of that provider session; a sub alone
// ends every session of the user. With both, a session that recorded no
// sid (its provider's ID tokens carry none) cannot be told apart from the
// one named, so every such session of the sub ends too: fail closed.
//
// A session started before the logout is refused; one started after it (a
// new login) is not. An entry is kept as long as a session started before
// it can live: the longest session lifetime.
type revocations struct {
	n     atomic.Int64 // entries: the request path skips the lock when 0
	mu    sync.RWMutex
	sids  map[string]time.Time // sid -> ended at
	subs  map[string]time.Time // sub -> ended at (every session of the sub)
	nosid map[string]time.Time // sub -> ended at, for its sessions without a sid
	keep  time.Duration        // how long an entry matters
	swept time.Time
}

func newRevocations(keep time.Duration) *revocations {
	return &revocations{sids: map[string]time.Time{}, subs: map[string]time.Time{}, nosid: map[string]time.Time{}, keep: keep}
}

// extend makes entries last at least keep (a reload that lengthens the
// session lifetime keeps the registry).
func (r *revocations) extend(keep time.Duration) {
	r.mu.Lock()
	r.keep = max(r.keep, keep)
	r.mu.Unlock()
}

// revoke ends, as of at, the sessions a logout token names.
func (r *revocations) revoke(sid, sub string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.Sub(r.swept) >= time.Minute {
		r.swept = at
		for _, m := range []map[string]time.Time{r.sids, r.subs, r.nosid} {
			for k, t := range m {
				if at.Sub(t) > r.keep {
					delete(m, k)
				}
			}
		}
	}
	put := func(m map[string]time.Time, k string) {
		if t, ok := m[k]; !ok || at.After(t) {
			m[k] = at
		}
	}
	switch {
	case sid != "":
		put(r.sids, sid)
		if sub != "" {
			put(r.nosid, sub)
		}
	default:
		put(r.subs, sub)
	}
	r.n.Store(int64(len(r.sids) + len(r.subs) + len(r.nosid)))
}

// ended reports whether a session of sid and sub that started at started
// (unix milliseconds) was ended by a logout.
func (r *revocations) ended(sid, sub string, started int64, now time.Time) bool {
	if r.n.Load() == 0 {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	before := func(m map[string]time.Time, k string) bool {
		t, ok := m[k]
		return ok && now.Sub(t) <= r.keep && started <= t.UnixMilli()
	}
	if before(r.subs, sub) {
		return true
	}
	if sid != "" {
		return before(r.sids, sid)
	}
	return before(r.nosid, sub)
}

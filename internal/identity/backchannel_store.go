package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity/store"
)

// In store mode a back-channel logout reaches every replica through the
// store: the sessions it names are deleted there (each replica trusts a
// session it verified for at most storeCacheFor), and the token's jti is
// taken there too, so a replay sent to another replica is refused as well.

// takeLogoutJTI takes c's jti in the store until the token would be too old
// anyway. fresh is false for a replay; release gives the jti back when the
// logout could not be carried out.
func (p *Provider) takeLogoutJTI(ctx context.Context, iss string, c *logoutClaims, skew time.Duration, now time.Time) (release func(), fresh bool, err error) {
	sum := sha256.Sum256([]byte(iss + "\x00" + c.jti))
	key, owner := "bclogout:"+hex.EncodeToString(sum[:]), randomString()
	ttl := max(c.iat.Add(logoutMaxAge+2*skew).Sub(now), time.Second)
	fresh, err = p.ss.st.Lock(ctx, key, owner, ttl)
	if err != nil {
		p.storeFailed("take a logout token", err)
		return nil, false, err
	}
	p.storeOK()
	return func() {
		ctx, cancel := storeCtx()
		defer cancel()
		_ = p.ss.st.Unlock(ctx, key, owner)
	}, fresh, nil
}

// logoutSweepAfter is when a store-mode logout looks for its sessions
// again. A refresh that read a session before the logout deleted it writes
// the renewed session back when the provider answers (the session would
// live on); such a refresh ends within the refresh lock's lifetime.
const logoutSweepAfter = callTimeout + 10*time.Second

// endStoredSessions ends the stored sessions a logout at 'at' names (the
// rules of revocations: a sid ends its sessions, and with a sub also the
// sub's sessions that recorded no sid; a sub alone ends all of the sub's),
// now and once more after logoutSweepAfter.
func (p *Provider) endStoredSessions(ctx context.Context, sid, sub string, at time.Time) error {
	if err := p.endStoredNow(ctx, sid, sub); err != nil {
		return err
	}
	p.later(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*storeTimeout)
		defer cancel()
		if err := p.sweepEnded(ctx, sid, sub, at); err != nil {
			p.logf("oidc '%s': the second sweep of the back-channel logout of sid %q sub %q failed: %v", p.name, sid, sub, err)
		}
	})
	return nil
}

// sweepEnded ends the stored sessions the logout at 'at' named that started
// before it (a login since is not the logout's business).
func (p *Provider) sweepEnded(ctx context.Context, sid, sub string, at time.Time) error {
	by, value := store.BySub, sub
	if sub == "" {
		by, value = store.BySid, sid
	}
	list, err := p.ss.st.List(ctx, by, value)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range list {
		if m.Created.After(at) || (sid != "" && m.Sid != "" && m.Sid != sid) {
			continue
		}
		if _, err := p.ss.st.Delete(ctx, m.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endStoredNow is the first pass of endStoredSessions.
func (p *Provider) endStoredNow(ctx context.Context, sid, sub string) error {
	if sid == "" {
		_, err := p.EndSessions(ctx, store.BySub, sub)
		return err
	}
	if _, err := p.EndSessions(ctx, store.BySid, sid); err != nil || sub == "" {
		return err
	}
	list, err := p.Sessions(ctx, sub)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range list {
		if m.Sid == "" {
			if _, err := p.EndSession(ctx, m.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

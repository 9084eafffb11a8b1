package identity

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// session is what a session cookie holds, sealed.
type session struct {
	Iss       string                     `json:"iss"`
	Sub       string                     `json:"sub"`
	Sid       string                     `json:"sid,omitempty"` // the provider's session ('sid' claim): back-channel logout ends sessions by it
	Claims    map[string]json.RawMessage `json:"c,omitempty"`
	IDToken   string                     `json:"it,omitempty"` // for id_token_hint at sign-out
	Refresh   string                     `json:"rt,omitempty"`
	AccessExp int64                      `json:"ae,omitempty"` // access token expiry (unix), 0 unknown
	RefreshAt int64                      `json:"ra,omitempty"` // when to refresh (unix); 0: AccessExp - refresh-before
	Exp       int64                      `json:"exp"`          // absolute end of the session (unix)

	// St is when the login happened (unix ms): a back-channel logout
	// ends the sessions of a sid or sub started before it.
	St int64 `json:"st,omitempty"`
}

// flowState is what a login flow's state cookie holds, sealed.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Target   string `json:"t"`
	Exp      int64  `json:"exp"`
}

// needsRefresh: the access token is about to expire and can be refreshed.
func (s *session) needsRefresh(now time.Time, before time.Duration) bool {
	return s.Refresh != "" && s.AccessExp != 0 && now.Unix() >= s.refreshAt(before)
}

// refreshAt is when the session is due for a refresh (unix).
func (s *session) refreshAt(before time.Duration) int64 {
	if s.RefreshAt != 0 {
		return s.RefreshAt
	}
	return s.AccessExp - int64(before/time.Second)
}

// setRefreshAt schedules the refresh 'before' ahead of the access token's
// expiry, or at half its lifetime when it lives less than twice that: a
// token shorter-lived than refresh-before would otherwise be due the moment
// it arrives, and every request would refresh and redirect again.
func (s *session) setRefreshAt(now time.Time, before time.Duration) {
	if s.Refresh == "" || s.AccessExp == 0 {
		return
	}
	ahead := int64(before / time.Second)
	if half := (s.AccessExp - now.Unix()) / 2; half < ahead {
		ahead = max(half, 0)
	}
	s.RefreshAt = s.AccessExp - ahead
}

// cacheUntil is how long a decoded session may be served from the cache:
// until it ends or needs a refresh, whichever comes first.
func (s *session) cacheUntil(before time.Duration) time.Time {
	end := time.Unix(s.Exp, 0)
	if s.Refresh != "" && s.AccessExp != 0 {
		if r := time.Unix(s.refreshAt(before), 0); r.Before(end) {
			end = r
		}
	}
	return end
}

func (s *session) identity(provider string) *Identity {
	id := newIdentity(provider, s.Iss, s.Sub, time.Unix(s.Exp, 0), s.Claims)
	id.sid, id.started = s.Sid, s.St
	return id
}

var errTooLarge = errors.New("session does not fit in the cookies a browser keeps")

// sealSession returns the Set-Cookie values for s: the sealed session, or
// in store mode the ticket of the session it stores.
func (p *Provider) sealSession(h httpmsg.Headers, s *session, tls bool) ([]string, error) {
	if p.ss != nil {
		return p.storeSession(h, s, tls)
	}
	sealed, err := p.seal(s)
	if err != nil {
		return nil, err
	}
	return p.sessionSetCookies(h, sealed, s.Exp, tls), nil
}

// seal encrypts s into a session cookie value (before chunking).
func (p *Provider) seal(s *session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	sealed := p.ring.seal(plain, []byte(p.cookie))
	if len(sealed) > maxChunk*maxChunks {
		return "", errTooLarge
	}
	return sealed, nil
}

// sessionSetCookies renders a sealed session ending at exp (unix) for a
// request with headers h (whose extra chunks it deletes).
func (p *Provider) sessionSetCookies(h httpmsg.Headers, sealed string, exp int64, tls bool) []string {
	a := p.attrs
	a.secure = tls
	return sessionCookies(h, p.cookie, sealed, a, time.Until(time.Unix(exp, 0)))
}

// openSession decodes a session cookie made of parts; any tampering,
// an unknown key or an ended session gives an error.
func (p *Provider) openSession(parts []string, now time.Time) (*session, error) {
	sealed := parts[0]
	if len(parts) > 1 {
		n := 0
		for _, x := range parts {
			n += len(x)
		}
		b := make([]byte, 0, n)
		for _, x := range parts {
			b = append(b, x...)
		}
		sealed = string(b)
	}
	plain, err := p.ring.open(sealed, []byte(p.cookie))
	if err != nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, err
	}
	if s.Sub == "" || now.Unix() >= s.Exp {
		return nil, errors.New("session ended")
	}
	return &s, nil
}

package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// Counters are a provider's statistics, read by stats and metrics.
type Counters struct {
	Logins            atomic.Uint64                   // completed logins (callback accepted)
	LoginFailures     [NumLoginFailures]atomic.Uint64 // callbacks refused, by reason
	Refreshes         atomic.Uint64
	RefreshFailures   atomic.Uint64
	Unauthorized      atomic.Uint64 // 401 answers
	Redirects         atomic.Uint64 // redirects to the provider
	BearerAccepted    atomic.Uint64
	BearerRejected    [NumBearerRejections]atomic.Uint64 // by reason
	SignOuts          atomic.Uint64
	DiscoveryFailures atomic.Uint64
	Unavailable       atomic.Uint64 // 503 answers: discovery has not succeeded, or the session store failed
	JWKSFetches       atomic.Uint64 // requests for the provider's JWKS
	JWKSFailures      atomic.Uint64 // of which failed (unreachable, not 200, not a key set)
	// BackchannelLogouts counts logout tokens accepted, BackchannelRefused
	// the logout requests refused (400).
	BackchannelLogouts atomic.Uint64
	BackchannelRefused atomic.Uint64
	StoreErrors        atomic.Uint64 // session store operations that failed (store mode)
}

// Options are what the runtime gives a provider besides its section.
type Options struct {
	// Logf reports discovery failures and refused logins; nil: silent.
	Logf func(format string, args ...any)
	// Log reports events of any level (logins, sign-outs, discovery) and,
	// when set, the warnings too in place of Logf; nil: Logf only.
	Log func(level logging.Level, format string, args ...any)
	// CacheSize bounds the decoded-session and verified-token caches
	// (entries each); default 10000.
	CacheSize int
	// HTTPClient talks to the provider; default: 10s timeout, CAFile roots.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Replica names this process in the session store's "last seen by"
	// (the global 'node' name); default the host name.
	Replica string
	// Print also receives the provider's own events (discovery, the
	// session store lost and back), not a request's: the process's
	// stderr, whatever the log targets; nil: none.
	Print func(level logging.Level, msg string)
}

// Provider is one oidc section at run time.
type Provider struct {
	cfg          *config.OIDC
	name         string
	cookie       string
	attrs        cookieAttrs
	callbackPath string
	signOutPath  string
	lifetime     time.Duration
	refreshIn    time.Duration
	clientSecret string
	algs         []jose.SignatureAlgorithm
	audiences    []string
	ring         *keyring
	sessions     *lru
	tokens       *lru
	flights      refreshFlights
	refreshWait  time.Duration // how long a request waits for another's refresh
	client       *http.Client
	ss           *storeState // store mode; nil: sessions in cookies
	logf         func(string, ...any)
	print        func(logging.Level, string) // Options.Print
	log          func(logging.Level, string, ...any)
	now          func() time.Time

	// backchannelPath is the back-channel logout endpoint ("" none);
	// revoked the sessions it ended and jtis the logout tokens it took
	// (both carried over a reload by Inherit).
	backchannelPath string
	revoked         *revocations
	jtis            *jtiCache
	// later runs a store-mode logout's second sweep (backchannel_store.go).
	later func(func())

	Counters Counters

	ready        atomic.Pointer[discovered]
	sessionGauge atomic.Pointer[SessionGauge]

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// discovered is what discovery found.
type discovered struct {
	op         *oidc.Provider
	oauth      oauth2.Config
	idVerifier *oidc.IDTokenVerifier
	bearer     *verifier
	logout     *logoutVerifier
	endSession string
	userinfo   bool
}

// NewProvider checks an oidc section and loads its secrets. Discovery runs
// in the background from Start.
func NewProvider(c *config.OIDC, opt Options) (*Provider, error) {
	errf := func(format string, args ...any) error {
		return config.Errorf(c.Pos, "oidc '%s': %s", c.Name, fmt.Sprintf(format, args...))
	}
	if c.Issuer == "" || c.ClientID == "" || c.RedirectURI == "" {
		return nil, errf("'issuer', 'client-id' and 'redirect-uri' are required")
	}
	if len(c.CookieSecrets) == 0 {
		return nil, errf("'cookie-secret' is required")
	}
	ru, err := url.Parse(c.RedirectURI)
	if err != nil || (ru.Scheme != "https" && ru.Scheme != "http") || ru.Host == "" || ru.Path == "" {
		return nil, errf("'redirect-uri %s' must be an absolute http(s) URL with a path", c.RedirectURI)
	}
	p := &Provider{cfg: c, name: c.Name, callbackPath: ru.Path, logf: opt.Logf, print: opt.Print, now: opt.Now}
	if opt.Log != nil {
		p.log = opt.Log
		p.logf = func(f string, a ...any) { opt.Log(logging.LevelWarning, f, a...) }
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	if p.log == nil {
		p.log = func(logging.Level, string, ...any) {}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if c.ClientSecret.Kind != "" {
		s, err := LoadSecret(c.ClientSecret)
		if err != nil {
			return nil, errf("client-secret: %v", err)
		}
		p.clientSecret = string(s)
	}
	var secrets [][]byte
	for _, ref := range c.CookieSecrets {
		s, err := LoadSecret(ref)
		if err != nil {
			return nil, errf("cookie-secret: %v", err)
		}
		secrets = append(secrets, s)
	}
	if p.ring, err = newKeyring(secrets, "session "+c.Name); err != nil {
		return nil, errf("%v", err)
	}
	if p.algs, err = ParseAlgorithms(c.Algorithms); err != nil {
		return nil, errf("%v", err)
	}
	p.audiences = c.Audiences
	if len(p.audiences) == 0 {
		p.audiences = []string{c.ClientID}
	}
	p.cookie = c.CookieName
	if p.cookie == "" {
		p.cookie = "_gatehouse_" + c.Name
	}
	p.attrs = cookieAttrs{path: "/", domain: c.CookieDomain}
	p.signOutPath = c.SignOutPath
	if p.signOutPath == "" {
		p.signOutPath = "/oauth2/sign_out"
	}
	p.lifetime = c.SessionLifetime
	if p.lifetime <= 0 {
		p.lifetime = 12 * time.Hour
	}
	p.backchannelPath = c.BackchannelLogoutPath
	if bp := p.backchannelPath; bp != "" && (bp == p.callbackPath || bp == p.signOutPath) {
		return nil, errf("'backchannel-logout-path %s' is also the callback or the sign-out path", bp)
	}
	p.revoked, p.jtis = newRevocations(p.lifetime), &jtiCache{}
	p.later = func(f func()) { time.AfterFunc(logoutSweepAfter, f) }
	p.refreshIn = c.RefreshBefore
	if p.refreshIn <= 0 {
		p.refreshIn = time.Minute
	}
	size := opt.CacheSize
	if size <= 0 {
		size = 10000
	}
	p.sessions, p.tokens = newLRU(size), newLRU(size)
	p.refreshWait = callTimeout + 2*time.Second
	p.client = opt.HTTPClient
	if p.client == nil {
		if p.client, err = providerClient(c.CAFile); err != nil {
			return nil, errf("ca-file: %v", err)
		}
	}
	st, err := newStore(c.SessionStore, c.Name)
	if err != nil {
		return nil, errf("%v", err)
	}
	if st != nil {
		p.ss = &storeState{st: st, replica: opt.Replica}
		p.ss.count.Store(-1)
		p.SetSessionGauge(SessionGauge{Store: "redis", Active: p.ss.active})
		if p.ss.replica == "" {
			p.ss.replica, _ = os.Hostname()
		}
	}
	return p, nil
}

func providerClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}

// Name is the section name.
func (p *Provider) Name() string { return p.name }

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// CookieName is the name of the session cookie family (chunks and login
// flow state cookies start with it and '_').
func (p *Provider) CookieName() string { return p.cookie }

// Ready reports whether discovery succeeded.
func (p *Provider) Ready() bool { return p.ready.Load() != nil }

// Start runs discovery in the background, retrying with exponential backoff
// (1s doubling to 1m, with jitter) until it succeeds or Stop is called.
// Until then requests needing the provider get 503.
func (p *Provider) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.discoverLoop(ctx, p.done)
}

// Stop ends background work and closes the session store's connections.
func (p *Provider) Stop() {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if p.ss != nil {
		_ = p.ss.st.Close()
	}
}

func (p *Provider) discoverLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	backoff := time.Second
	for {
		err := p.Discover(ctx)
		if err == nil {
			return
		}
		p.Counters.DiscoveryFailures.Add(1)
		p.event(logging.LevelWarning, "oidc '%s': discovery of %s failed (retrying in %s): %v", p.name, p.cfg.Issuer, backoff, err)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// Discover fetches the provider's metadata once.
func (p *Provider) Discover(ctx context.Context) error {
	ctx = oidc.ClientContext(ctx, p.client)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return err
	}
	var meta struct {
		JWKSURI    string `json:"jwks_uri"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return err
	}
	if meta.JWKSURI == "" {
		return fmt.Errorf("discovery document has no jwks_uri")
	}
	scopes := p.cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	d := &discovered{
		op: op,
		oauth: oauth2.Config{
			ClientID: p.cfg.ClientID, ClientSecret: p.clientSecret,
			Endpoint: op.Endpoint(), RedirectURL: p.cfg.RedirectURI, Scopes: scopes,
		},
		endSession: meta.EndSession,
		userinfo:   op.UserInfoEndpoint() != "" && !p.cfg.NoUserinfo,
	}
	// One key set for ID tokens and bearer tokens: one fetch, counted.
	keys := newRemoteKeys(meta.JWKSURI, p.client, 10*time.Second)
	keys.fetches, keys.failures = &p.Counters.JWKSFetches, &p.Counters.JWKSFailures
	d.idVerifier = oidc.NewVerifier(p.cfg.Issuer, keySet{keys: keys, algs: p.algs}, &oidc.Config{
		ClientID: p.cfg.ClientID, SupportedSigningAlgs: algNames(p.algs), Now: p.now,
	})
	skew := p.cfg.ClockSkew
	if skew <= 0 {
		skew = 30 * time.Second
	}
	d.bearer = &verifier{
		provider: p.name, issuer: p.cfg.Issuer, audiences: p.audiences, algs: p.algs, skew: skew,
		keys: keys, cache: p.tokens, now: p.now,
	}
	d.logout = &logoutVerifier{issuer: p.cfg.Issuer, clientID: p.cfg.ClientID, algs: p.algs, keys: d.bearer.keys, skew: skew, jtis: p.jtis}
	p.ready.Store(d)
	p.event(logging.LevelNotice, "oidc '%s': provider %s discovered", p.name, p.cfg.Issuer)
	return nil
}

// event logs a provider-wide event as the others and prints it too (see
// Options.Print): a configuration without 'log' still shows why its
// provider answers 503.
func (p *Provider) event(lvl logging.Level, f string, a ...any) {
	if lvl <= logging.LevelWarning {
		p.logf(f, a...)
	} else {
		p.log(lvl, f, a...)
	}
	if p.print != nil {
		p.print(lvl, fmt.Sprintf(f, a...))
	}
}

func algNames(algs []jose.SignatureAlgorithm) []string {
	out := make([]string, len(algs))
	for i, a := range algs {
		out[i] = string(a)
	}
	return out
}

// Inherit carries over a reload what the previous provider of the same
// section learnt that a new one cannot: the sessions back-channel logouts
// ended and the logout tokens already taken. Only for the same issuer and
// client; call it before p serves or starts.
func (p *Provider) Inherit(old *Provider) {
	if old == nil || old.cfg.Issuer != p.cfg.Issuer || old.cfg.ClientID != p.cfg.ClientID {
		return
	}
	old.revoked.extend(p.lifetime)
	p.revoked, p.jtis = old.revoked, old.jtis
}

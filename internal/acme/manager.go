package acme

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// ChallengeStore keeps pending HTTP-01 challenges (token -> key
// authorization) where every replica can read them. The lock package's
// Dir and Redis implement it.
type ChallengeStore interface {
	Put(ctx context.Context, token, keyAuth string, ttl time.Duration) error
	Get(ctx context.Context, token string) (keyAuth string, found bool, err error)
	Delete(ctx context.Context, token string) error
}

// Cert is one certificate a section keeps: a crt-store load line.
type Cert struct {
	Name    string // the load line's crt, as written
	Path    string
	Domains []string
	// The placeholder's key (the load line's keytype, bits, curves).
	PHKeyType string
	PHBits    int
	PHCurves  string
}

// Options build a Manager.
type Options struct {
	Section *config.ACME
	Certs   []Cert
	// HTTPClient talks to the CA (its TLS trust: httpclient.ssl.ca-file).
	HTTPClient *http.Client
	// Locker serialises orders across replicas; Challenges shares the
	// HTTP-01 tokens with them. Both required.
	Locker     Locker
	Challenges ChallengeStore
	// DNS publishes DNS-01 records; required with challenge DNS-01.
	DNS DNSSolver
	Log *slog.Logger
	// OnIssued is called after a new certificate is written to path (the
	// listeners' stores reload it).
	OnIssued func(path string)
	// Poll is how often a certificate another replica is ordering is
	// looked at again; default 2s.
	Poll time.Duration
	// Manual is "acme.scheduler off": certificates are ordered on request
	// only ("acme renew"), never when due.
	Manual bool
}

// Manager orders and renews the certificates of one acme section.
type Manager struct {
	opt    Options
	sec    *config.ACME
	log    *slog.Logger
	certs  []*certState
	tokens *memTokens

	mu      sync.Mutex
	key     crypto.Signer // account key, read or made at first use
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

// certState is one certificate's schedule and counters.
type certState struct {
	Cert
	renew chan struct{} // "acme renew": order now

	ok, failed atomic.Uint64
	mu         sync.Mutex
	state      string // Running, Scheduled, Waiting, Stopped
	notAfter   time.Time
	next       time.Time
	lastErr    string
	failures   int
}

// New checks the section's files and writes a placeholder for every
// certificate that has no file yet, so the listeners can load it. It
// starts nothing.
func New(o Options) (*Manager, error) {
	if o.Locker == nil || o.Challenges == nil {
		return nil, errors.New("acme: a Locker and a ChallengeStore are required")
	}
	if o.Section.Challenge == "DNS-01" && o.DNS == nil {
		return nil, fmt.Errorf("acme section '%s': challenge DNS-01 needs a DNS solver", o.Section.Name)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	m := &Manager{opt: o, sec: o.Section, log: o.Log, tokens: &memTokens{m: map[string]string{}}}
	if err := os.MkdirAll(o.Section.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("acme section '%s': state-dir: %w", o.Section.Name, err)
	}
	for _, c := range o.Certs {
		if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
			return nil, fmt.Errorf("acme section '%s': %w", o.Section.Name, err)
		}
		if _, err := os.Stat(c.Path); errors.Is(err, os.ErrNotExist) {
			ph, err := placeholder(c.Domains, c.PHKeyType, c.PHBits, c.PHCurves)
			if err != nil {
				return nil, fmt.Errorf("acme section '%s': placeholder for '%s': %w", o.Section.Name, c.Name, err)
			}
			if _, err := createExclusive(c.Path, ph, 0o600); err != nil {
				return nil, fmt.Errorf("acme section '%s': placeholder for '%s': %w", o.Section.Name, c.Name, err)
			}
		}
		m.certs = append(m.certs, &certState{Cert: c, renew: make(chan struct{}, 1), state: "Scheduled"})
	}
	return m, nil
}

// Name is the section's name.
func (m *Manager) Name() string { return m.sec.Name }

// Start runs one goroutine per certificate until Stop.
func (m *Manager) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return
	}
	m.started = true
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range m.certs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.keep(ctx, c)
		}()
	}
	go func() { wg.Wait(); close(m.done) }()
}

// Stop ends the goroutines (an order in flight is abandoned; its lock is
// released) and waits for them.
func (m *Manager) Stop() {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Renew asks for an order of the named certificate now ("acme renew").
func (m *Manager) Renew(name string) bool {
	for _, c := range m.certs {
		if c.Name == name || c.Path == name {
			select {
			case c.renew <- struct{}{}:
			default:
			}
			return true
		}
	}
	return false
}

// renewTime is when a certificate is due: RenewAt percent of its lifetime
// (two thirds by default) after its notBefore.
func (m *Manager) renewTime(nb, na time.Time) time.Time {
	life := na.Sub(nb)
	if m.sec.RenewAt > 0 {
		return nb.Add(life * time.Duration(m.sec.RenewAt) / 100)
	}
	return nb.Add(life * 2 / 3)
}

// due reads the certificate file: whether it must be ordered, and when
// the next look is due otherwise.
func (m *Manager) due(c *certState) (bool, time.Time) {
	st, err := readStored(c.Path)
	if err != nil || st.leaf == nil || st.placeholder || !covers(st.leaf, c.Domains) {
		return true, time.Time{}
	}
	c.mu.Lock()
	c.notAfter = st.leaf.NotAfter
	c.mu.Unlock()
	at := m.renewTime(st.leaf.NotBefore, st.leaf.NotAfter)
	return !time.Now().Before(at), at
}

func (m *Manager) backoff(failures int) time.Duration {
	lo, hi := m.sec.RetryMin, m.sec.RetryMax
	if lo <= 0 {
		lo = time.Minute
	}
	if hi <= 0 {
		hi = time.Hour
	}
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

func (c *certState) set(state string, next time.Time) {
	c.mu.Lock()
	c.state, c.next = state, next
	c.mu.Unlock()
}

// keep is one certificate's loop: order it when due, else sleep until it
// is due (looking at the file again now and then: another replica may
// have renewed it, or an operator replaced it).
func (m *Manager) keep(ctx context.Context, c *certState) {
	defer c.set("Stopped", time.Time{})
	var retryAt time.Time // after a failure: not before
	pending := false      // "acme renew" asked for an order
	for {
		select {
		case <-c.renew:
			pending, retryAt = true, time.Time{}
		default:
		}
		due, at := m.due(c)
		if m.opt.Manual {
			due = false // acme.scheduler off: only on request
		}
		due = due || pending
		if due && !time.Now().Before(retryAt) {
			c.set("Running", time.Now())
			res := m.attempt(ctx, c, pending)
			if ctx.Err() != nil {
				return
			}
			switch res.kind {
			case attemptIssued, attemptFresh:
				// Fresh: renewed meanwhile by another replica.
				retryAt, pending = time.Time{}, false
				continue
			case attemptBusy:
				// Another replica orders it (which answers a renew
				// request too): look again soon.
				pending = false
				c.set("Waiting", time.Now().Add(m.opt.Poll))
				if !sleep(ctx, c, m.opt.Poll) {
					return
				}
				continue
			case attemptFailed:
				c.mu.Lock()
				c.failures++
				n := c.failures
				c.mu.Unlock()
				wait := m.backoff(n)
				retryAt = time.Now().Add(wait)
				m.log.Error("ACME order failed; retrying later",
					"acme", m.sec.Name, "certificate", c.Name, "domains", c.Domains,
					"error", res.err.Error(), "failures", n, "retry_in", wait.String())
			}
			continue
		}
		next, state := at, "Scheduled"
		switch {
		case due:
			next = retryAt
		case m.opt.Manual:
			next, state = time.Time{}, "Stopped"
		}
		c.set(state, next)
		// Look at the file at least every minute (cheap) and at the poll
		// period before the first issuance, so a replica that did not
		// order picks up what another wrote.
		wait := time.Until(next)
		look := time.Minute
		if due {
			look = m.opt.Poll
		}
		if next.IsZero() {
			wait = look
		}
		if !sleep(ctx, c, min(max(wait, 0), look)) {
			return
		}
	}
}

// sleep waits d, or until a renew request (left for the loop) or the end.
func sleep(ctx context.Context, c *certState, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case v := <-c.renew:
		c.renew <- v
	}
	return true
}

type attemptKind int

const (
	attemptIssued attemptKind = iota
	attemptBusy
	attemptFailed
	attemptFresh
)

type attemptResult struct {
	kind attemptKind
	err  error
}

// lockTTL is the lease an order holds; the lock package extends it while
// the order runs, so it only bounds how long a dead holder blocks others.
const lockTTL = 2 * time.Minute

// attempt takes the certificate's lock and orders it if it is still due.
func (m *Manager) attempt(ctx context.Context, c *certState, forced bool) attemptResult {
	unlock, ok, err := m.opt.Locker.Lock(ctx, "acme-"+m.sec.Name+"-"+filepath.Base(c.Path), lockTTL)
	if err != nil {
		c.failed.Add(1)
		return attemptResult{kind: attemptFailed, err: fmt.Errorf("order lock: %w", err)}
	}
	if !ok {
		return attemptResult{kind: attemptBusy}
	}
	defer unlock()
	if due, _ := m.due(c); !due && !forced {
		return attemptResult{kind: attemptFresh}
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	pemData, err := m.order(octx, c)
	if err != nil && ctx.Err() != nil {
		// Stopped (a reload, the end): the next configuration orders.
		return attemptResult{kind: attemptFailed, err: err}
	}
	if err != nil {
		c.failed.Add(1)
		c.mu.Lock()
		c.lastErr = err.Error()
		c.mu.Unlock()
		return attemptResult{kind: attemptFailed, err: err}
	}
	if err := writeAtomic(c.Path, pemData, 0o600); err != nil {
		c.failed.Add(1)
		return attemptResult{kind: attemptFailed, err: fmt.Errorf("storing the certificate: %w", err)}
	}
	st, _ := readStored(c.Path)
	c.mu.Lock()
	c.failures, c.lastErr = 0, ""
	if st.leaf != nil {
		c.notAfter = st.leaf.NotAfter
	}
	c.mu.Unlock()
	c.ok.Add(1)
	if st.leaf != nil {
		m.log.Info("ACME certificate issued", "acme", m.sec.Name, "certificate", c.Name,
			"domains", c.Domains, "not_after", st.leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if m.opt.OnIssued != nil {
		m.opt.OnIssued(c.Path)
	}
	return attemptResult{kind: attemptIssued}
}

// memTokens are the tokens this process's orders wait on, answered
// without asking the shared store.
type memTokens struct {
	mu sync.Mutex
	m  map[string]string
}

func (t *memTokens) put(token, ka string) {
	t.mu.Lock()
	t.m[token] = ka
	t.mu.Unlock()
}

func (t *memTokens) del(token string) {
	t.mu.Lock()
	delete(t.m, token)
	t.mu.Unlock()
}

func (t *memTokens) get(token string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ka, ok := t.m[token]
	return ka, ok
}

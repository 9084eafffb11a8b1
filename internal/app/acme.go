package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/acme"
	"github.com/gatehouse/gatehouse/internal/acme/rfc2136"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/maps"
)

// buildACME makes one manager per acme section. It runs before the
// listeners load their certificates: a certificate not issued yet gets
// its placeholder file here.
func (b *builder) buildACME() error {
	cfg := b.cfg
	if len(cfg.ACME) == 0 {
		return nil
	}
	hc, err := acmeHTTPClient(&cfg.Global)
	if err != nil {
		return err
	}
	events := logging.NewProcessHandler(os.Stderr, 0)
	events.SetTargets(b.sys)
	log := slog.New(events)
	var http01 []*acme.Manager
	var stores []acme.ChallengeStore
	for _, sec := range cfg.ACME {
		var certs []acme.Cert
		for _, st := range cfg.CrtStores {
			for _, l := range st.Loads {
				if l.ACME == sec.Name {
					certs = append(certs, acme.Cert{Name: l.Crt, Path: l.Path, Domains: l.Domains,
						PHKeyType: l.KeyType, PHBits: l.Bits, PHCurves: l.Curves})
				}
			}
		}
		locker, chal, release, err := acmeCoordination(cfg, sec)
		if err != nil {
			return config.Errorf(sec.Pos, "acme section '%s': %v", sec.Name, err)
		}
		if sec.Map != "" {
			ref, err := b.maps.Load(sec.Map, true, "map", sec.MapPos.File, sec.MapPos.Line)
			if err != nil {
				release()
				return config.Errorf(sec.MapPos, "'map': %v", err)
			}
			chal = mapChallenges{ChallengeStore: chal, ref: ref}
		}
		o := acme.Options{Section: sec, Certs: certs, HTTPClient: hc, Locker: locker, Challenges: chal, Log: log,
			OnIssued: b.g.reloadCertFile, Manual: cfg.Global.ACMESchedulerOff}
		if sec.Challenge == "DNS-01" {
			dc, err := rfc2136.Parse(sec.DNSUpdate)
			if err != nil {
				release()
				return config.Errorf(sec.DNSUpdatePos, "'dns-update': %v", err)
			}
			s, err := rfc2136.New(dc)
			if err != nil {
				release()
				return config.Errorf(sec.DNSUpdatePos, "'dns-update': %v", err)
			}
			o.DNS = s
		}
		m, err := acme.New(o)
		if err != nil {
			release()
			return config.Errorf(sec.Pos, "%v", err)
		}
		b.g.acme = append(b.g.acme, m)
		if sec.Challenge == "HTTP-01" {
			http01 = append(http01, m)
			stores = append(stores, chal)
		}
		b.g.starters = append(b.g.starters, m.Start)
		// The new graph's managers take over on reload (the lock keeps
		// them from ordering what the old one is still ordering).
		b.g.retirers = append(b.g.retirers, m.Stop)
		b.g.stoppers = append(b.g.stoppers, m.Stop, release)
	}
	if len(http01) > 0 {
		b.acmeHTTP01 = acme.NewResponder(http01, stores).Lookup
	}
	return nil
}

// mapChallenges also keeps the pending tokens in the acme section's map,
// token -> account thumbprint (the key authorization after its dot), as
// HAProxy 3.2 does for rules that answer the challenge themselves. Only
// the replica that ordered fills its map; every replica answers from the
// shared store before the rules.
type mapChallenges struct {
	acme.ChallengeStore
	ref *maps.Ref
}

func (m mapChallenges) Put(ctx context.Context, token, keyAuth string, ttl time.Duration) error {
	if err := m.ChallengeStore.Put(ctx, token, keyAuth, ttl); err != nil {
		return err
	}
	_, thumbprint, _ := strings.Cut(keyAuth, ".")
	return m.ref.SetFirst(token, thumbprint)
}

func (m mapChallenges) Delete(ctx context.Context, token string) error {
	_ = m.ref.Delete(token, 0, false) // absent already: nothing to undo
	return m.ChallengeStore.Delete(ctx, token)
}

// reloadCertFile makes the listeners serving path read it again now,
// without waiting for the certificate watcher.
func (g *Graph) reloadCertFile(path string) {
	for _, s := range g.Stores {
		if slices.Contains(s.Paths(), path) {
			if err := s.Reload(); err != nil && g.SysLog != nil {
				g.SysLog.Printf(logging.LevelErr, "ACME certificate %s not loaded: %v", path, err)
			}
		}
	}
}

// acmeHTTPClient is the client the ACME sections talk to their CA with:
// httpclient.ssl.ca-file and httpclient.ssl.verify, as HAProxy's.
func acmeHTTPClient(g *config.Global) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.HTTPClientCAFile != "" {
		pem, err := os.ReadFile(g.HTTPClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("httpclient.ssl.ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("httpclient.ssl.ca-file '%s': no certificate found", g.HTTPClientCAFile)
		}
		tc.RootCAs = pool
	}
	if g.HTTPClientVerify == "none" {
		tc.InsecureSkipVerify = true
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// ACMEStatus is the runtime API's "acme status".
func (t *graphTarget) ACMEStatus(w io.Writer) {
	var all []acme.CertStatus
	for _, m := range t.ops.g.acme {
		all = append(all, m.Status()...)
	}
	io.WriteString(w, acme.FormatStatus(all, time.Now()))
}

// ACMERenew is the runtime API's "acme renew <crt>".
func (t *graphTarget) ACMERenew(crt string) bool {
	for _, m := range t.ops.g.acme {
		if m.Renew(crt) {
			return true
		}
	}
	return false
}

package acme

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	xacme "golang.org/x/crypto/acme"
)

// client is the section's ACME client with its registered account.
func (m *Manager) client(ctx context.Context) (*xacme.Client, error) {
	m.mu.Lock()
	key := m.key
	m.mu.Unlock()
	if key == nil {
		k, err := loadOrCreateAccountKey(m.sec.AccountKey, m.sec.KeyType, m.sec.Bits, m.sec.Curves)
		if err != nil {
			return nil, err
		}
		key = k
	}
	cl := &xacme.Client{Key: key, DirectoryURL: m.sec.Directory, HTTPClient: m.opt.HTTPClient, UserAgent: "Gatehouse"}
	acct := &xacme.Account{}
	if m.sec.Contact != "" {
		acct.Contact = []string{"mailto:" + strings.TrimPrefix(m.sec.Contact, "mailto:")}
	}
	// Registering an existing key returns its account (RFC 8555 7.3.1),
	// so the stored key keeps its account across restarts.
	if _, err := cl.Register(ctx, acct, xacme.AcceptTOS); err != nil && !errors.Is(err, xacme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("account registration: %w", describe(err))
	}
	m.mu.Lock()
	m.key = key
	m.mu.Unlock()
	return cl, nil
}

// order runs one ACME order for c and returns the PEM of the chain and
// the new key.
func (m *Manager) order(ctx context.Context, c *certState) ([]byte, error) {
	cl, err := m.client(ctx)
	if err != nil {
		return nil, err
	}
	o, err := cl.AuthorizeOrder(ctx, xacme.DomainIDs(c.Domains...))
	if err != nil {
		return nil, fmt.Errorf("new order: %w", describe(err))
	}
	for _, u := range o.AuthzURLs {
		if err := m.authorize(ctx, cl, u); err != nil {
			return nil, err
		}
	}
	if o, err = cl.WaitOrder(ctx, o.URI); err != nil {
		return nil, fmt.Errorf("order: %w", describe(err))
	}
	key, err := newKey(m.sec.KeyType, m.sec.Bits, m.sec.Curves)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: c.Domains[0]}, DNSNames: c.Domains}, key)
	if err != nil {
		return nil, err
	}
	ders, _, err := cl.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		return nil, fmt.Errorf("finalize: %w", describe(err))
	}
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	return append(out, kp...), nil
}

// authorize answers one authorization's challenge of the section's type
// and waits for the CA's verdict.
func (m *Manager) authorize(ctx context.Context, cl *xacme.Client, u string) error {
	z, err := cl.GetAuthorization(ctx, u)
	if err != nil {
		return fmt.Errorf("authorization: %w", describe(err))
	}
	if z.Status == xacme.StatusValid {
		return nil
	}
	domain := z.Identifier.Value
	want := strings.ToLower(m.sec.Challenge)
	var ch *xacme.Challenge
	for _, c := range z.Challenges {
		if c.Type == want {
			ch = c
			break
		}
	}
	if ch == nil {
		return fmt.Errorf("%s: the CA offers no %s challenge", domain, m.sec.Challenge)
	}
	switch want {
	case "http-01":
		ka, err := cl.HTTP01ChallengeResponse(ch.Token)
		if err != nil {
			return err
		}
		m.tokens.put(ch.Token, ka)
		defer m.tokens.del(ch.Token)
		if err := m.opt.Challenges.Put(ctx, ch.Token, ka, 10*time.Minute); err != nil {
			return fmt.Errorf("%s: sharing the HTTP-01 token: %w", domain, err)
		}
		defer m.opt.Challenges.Delete(context.WithoutCancel(ctx), ch.Token)
	case "dns-01":
		rec, err := cl.DNS01ChallengeRecord(ch.Token)
		if err != nil {
			return err
		}
		fqdn := "_acme-challenge." + strings.TrimPrefix(domain, "*.") + "."
		if err := m.opt.DNS.Present(ctx, fqdn, rec); err != nil {
			return fmt.Errorf("%s: publishing %s: %w", domain, fqdn, err)
		}
		defer m.opt.DNS.CleanUp(context.WithoutCancel(ctx), fqdn, rec)
	}
	if _, err := cl.Accept(ctx, ch); err != nil {
		return fmt.Errorf("%s: %w", domain, describe(err))
	}
	if _, err := cl.WaitAuthorization(ctx, z.URI); err != nil {
		var ae *xacme.AuthorizationError
		if errors.As(err, &ae) {
			return describe(err) // names the domain
		}
		return fmt.Errorf("%s: %w", domain, describe(err))
	}
	return nil
}

// describe turns the ACME errors into "problem type: detail" text, the
// part an operator acts on.
func describe(err error) error {
	var ae *xacme.AuthorizationError
	if errors.As(err, &ae) {
		var parts []string
		for _, e := range ae.Errors {
			parts = append(parts, describe(e).Error())
		}
		if len(parts) == 0 {
			return fmt.Errorf("authorization for %s failed", ae.Identifier)
		}
		return fmt.Errorf("authorization for %s failed: %s", ae.Identifier, strings.Join(parts, "; "))
	}
	var pe *xacme.Error
	if errors.As(err, &pe) {
		if pe.Detail != "" {
			return fmt.Errorf("%s: %s", pe.ProblemType, pe.Detail)
		}
		return fmt.Errorf("%s (HTTP %d)", pe.ProblemType, pe.StatusCode)
	}
	var oe *xacme.OrderError
	if errors.As(err, &oe) {
		return fmt.Errorf("order %s is %s", oe.OrderURL, oe.Status)
	}
	return err
}

package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Solver publishes DNS-01 TXT records by dynamic update. It is safe for
// concurrent use: every call makes its own exchanges.
type Solver struct {
	cfg    Config
	secret string // base64; "" without TSIG
}

// attempts bounds the exchanges of one message that time out.
const attempts = 3

// pollInterval is how often Present asks the check servers for the record.
const pollInterval = 500 * time.Millisecond

// maxCNAME bounds a followed CNAME chain.
const maxCNAME = 8

// Present adds the TXT record fqdn (after following a CNAME there) with
// value, then waits until every check server answers it.
func (s *Solver) Present(ctx context.Context, fqdn, value string) error {
	name, zone, err := s.target(ctx, fqdn)
	if err != nil {
		return err
	}
	rr := s.txt(name, value)
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Insert([]dns.RR{rr})
	if err := s.update(ctx, m, zone, name); err != nil {
		return fmt.Errorf("dns-update %s: adding TXT %s: %w", s.cfg.Server, name, err)
	}
	return s.waitVisible(ctx, name, value)
}

// CleanUp deletes the TXT record fqdn with value, and no other value: a
// second order for the same name keeps its own record.
func (s *Solver) CleanUp(ctx context.Context, fqdn, value string) error {
	name, zone, err := s.target(ctx, fqdn)
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Remove([]dns.RR{s.txt(name, value)})
	if err := s.update(ctx, m, zone, name); err != nil {
		return fmt.Errorf("dns-update %s: deleting TXT %s: %w", s.cfg.Server, name, err)
	}
	return nil
}

func (s *Solver) txt(name, value string) *dns.TXT {
	// A character-string holds at most 255 bytes; longer values are split,
	// and the ACME server joins them.
	var parts []string
	for len(value) > 255 {
		parts, value = append(parts, value[:255]), value[255:]
	}
	parts = append(parts, value)
	return &dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET,
		Ttl: uint32(s.cfg.TTL / time.Second)}, Txt: parts}
}

// target follows a CNAME at fqdn and returns the record's name and zone.
func (s *Solver) target(ctx context.Context, fqdn string) (name, zone string, err error) {
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return "", "", fmt.Errorf("dns-update: '%s' is not a domain name", fqdn)
	}
	name = dns.CanonicalName(fqdn)
	for range maxCNAME + 1 {
		r, err := s.query(ctx, s.cfg.Server, name, dns.TypeCNAME)
		if err != nil {
			return "", "", fmt.Errorf("dns-update %s: looking up %s: %w", s.cfg.Server, name, err)
		}
		next := ""
		for _, rr := range r.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
				next = dns.CanonicalName(c.Target)
			}
		}
		if next == "" {
			zone, err = s.zoneOf(ctx, name, r)
			return name, zone, err
		}
		name = next
	}
	return "", "", fmt.Errorf("dns-update %s: %s: more than %d CNAME links", s.cfg.Server, fqdn, maxCNAME)
}

// zoneOf returns the configured zone (checking name is in it), or the one
// the server's answer r about name shows: the owner of its SOA.
func (s *Solver) zoneOf(ctx context.Context, name string, r *dns.Msg) (string, error) {
	if s.cfg.Zone != "" {
		if !dns.IsSubDomain(s.cfg.Zone, name) {
			return "", fmt.Errorf("dns-update %s: %s is not in zone %s", s.cfg.Server, name, s.cfg.Zone)
		}
		return s.cfg.Zone, nil
	}
	if r.Rcode == dns.RcodeSuccess || r.Rcode == dns.RcodeNameError {
		for _, rr := range append(r.Answer, r.Ns...) {
			if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) {
				return dns.CanonicalName(soa.Hdr.Name), nil
			}
		}
	}
	// An answer without an SOA (a referral, a CNAME query answered at the
	// apex): ask for the SOA itself.
	soa, err := s.query(ctx, s.cfg.Server, name, dns.TypeSOA)
	if err != nil {
		return "", fmt.Errorf("dns-update %s: finding the zone of %s: %w", s.cfg.Server, name, err)
	}
	if soa.Rcode != dns.RcodeSuccess && soa.Rcode != dns.RcodeNameError {
		return "", fmt.Errorf("dns-update %s: finding the zone of %s: %s (is the server authoritative for it? else give 'zone')",
			s.cfg.Server, name, dns.RcodeToString[soa.Rcode])
	}
	for _, rr := range append(soa.Answer, soa.Ns...) {
		if x, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(x.Hdr.Name, name) {
			return dns.CanonicalName(x.Hdr.Name), nil
		}
	}
	return "", fmt.Errorf("dns-update %s: finding the zone of %s: no SOA in the answer (the server is not authoritative for it; give 'zone')", s.cfg.Server, name)
}

// update sends m (signed when a key is configured) and maps a refusal to a
// message that says what to fix.
func (s *Solver) update(ctx context.Context, m *dns.Msg, zone, name string) error {
	r, err := s.exchange(ctx, s.cfg.Server, m, true)
	if err != nil {
		return err
	}
	return s.rcodeError(r, zone, name)
}

func (s *Solver) rcodeError(r *dns.Msg, zone, name string) error {
	if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
		return s.tsigError(t.Error)
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		return nil
	case dns.RcodeRefused:
		if s.cfg.KeyName == "" {
			return fmt.Errorf("REFUSED: the server does not allow unsigned updates of zone %s (configure tsig-key)", zone)
		}
		return fmt.Errorf("REFUSED: key %s may not update %s in zone %s (the zone's allow-update or update-policy), or the server does not serve the zone", s.cfg.KeyName, name, zone)
	case dns.RcodeNotAuth:
		return fmt.Errorf("NOTAUTH: the server is not authoritative for zone %s, or refused the TSIG key %s", zone, s.cfg.KeyName)
	case dns.RcodeNotZone:
		return fmt.Errorf("NOTZONE: %s is not in zone %s", name, zone)
	case dns.RcodeServerFailure:
		return fmt.Errorf("SERVFAIL: the server failed to apply the update to zone %s (see its logs)", zone)
	case dns.RcodeNotImplemented:
		return errors.New("NOTIMP: the server does not implement dynamic updates")
	}
	return fmt.Errorf("the server answered %s", dns.RcodeToString[r.Rcode])
}

func (s *Solver) tsigError(code uint16) error {
	switch code {
	case dns.RcodeBadSig:
		return fmt.Errorf("BADSIG: the server refused the TSIG signature of key %s: its secret differs from the server's", s.cfg.KeyName)
	case dns.RcodeBadKey:
		return fmt.Errorf("BADKEY: the server knows no TSIG key %s with algorithm %s", s.cfg.KeyName, strings.TrimSuffix(s.cfg.Algorithm, "."))
	case dns.RcodeBadTime:
		return errors.New("BADTIME: the TSIG time was refused: this host's clock and the server's differ by more than 5 minutes")
	}
	return fmt.Errorf("TSIG error %s for key %s", dns.RcodeToString[int(code)], s.cfg.KeyName)
}

// query asks addr for name's records of type qtype, without recursion.
// Queries are signed too when a key is configured: a server may allow
// queries of the zone only to the key.
func (s *Solver) query(ctx context.Context, addr, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	r, err := s.exchange(ctx, addr, m, true)
	if err != nil {
		return nil, err
	}
	if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
		return nil, s.tsigError(t.Error)
	}
	return r, nil
}

// exchange sends m to addr and returns the answer. A signed request
// needs a signed answer whose signature verifies: an unsigned NOERROR could
// be anyone's. Timeouts are tried again (up to attempts), other errors not.
func (s *Solver) exchange(ctx context.Context, addr string, m *dns.Msg, sign bool) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: s.cfg.Timeout}
	if s.cfg.TCP {
		c.Net = "tcp"
	}
	sign = sign && s.cfg.KeyName != ""
	if sign {
		c.TsigSecret = map[string]string{s.cfg.KeyName: s.secret}
	}
	var last error
	for range attempts {
		if err := ctx.Err(); err != nil {
			break
		}
		m.Id = dns.Id()
		if sign {
			m.Extra = nil
			m.SetTsig(s.cfg.KeyName, s.cfg.Algorithm, 300, time.Now().Unix())
		}
		actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		r, _, err := c.ExchangeContext(actx, m, addr)
		cancel()
		if r != nil && r.Truncated && !s.cfg.TCP {
			return nil, fmt.Errorf("the answer from %s was truncated (use the 'tcp' option)", addr)
		}
		if err == nil && sign {
			if t := r.IsTsig(); t == nil && r.Rcode != dns.RcodeNotAuth && r.Rcode != dns.RcodeRefused {
				return nil, fmt.Errorf("%s answered a signed request without a signature (%s): refused", addr, dns.RcodeToString[r.Rcode])
			}
		}
		if err != nil && r != nil {
			// An answer whose signature did not verify: the server's own
			// TSIG error (BADSIG, BADKEY, BADTIME) comes unsigned; say it.
			if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess && r.Id == m.Id {
				return nil, s.tsigError(t.Error)
			}
			return nil, fmt.Errorf("%s: bad answer (refused): %v", addr, err)
		}
		if err == nil {
			return r, nil
		}
		last = err
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
	}
	if err := ctx.Err(); err != nil {
		if last != nil {
			return nil, fmt.Errorf("%s: %w (last: %v)", addr, err, last)
		}
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return nil, fmt.Errorf("%s: no answer after %d tries of %v: %w", addr, attempts, s.cfg.Timeout, last)
}

// waitVisible polls every check server until it answers the TXT value at
// name, for at most the propagation timeout.
func (s *Solver) waitVisible(ctx context.Context, name, value string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PropagationTimeout)
	defer cancel()
	pending := append([]string(nil), s.cfg.CheckServers...)
	last := map[string]string{}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		var still []string
		for _, addr := range pending {
			ok, why := s.visible(ctx, addr, name, value)
			if !ok {
				still = append(still, addr)
				// The deadline's own error says less than the answer
				// before it.
				if ctx.Err() == nil || last[addr] == "" {
					last[addr] = strings.TrimPrefix(why, addr+": ")
				}
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, a := range pending {
				fmt.Fprintf(&b, "; %s: %s", a, last[a])
			}
			return fmt.Errorf("dns-update: TXT %s %q not visible within %v%s", name, value, s.cfg.PropagationTimeout, b.String())
		case <-t.C:
		}
	}
}

// visible reports whether addr answers the TXT value at name, and if not,
// what it answered.
func (s *Solver) visible(ctx context.Context, addr, name, value string) (bool, string) {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeTXT)
	m.RecursionDesired = false
	// Other check servers may be public secondaries that know no key:
	// only the update server is asked with it.
	r, err := s.exchange(ctx, addr, m, addr == s.cfg.Server)
	if err != nil {
		return false, err.Error()
	}
	if r.Rcode != dns.RcodeSuccess {
		return false, dns.RcodeToString[r.Rcode]
	}
	var seen []string
	for _, rr := range r.Answer {
		if t, ok := rr.(*dns.TXT); ok && strings.EqualFold(t.Hdr.Name, name) {
			v := strings.Join(t.Txt, "")
			if v == value {
				return true, ""
			}
			seen = append(seen, v)
		}
	}
	return false, fmt.Sprintf("TXT %q", seen)
}

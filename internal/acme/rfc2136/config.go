// Package rfc2136 publishes ACME DNS-01 challenges with RFC 2136 dynamic
// updates, signed with TSIG (RFC 8945), to an authoritative server such as
// BIND, Knot or PowerDNS. It implements the acme package's DNSSolver.
//
// # Configuration
//
// An acme section names its DNS-01 solver with one line; Parse takes the
// words after the keyword (the acme section's parser adds the position to
// its errors):
//
//		dns-update <server>[:<port>] [zone <zone>]
//		           [tsig-key <name> [hmac-sha256|hmac-sha512|hmac-sha1] file:<path>|env:<NAME>]
//		           [ttl <seconds>] [propagation-timeout <time>] [check-server <addr>[:<port>]]...
//		           [timeout <time>] [tcp]
//
//	  - <server>: the primary that accepts updates (port 53 when omitted).
//	  - zone: the zone to update; when omitted it is found per name by asking
//	    <server> for the SOA of the record's name (the owner of the SOA in the
//	    answer or authority section).
//	  - tsig-key: the key's name, its algorithm (hmac-sha256 when omitted;
//	    hmac-md5 is refused) and where its base64 secret lives. Like every
//	    secret of the configuration it is read from a file or the environment,
//	    never written inline. Without tsig-key, updates are unsigned (a server
//	    that allows that by address only is rarely what you want).
//	  - ttl: the TXT record's TTL in seconds (default 60).
//	  - propagation-timeout: after the update, Present polls the check
//	    servers until each answers the TXT value, for at most this long
//	    (default 60s; a HAProxy time, milliseconds without a unit).
//	  - check-server: where to look for the record (repeatable); default
//	    <server>. Name the zone's public secondaries when the primary is
//	    hidden, since the ACME server asks them.
//	  - timeout: how long one DNS exchange may take (default 10s); a timed out
//	    exchange is tried again twice (both the addition and the deletion of
//	    one record are idempotent), within the caller's context.
//	  - tcp: use TCP instead of UDP for updates and queries.
//
// Example:
//
//	acme le
//	    directory https://acme-v02.api.letsencrypt.org/directory
//	    challenge DNS-01
//	    dns-update 192.0.2.53 zone example.com tsig-key acme-key. hmac-sha256 file:/etc/gatehouse/acme.tsig
//
// For the acme section: call Parse when the line is read (it does no I/O, so
// a syntax error is a configuration error with a position), and New when
// building the runtime (it reads the secret: a missing file fails the build,
// not the first order).
//
// Present follows a CNAME at the record's name (a delegated
// _acme-challenge, up to 8 links) as the ACME server does, and writes the
// record at the end of the chain; the server must be the primary of that
// zone. CleanUp deletes only the record with the given value, so two orders
// for one name (a wildcard and its base name) do not remove each other's.
package rfc2136

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/miekg/dns"
)

// Defaults.
const (
	DefaultTTL                = 60 * time.Second
	DefaultPropagationTimeout = 60 * time.Second
	DefaultTimeout            = 10 * time.Second
)

// Config is a parsed dns-update line.
type Config struct {
	Server string // host:port
	Zone   string // fully qualified; "" finds it by SOA
	// TSIG; KeyName "" sends unsigned updates.
	KeyName   string // fully qualified
	Algorithm string // one of dns.HmacSHA256, dns.HmacSHA512, dns.HmacSHA1
	Secret    config.SecretRef

	TTL                time.Duration
	PropagationTimeout time.Duration
	CheckServers       []string // host:port; empty: Server
	Timeout            time.Duration
	TCP                bool
}

// algorithms are the TSIG algorithms accepted, by their configuration name.
// hmac-md5 is left out on purpose (RFC 8945 deprecates it).
var algorithms = map[string]string{
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha512": dns.HmacSHA512,
	"hmac-sha1":   dns.HmacSHA1,
}

// Parse reads the words after "dns-update". It does no I/O.
func Parse(args []string) (*Config, error) {
	if len(args) == 0 || isOption(args[0]) {
		return nil, errors.New("expects the DNS server's address (<host>[:<port>]) first")
	}
	srv, err := hostPort(args[0])
	if err != nil {
		return nil, fmt.Errorf("server: %v", err)
	}
	c := &Config{Server: srv, TTL: DefaultTTL, PropagationTimeout: DefaultPropagationTimeout, Timeout: DefaultTimeout}
	seen := map[string]bool{}
	for i := 1; i < len(args); i++ {
		opt := args[i]
		if seen[opt] && opt != "check-server" {
			return nil, fmt.Errorf("'%s' given twice", opt)
		}
		seen[opt] = true
		need := func(what string) (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("'%s' expects %s", opt, what)
			}
			i++
			return args[i], nil
		}
		switch opt {
		case "zone":
			z, err := need("a zone name")
			if err != nil {
				return nil, err
			}
			if _, ok := dns.IsDomainName(z); !ok || z == "." {
				return nil, fmt.Errorf("zone '%s' is not a domain name", z)
			}
			c.Zone = dns.CanonicalName(z)
		case "tsig-key":
			name, err := need("<name> [<algorithm>] file:<path>|env:<NAME>")
			if err != nil {
				return nil, err
			}
			if _, ok := dns.IsDomainName(name); !ok || name == "." {
				return nil, fmt.Errorf("tsig-key name '%s' is not a domain name", name)
			}
			c.KeyName = dns.CanonicalName(name)
			c.Algorithm = dns.HmacSHA256
			next, err := need("file:<path> or env:<NAME> after the key name")
			if err != nil {
				return nil, err
			}
			if alg, ok := algorithms[strings.ToLower(next)]; ok {
				c.Algorithm = alg
				if next, err = need("file:<path> or env:<NAME> after the algorithm"); err != nil {
					return nil, err
				}
			} else if !strings.Contains(next, ":") {
				return nil, fmt.Errorf("tsig-key: '%s' is neither an algorithm (hmac-sha256, hmac-sha512, hmac-sha1) nor file:<path> or env:<NAME> (inline secrets are refused)", next)
			}
			ref, err := identity.ParseSecretRef(next, config.Pos{})
			if err != nil {
				return nil, fmt.Errorf("tsig-key secret: %v", err)
			}
			c.Secret = ref
		case "ttl":
			v, err := need("a number of seconds")
			if err != nil {
				return nil, err
			}
			n, err := strconv.ParseUint(v, 10, 31)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("ttl '%s': expected a number of seconds between 1 and %d", v, math.MaxInt32)
			}
			c.TTL = time.Duration(n) * time.Second
		case "propagation-timeout", "timeout":
			v, err := need("a time")
			if err != nil {
				return nil, err
			}
			d, err := parseTime(v)
			if err != nil {
				return nil, fmt.Errorf("'%s': %v", opt, err)
			}
			if d <= 0 {
				return nil, fmt.Errorf("'%s' must be greater than zero", opt)
			}
			if opt == "timeout" {
				c.Timeout = d
			} else {
				c.PropagationTimeout = d
			}
		case "check-server":
			v, err := need("<host>[:<port>]")
			if err != nil {
				return nil, err
			}
			a, err := hostPort(v)
			if err != nil {
				return nil, fmt.Errorf("check-server: %v", err)
			}
			c.CheckServers = append(c.CheckServers, a)
		case "tcp":
			c.TCP = true
		default:
			return nil, fmt.Errorf("unknown option '%s' (expected zone, tsig-key, ttl, propagation-timeout, check-server, timeout or tcp)", opt)
		}
	}
	return c, nil
}

func isOption(s string) bool {
	switch s {
	case "zone", "tsig-key", "ttl", "propagation-timeout", "check-server", "timeout", "tcp":
		return true
	}
	return false
}

// hostPort adds port 53 to an address without one.
func hostPort(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty address")
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if h == "" || err != nil || n == 0 {
			return "", fmt.Errorf("'%s' is not <host>:<port>", s)
		}
		return s, nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if strings.ContainsAny(h, "[]/ ") || h == "" || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
		return "", fmt.Errorf("'%s' is not <host>[:<port>]", s)
	}
	return net.JoinHostPort(h, "53"), nil
}

// parseTime reads a HAProxy time: digits and an optional unit among us, ms,
// s, m, h, d (milliseconds without one).
func parseTime(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseUint(s[:i], 10, 31)
	if i == 0 || err != nil {
		return 0, fmt.Errorf("invalid time '%s' (expected a number and an optional unit among us, ms, s, m, h, d)", s)
	}
	units := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[s[i:]]
	if !ok {
		return 0, fmt.Errorf("unexpected unit '%s' in time '%s' (expected one of us, ms, s, m, h, d)", s[i:], s)
	}
	return time.Duration(n) * u, nil
}

// New makes the solver: it reads and checks the TSIG secret now, so a
// missing or malformed secret fails the configuration, not an order.
func New(c *Config) (*Solver, error) {
	s := &Solver{cfg: *c}
	if s.cfg.TTL <= 0 {
		s.cfg.TTL = DefaultTTL
	}
	if s.cfg.PropagationTimeout <= 0 {
		s.cfg.PropagationTimeout = DefaultPropagationTimeout
	}
	if s.cfg.Timeout <= 0 {
		s.cfg.Timeout = DefaultTimeout
	}
	if len(s.cfg.CheckServers) == 0 {
		s.cfg.CheckServers = []string{s.cfg.Server}
	}
	if c.KeyName != "" {
		if s.cfg.Algorithm == "" {
			s.cfg.Algorithm = dns.HmacSHA256
		}
		raw, err := identity.LoadSecret(c.Secret)
		if err != nil {
			return nil, fmt.Errorf("tsig-key %s: %v", c.KeyName, err)
		}
		secret := keySecret(string(raw))
		b, err := base64.StdEncoding.DecodeString(secret)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("tsig-key %s: the secret is neither base64 nor a key clause with a base64 secret (as tsig-keygen writes it)", c.KeyName)
		}
		s.secret = secret
	}
	return s, nil
}

// keySecret returns the base64 secret of a file holding either just that or
// a named.conf key clause (tsig-keygen's output: `secret "...";`).
func keySecret(text string) string {
	if m := secretClause.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return strings.TrimSpace(text)
}

var secretClause = regexp.MustCompile(`(?:^|[\s;{])secret\s+"([^"]*)"\s*;`)

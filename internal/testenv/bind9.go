package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Bind9Key is a TSIG key named.conf allows to update the zone with.
type Bind9Key struct {
	Name      string // fully qualified, e.g. "gatehouse-sha256."
	Algorithm string // named.conf's name: hmac-sha256, hmac-sha512, hmac-sha1
	Secret    string // base64
}

// Bind9 is a named (BIND 9) started for a test: the primary of one dynamic
// zone on a free loopback port (UDP and TCP), updatable with any of Keys
// (RFC 2136 + TSIG), in a directory of its own. It is stopped at cleanup.
type Bind9 struct {
	*Process
	Port int
	Addr string // "127.0.0.1:PORT"
	Dir  string
	Zone string // fully qualified, e.g. "example.test."
	Keys []Bind9Key
}

// Key returns the key for algorithm alg (hmac-sha256, hmac-sha512, hmac-sha1).
func (b *Bind9) Key(t testing.TB, alg string) Bind9Key {
	t.Helper()
	for _, k := range b.Keys {
		if k.Algorithm == alg {
			return k
		}
	}
	t.Fatalf("bind9: no %s key", alg)
	return Bind9Key{}
}

// StartBind9 starts named in the foreground as the current user, serving
// zone (e.g. "example.test.") with an SOA, an NS and the extra records given
// in zone-file syntax (names relative to the zone, e.g.
// "alias CNAME real"). It returns once the server answers the zone's SOA.
func StartBind9(t testing.TB, zone string, records ...string) *Bind9 {
	t.Helper()
	return StartBind9With(t, Bind9Config{Zone: zone, Records: records})
}

// Bind9Config describes StartBind9With's zone.
type Bind9Config struct {
	Zone    string   // e.g. "example.test."
	Records []string // zone-file lines beside the SOA and NS
	// ZoneOptions are named.conf statements added to the zone clause,
	// e.g. `allow-query { key "gatehouse-sha256."; };`.
	ZoneOptions string
}

// StartBind9With is StartBind9 with zone options.
func StartBind9With(t testing.TB, c Bind9Config) *Bind9 {
	t.Helper()
	bin := RequireBinary(t, "named")
	zone, records := dns.Fqdn(c.Zone), c.Records
	b := &Bind9{Port: FreePort(t), Dir: t.TempDir(), Zone: zone}
	b.Addr = LocalAddr(b.Port)
	for _, alg := range []string{"hmac-sha256", "hmac-sha512", "hmac-sha1"} {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			t.Fatal(err)
		}
		b.Keys = append(b.Keys, Bind9Key{Name: "gatehouse-" + strings.TrimPrefix(alg, "hmac-") + ".",
			Algorithm: alg, Secret: base64.StdEncoding.EncodeToString(secret)})
	}

	var conf strings.Builder
	// No control channel (rndc), no recursion: an authoritative server
	// only, writing nothing outside its directory.
	fmt.Fprintf(&conf, `options {
	directory %[1]q;
	pid-file %[2]q;
	session-keyfile %[3]q;
	managed-keys-directory %[1]q;
	listen-on port %[4]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
controls { };
`, b.Dir, filepath.Join(b.Dir, "named.pid"), filepath.Join(b.Dir, "session.key"), b.Port)
	var allow []string
	for _, k := range b.Keys {
		fmt.Fprintf(&conf, "key %q { algorithm %s; secret %q; };\n", k.Name, k.Algorithm, k.Secret)
		allow = append(allow, fmt.Sprintf("key %q;", k.Name))
	}
	zoneFile := filepath.Join(b.Dir, "zone.db")
	fmt.Fprintf(&conf, "zone %q { type primary; file %q; allow-update { %s }; %s };\n",
		strings.TrimSuffix(zone, "."), zoneFile, strings.Join(allow, " "), c.ZoneOptions)
	db := fmt.Sprintf("$ORIGIN %s\n$TTL 60\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\n%s\n",
		zone, strings.Join(records, "\n"))
	confFile := filepath.Join(b.Dir, "named.conf")
	if err := os.WriteFile(confFile, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zoneFile, []byte(db), 0o600); err != nil {
		t.Fatal(err)
	}
	// -g: foreground, logging to stderr; -n 1: one worker on a shared machine.
	b.Process = StartProcess(t, "named:"+strconv.Itoa(b.Port), bin, "-g", "-4", "-n", "1", "-c", confFile)
	b.waitReady(t, c.ZoneOptions == "")
	return b
}

// waitReady waits until the server answers the zone's SOA authoritatively
// (when soa; else until it answers at all and says it loaded its zones:
// zone options may refuse unsigned queries).
func (b *Bind9) waitReady(t testing.TB, soa bool) {
	t.Helper()
	var last string
	ok := poll(30*time.Second, func() bool {
		if b.Exited() {
			return true
		}
		r, err := b.Query(dns.Fqdn(b.Zone), dns.TypeSOA)
		switch {
		case err != nil:
			last = err.Error()
		case soa && (r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) == 0):
			last = dns.RcodeToString[r.Rcode]
		case !soa && !strings.Contains(b.String(), "all zones loaded"):
			last = "answers " + dns.RcodeToString[r.Rcode] + ", zones not loaded yet"
		default:
			return true
		}
		return false
	})
	if !ok || b.Exited() {
		t.Fatalf("named on %s not ready within 30s (last: %s); output:\n%s", b.Addr, last, b.String())
	}
}

// Query asks the server (over UDP, no recursion) for name's records of
// type qtype, within 2 seconds.
func (b *Bind9) Query(name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, _, err := (&dns.Client{Net: "udp"}).ExchangeContext(ctx, m, b.Addr)
	return r, err
}

// TXT returns the values of name's TXT records (each record's strings
// joined), failing the test if the server does not answer.
func (b *Bind9) TXT(t testing.TB, name string) []string {
	t.Helper()
	r, err := b.Query(name, dns.TypeTXT)
	if err != nil {
		t.Fatalf("TXT %s at %s: %v", name, b.Addr, err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		t.Fatalf("TXT %s at %s: %s", name, b.Addr, dns.RcodeToString[r.Rcode])
	}
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok && strings.EqualFold(txt.Hdr.Name, dns.Fqdn(name)) {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out
}

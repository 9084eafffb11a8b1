package tlsconf

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// goVersions maps HAProxy's version numbers to Go's; SSLv3 has none, as Go's
// TLS does not implement it (HAProxy likewise skips versions its OpenSSL
// lacks).
var goVersions = [...]uint16{config.TLSv10: tls.VersionTLS10, config.TLSv11: tls.VersionTLS11, config.TLSv12: tls.VersionTLS12, config.TLSv13: tls.VersionTLS13}

// versionRange computes the versions a line accepts the way HAProxy 2.6
// does (ssl_sock_prepare_ctx): no-* flags count only when neither
// ssl-min-ver nor ssl-max-ver is set; the minimum defaults to defMin (binds:
// TLS 1.2, unless ssl-max-ver is lower); the result is the lowest and
// highest version left, a hole in between being accepted as OpenSSL >= 1.1
// does. No version left is an error.
func versionRange(o config.TLSOptions, defMin int) (lo, hi uint16, err error) {
	flags := 0
	if o.MinVer == 0 && o.MaxVer == 0 {
		flags = int(o.NoVersions)
	}
	min, max := o.MinVer, o.MaxVer
	if min == 0 {
		if max == 0 || max >= defMin {
			min = defMin
		} else {
			min = max
		}
	}
	minV, maxV := 0, 0
	for v := config.SSLv3; v <= config.TLSv13; v++ {
		if goVersions[v] == 0 || flags&(1<<v) != 0 || (min != 0 && v < min) || (max != 0 && v > max) {
			continue
		}
		if minV == 0 {
			minV = v
		}
		maxV = v
	}
	if minV == 0 {
		return 0, 0, fmt.Errorf("all SSL/TLS versions are disabled")
	}
	return goVersions[minV], goVersions[maxV], nil
}

// applyOptions sets the versions, suites, curves and tickets of o on c.
func applyOptions(c *tls.Config, o config.TLSOptions, defMin int) error {
	lo, hi, err := versionRange(o, defMin)
	if err != nil {
		return err
	}
	c.MinVersion, c.MaxVersion = lo, hi
	if o.Ciphers != "" {
		ids, err := ParseCipherString(o.Ciphers)
		if err != nil {
			return fmt.Errorf("'ciphers': %v", err)
		}
		c.CipherSuites = ids
	}
	if o.CipherSuites != "" {
		if err := CheckCipherSuites(o.CipherSuites); err != nil {
			return fmt.Errorf("'ciphersuites': %v", err)
		}
	}
	switch {
	case o.Curves != "":
		ids, err := ParseCurves(o.Curves)
		if err != nil {
			return fmt.Errorf("'curves': %v", err)
		}
		c.CurvePreferences = ids
	case o.ECDHE != "":
		ids, err := ParseCurves(o.ECDHE)
		if err != nil || len(ids) != 1 {
			return fmt.Errorf("'ecdhe': unable to set elliptic named curve to '%s'", o.ECDHE)
		}
		c.CurvePreferences = ids
	}
	c.SessionTicketsDisabled = o.NoTLSTickets
	return nil
}

// defaultSessionLifetime is HAProxy's tune.ssl.lifetime default.
const defaultSessionLifetime = 300 * time.Second

// applyTickets sets a bind's ticket keys (tls-ticket-keys) and session
// lifetime (tune.ssl.lifetime).
func applyTickets(c *tls.Config, o config.TLSOptions) error {
	if o.TicketKeys != "" {
		keys, err := LoadTicketKeys(o.TicketKeys)
		if err != nil {
			return err
		}
		c.SetSessionTicketKeys(keys)
	}
	d := o.SessionLifetime
	if d == 0 {
		d = defaultSessionLifetime
	}
	limitSessionLifetime(c, d)
	return nil
}

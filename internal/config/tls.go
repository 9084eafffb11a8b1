package config

import "time"

// TLS protocol versions as HAProxy numbers them (CONF_SSLV3..CONF_TLSV13);
// 0 means not set.
const (
	SSLv3 = 1 + iota
	TLSv10
	TLSv11
	TLSv12
	TLSv13
)

// TLSVersionNames are the names "ssl-min-ver" and "ssl-max-ver" take,
// indexed by version.
var TLSVersionNames = [...]string{"", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

// TLSOptions are the TLS settings shared by "bind", "server" and the
// global "ssl-default-bind-*" / "ssl-default-server-*" keywords. Empty
// strings and zeros are "not set"; the parser fills what a line leaves
// unset from the global defaults, as HAProxy does at its "ssl" keyword.
type TLSOptions struct {
	Ciphers      string // OpenSSL cipher string for TLS <= 1.2
	CipherSuites string // TLS 1.3 suites
	Curves       string // OpenSSL group list
	ECDHE        string // one named curve; used when Curves is unset

	MinVer, MaxVer int   // ssl-min-ver / ssl-max-ver (force-* sets both)
	NoVersions     uint8 // no-sslv3 .. no-tlsv13: bit 1<<version

	NoTLSTickets        bool
	PreferClientCiphers bool   // bind only: the client's suite order wins
	TicketKeys          string // bind only: tls-ticket-keys file
	CRLFile             string // bind only: crl-file, CRLs for client certificates
	// CAIgnoreErr / CrtIgnoreErr (bind only): bit 1<<code for each OpenSSL
	// verify error ignored at depth > 0 / depth 0 (ca-ignore-err,
	// crt-ignore-err); all bits for "all".
	CAIgnoreErr, CrtIgnoreErr uint64
	// SessionLifetime is tune.ssl.lifetime (global, carried by the binds):
	// how long a TLS session may be resumed; 0: HAProxy's default, 300 s.
	SessionLifetime time.Duration
}

// Inherit fills what o leaves unset from d and adds d's flags, the way
// HAProxy merges ssl-default-*-options into a bind or server line.
func (o *TLSOptions) Inherit(d TLSOptions) {
	if o.Ciphers == "" {
		o.Ciphers = d.Ciphers
	}
	if o.CipherSuites == "" {
		o.CipherSuites = d.CipherSuites
	}
	if o.Curves == "" {
		o.Curves = d.Curves
	}
	if o.MinVer == 0 {
		o.MinVer = d.MinVer
	}
	if o.MaxVer == 0 {
		o.MaxVer = d.MaxVer
	}
	o.NoVersions |= d.NoVersions
	o.NoTLSTickets = o.NoTLSTickets || d.NoTLSTickets
	o.PreferClientCiphers = o.PreferClientCiphers || d.PreferClientCiphers
	if o.SessionLifetime == 0 {
		o.SessionLifetime = d.SessionLifetime
	}
}

// TLSGlobal holds the global TLS keywords.
type TLSGlobal struct {
	DefaultBind   TLSOptions // ssl-default-bind-*
	DefaultServer TLSOptions // ssl-default-server-*
}

// CrtList is a "crt-list FILE" of a bind line. The file is read when the
// listener is built (and again on certificate reloads).
type CrtList struct {
	Path   string
	Base   string // crt-base, for relative certificate paths in the file
	CABase string // ca-base, for relative ca-file paths of its lines
	After  int    // how many "crt" paths of the line come before it (load order)
}

package config

import "time"

// ACME is an "acme" section (HAProxy 3.2's, configuration.txt 12.8): a CA
// to order certificates from and how. Paths are resolved.
type ACME struct {
	Pos       Pos
	Name      string
	Directory string // the CA's directory URL (mandatory)
	// AccountKey is the account's private key file; generated when
	// missing. Default "<StateDir>/<Name>.account.key".
	AccountKey string
	Contact    string // e-mail address, without "mailto:"
	Challenge  string // "HTTP-01" (default) or "DNS-01"
	KeyType    string // certificates' keys: "ECDSA" (default) or "RSA"
	Bits       int    // RSA key size; default 2048
	Curves     string // ECDSA curve: "P-256" or "P-384" (default)
	// Map is a map (a file, or "virt@<name>" for one without a file) that
	// holds token -> account thumbprint while a challenge is pending, for
	// HAProxy 3.2's HTTP-01 'return' rule; empty: none.
	Map    string `json:",omitempty"`
	MapPos Pos    `json:",omitempty"`

	// Gatehouse's own keywords.

	// StateDir holds the certificates, the account key (by default), the
	// pending HTTP-01 tokens and the replicas' lock files. Default: the
	// directory the configuration names relative paths from.
	StateDir string
	// RenewAt is the share of a certificate's lifetime after which it is
	// renewed, in percent; 0: two thirds.
	RenewAt int `json:",omitempty"`
	// RetryMin and RetryMax bound the backoff after a failed order; zero:
	// 1m and 1h.
	RetryMin, RetryMax time.Duration `json:",omitempty"`
	// DNSUpdate is the words of a "dns-update" line (the RFC 2136 DNS-01
	// solver's own syntax, read when the runtime is built), with its line.
	DNSUpdate    []string `json:",omitempty"`
	DNSUpdatePos Pos      `json:",omitempty"`
}

// CrtStore is a "crt-store" section (configuration.txt 12.7).
type CrtStore struct {
	Pos     Pos
	Name    string // "" for the anonymous store
	CrtBase string
	KeyBase string
	Loads   []*CrtLoad
}

// CrtLoad is a "load" line of a crt-store.
type CrtLoad struct {
	Pos   Pos
	Crt   string // as written
	Path  string // the file: crt-base applied, or the acme state-dir for an ACME certificate
	Alias string
	// ACME names the acme section that orders the certificate; Domains
	// are its names, the first one its CN.
	ACME    string   `json:",omitempty"`
	Domains []string `json:",omitempty"`
	// The placeholder served until the first certificate is issued
	// (generate-dummy's key parameters; HAProxy's defaults RSA 2048, P-384).
	KeyType string `json:",omitempty"`
	Bits    int    `json:",omitempty"`
	Curves  string `json:",omitempty"`
}

package config

import (
	"net/netip"
	"time"
)

// Resolvers is a "resolvers" section: the DNS servers that follow the
// records of servers declared with "resolvers <name>".
type Resolvers struct {
	Pos         Pos
	Name        string
	Nameservers []Nameserver
	// ParseResolvConf: "parse-resolv-conf" adds the nameservers of
	// /etc/resolv.conf (read when the runtime graph is built).
	ParseResolvConf bool
	PayloadSize     int           // accepted_payload_size, 512..65535 (default 512)
	Retries         int           // resolve_retries (default 3)
	Resolve, Retry  time.Duration // timeout resolve (default 1s), timeout retry (default 1s)
	Hold            Hold
}

// Nameserver is one "nameserver <name> <address>[:<port>]" line.
type Nameserver struct {
	Pos  Pos
	Name string
	Addr netip.AddrPort
}

// Hold is the "hold <status> <period>" set of a resolvers section.
type Hold struct {
	Valid    time.Duration // how long a valid answer is used before asking again (default 10s)
	Obsolete time.Duration // how long a record missing from the answers is kept (default 0s)
	NX       time.Duration // how long the last valid answer survives NXDOMAIN (default 30s)
	Refused  time.Duration // ... a REFUSED answer (default 30s)
	Timeout  time.Duration // ... no answer at all (default 30s)
	Other    time.Duration // ... any other error (default 30s)
}

// NewResolvers is a section with HAProxy's defaults.
func NewResolvers(name string, pos Pos) *Resolvers {
	return &Resolvers{
		Pos: pos, Name: name, PayloadSize: 512, Retries: 3,
		Resolve: time.Second, Retry: time.Second,
		Hold: Hold{Valid: 10 * time.Second, NX: 30 * time.Second, Refused: 30 * time.Second,
			Timeout: 30 * time.Second, Other: 30 * time.Second},
	}
}

// ServerDNS is how a server follows DNS: its "resolvers", "resolve-*",
// "init-addr" options, and what "server-template" made of it.
type ServerDNS struct {
	Resolvers    string         // section name; "" resolves only at start
	PreferIPv4   bool           // resolve-prefer ipv4 (HAProxy's default is ipv6)
	PreferSet    bool           // resolve-prefer was given
	Nets         []netip.Prefix // resolve-net: preferred networks, in order
	AllowDupIP   bool           // resolve-opts allow-dup-ip
	IgnoreWeight bool           // resolve-opts ignore-weight
	// InitAddr lists the "init-addr" methods in order: "last", "libc",
	// "none" or an IP address. nil means HAProxy's default "last,libc".
	InitAddr []string
	// Template is the "server-template" prefix the server came from ("" for
	// a server line); Slot its number.
	Template string
	Slot     int
}

// SRV reports whether host is an SRV record name (_service._proto.name).
func SRV(host string) bool { return len(host) > 0 && host[0] == '_' }

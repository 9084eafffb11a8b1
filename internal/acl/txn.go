// Package acl compiles HAProxy sample expressions (fetches and converters),
// ACLs and conditions into predicates evaluated against a Txn.
//
// Compiled Expr, Set and Cond values are immutable and shared by every
// connection; a Txn belongs to one stream at a time. Evaluation does not
// allocate in steady state (regsub excepted). Regular expressions (-m reg,
// *_reg, regsub) use Go's RE2 syntax, not PCRE: no back-references or
// look-around in patterns. Keyword tables are functions returning slices
// (fetchTable, convTable, aclKeywords, predefined); FetchKeywords and
// ConverterKeywords expose them for the documentation.
package acl

import (
	"crypto/tls"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/stick"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// Txn is what fetches read: the current request (and response, in response
// rules), the connection and the routing decisions made so far. The proxy
// fills it; HTTP/1.1 and HTTP/2 fill it the same way.
type Txn struct {
	Req  *httpmsg.Request  // nil in a pure tcp session
	Resp *httpmsg.Response // nil before the response

	Src netip.AddrPort // client address (from the PROXY header when accept-proxy)
	Dst netip.AddrPort // address the client connected to
	// ConnSrc and ConnDst are the client connection's addresses, which
	// http-request set-src and set-dst (changing Src and Dst) leave alone
	// (fc_src, fc_dst).
	ConnSrc, ConnDst netip.AddrPort
	// BcSrc, BcDst and BcHTTPMajor describe the connection to the server
	// once there is one (bc_src, bc_dst, bc_http_major).
	BcSrc, BcDst netip.AddrPort
	BcHTTPMajor  int
	// BcClientRandom and BcServerRandom are that connection's TLS randoms
	// (ssl_bc_client_random, ssl_bc_server_random).
	BcClientRandom, BcServerRandom []byte

	TLS        bool   // the client connection is TLS (ssl_fc)
	SNI        string // ssl_fc_sni
	ALPN       string // ssl_fc_alpn
	TLSVersion string // ssl_fc_protocol, e.g. "TLSv1.3"
	// TLSState is the client connection's TLS state (ssl_c_*, ssl_fc_cipher),
	// nil without TLS; ClientVerify, ClientCrtErr and ClientCAErr are the
	// verification results of its certificate (OpenSSL's X509_V_ERR codes,
	// 0 when none), as ssl_c_verify, ssl_c_err and ssl_c_ca_err read them.
	TLSState                                *tls.ConnectionState
	ClientVerify, ClientCrtErr, ClientCAErr int64
	// ClientCertVerified: TLSState's peer certificate verified against the
	// bind's CAs with no error (not even an ignored one), so it may vouch
	// for the client (X-Forwarded-Client-Cert, identity tokens).
	ClientCertVerified bool
	// Hello is what tune.ssl.capture-buffer-size kept of the client's
	// ClientHello (ssl_fc_cipherlist_* and co.), nil without a capture.
	Hello *tlsconf.Hello
	// KeyLog is the TLS connection's randoms (ssl_fc_*_random) and, with
	// tune.ssl.keylog on, its TLS 1.3 secrets (ssl_fc_*_secret).
	KeyLog *tlsconf.KeyLog

	Frontend, Backend, Server string
	// ProxyAuth: "option http-use-proxy-header" and a proxied request (its
	// target starts with neither '/' nor '*'): credentials are read from
	// Proxy-Authorization, as HAProxy's TX_USE_PX_CONN.
	ProxyAuth bool

	// Payload holds the bytes peeked so far from a tcp-mode connection
	// (req.len, req.ssl_sni, req.ssl_hello_type, ...).
	Payload []byte
	// ResPayload holds the server's bytes read so far by tcp-response
	// content inspection (res.len, res.payload, res.ssl_hello_type, ...).
	ResPayload []byte

	// NotFirst: an earlier request came on the same HTTP/1 connection
	// (http_first_req is false).
	NotFirst bool

	// ParsedMethod is the method as received when a set-method rule
	// changed Req.Method. HAProxy's method fetch keeps answering a
	// well-known received method (GET, HEAD, ...) after set-method; only
	// another one is read again from the request line.
	ParsedMethod string

	// UniqueID is the request's unique id (unique-id-format), "" if none.
	UniqueID string

	// UsableServers returns how many servers of the named backend can take
	// traffic (nbsrv); 0 for an unknown one. nil: none known.
	UsableServers func(backend string) int

	// Proxies answers the fe_*, be_*, srv_* and queue fetches; nil: none
	// known.
	Proxies ProxyInfo

	// Claims returns the values of an identity claim (oidc_claim); nil when
	// the request carries no identity.
	Claims func(name string) []string

	// CompAlgo is the algorithm compressing the response ("gzip",
	// "raw-deflate", ...; res.comp, res.comp_algo); "" when it is not.
	CompAlgo string

	// Captured answers the capture.* fetches; nil: nothing captured.
	Captured Captured
	// Body answers the req.body fetches; nil: no body to see.
	Body BodySource
	// Stream answers cur_*_timeout, so_*, fc_rcvd_proxy, fc_pp_* and the
	// fc_rtt family; nil: none of them has a value.
	Stream Stream

	// CacheHit names the cache the response was answered from
	// (res.cache_hit, res.cache_name); "" when it came from elsewhere.
	CacheHit string

	// InResponse is true while http-response rules run: direction-dependent
	// fetches (hdr, hdr_cnt, ...) then read the response, as in HAProxy.
	InResponse bool
	// InTCPResponse is true while tcp-response content rules run: ACLs
	// on what they cannot read fail, as HAProxy warns they never match.
	InTCPResponse bool

	// Inspecting is true during tcp-request (and tcp-response) content
	// inspection while more payload may still arrive (inspect-delay not expired, buffer not full,
	// client still sending). Payload fetches may then change their answer
	// (Cond.Eval returns Miss) and WAIT_END waits. False everywhere else.
	Inspecting bool

	// Stick is the stream's stick-table stage (track-sc counters, tables
	// by name); nil when the proxies have no stick table.
	Stick *stick.Stream

	// Vars are the variables the stream reaches (var(), set-var); nil: none.
	Vars *Vars

	// Scratch space reused across evaluations so that steady-state matching
	// does not allocate. A Txn must not be evaluated concurrently.
	fbuf []byte // fetches that build their value (base, ...)
	cbuf []byte // converters and type casts while matching
}

// Clear empties t in place for the next request of a connection, keeping
// its scratch space, so fetches and converters that build values do not
// allocate again on every request.
func (t *Txn) Clear() {
	f, c := t.fbuf[:0], t.cbuf[:0]
	*t = Txn{}
	t.fbuf, t.cbuf = f, c
}

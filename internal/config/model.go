// Package config is Gatehouse's configuration model: plain data with the
// position each item came from. It has no parsing and no runtime; cfgparse
// fills it and app builds the runtime graph from it.
package config

import (
	"fmt"
	"net/netip"
	"time"
)

// Pos locates a configuration item for diagnostics.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Diag is one diagnostic, already formatted as HAProxy formats them:
// "parsing [FILE:LINE] : message".
type Diag struct {
	Pos     Pos
	Warning bool
	// Level names an informational message ("NOTICE", "DIAG" from the
	// .notice and .diag directives); such a Diag also has Warning set, so
	// it is never taken for an error.
	Level string `json:",omitempty"`
	Msg   string
}

// Severity is the level HAProxy prints the message at: ALERT for an error,
// WARNING, or the informational Level.
func (d Diag) Severity() string {
	switch {
	case d.Level != "":
		return d.Level
	case d.Warning:
		return "WARNING"
	}
	return "ALERT"
}

func (d Diag) Error() string {
	if d.Pos.File == "" {
		return d.Msg
	}
	return fmt.Sprintf("parsing [%s:%d] : %s", d.Pos.File, d.Pos.Line, d.Msg)
}

// Errorf builds an error diagnostic at pos.
func Errorf(pos Pos, format string, args ...any) Diag {
	return Diag{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Config is a whole loaded configuration.
type Config struct {
	Global  Global
	Proxies []*Proxy // frontends, backends and listens in declaration order, defaults applied
	// Identity holds the "oidc" and "identity-token" sections.
	Identity Identity
	// Resolvers are the "resolvers" sections in declaration order.
	Resolvers []*Resolvers `json:",omitempty"`
	// Userlists are the "userlist" sections in declaration order.
	Userlists []*Userlist `json:",omitempty"`
	// HTTPErrors are the "http-errors" sections in declaration order.
	HTTPErrors []*HTTPErrors `json:",omitempty"`
	// Caches are the "cache" sections in declaration order.
	Caches []*Cache `json:",omitempty"`
	// Peers are the "peers" sections in declaration order; LocalPeer is
	// this process's peer name (-L, 'localpeer', or the host name).
	Peers     []*Peers `json:",omitempty"`
	LocalPeer string   `json:",omitempty"`
	// ACME are the "acme" sections, CrtStores the "crt-store" ones, in
	// declaration order.
	ACME      []*ACME     `json:",omitempty"`
	CrtStores []*CrtStore `json:",omitempty"`
	// Mailers are the "mailers" sections in declaration order.
	Mailers []*Mailers `json:",omitempty"`
	// Rings are the "ring" sections in declaration order.
	Rings []*Ring `json:",omitempty"`
	// LogForwards are the "log-forward" sections in declaration order.
	LogForwards []*LogForward `json:",omitempty"`
	// Programs are the "program" sections in declaration order.
	Programs []*Program `json:",omitempty"`
	// Warnings collected while parsing (errors abort the parse instead).
	Warnings []Diag
}

// Global is the "global" section.
type Global struct {
	Pos           Pos
	MaxConn       int           // 0: unlimited
	HardStopAfter time.Duration // 0: use the default (30s)
	Logs          []*Log
	// LogTag ("log-tag"): the syslog tag; "" means "gatehouse".
	LogTag string `json:",omitempty"`
	// LogSendHostname ("log-send-hostname"): the host name syslog headers
	// carry; "" leaves it out (rfc3164) or writes "-" (rfc5424).
	LogSendHostname string `json:",omitempty"`
	TuneBufSize     int    // tune.bufsize; 0: default
	// TuneMaxRewrite ("tune.maxrewrite"): buffer room kept for rules to
	// add to a head; nil: 1024, HAProxy's. At most half of tune.bufsize.
	TuneMaxRewrite *int `json:",omitempty"`
	// TuneMaxHdr ("tune.http.maxhdr", 1..32767): the most header lines a
	// message head may have, its start line counted; 0: HAProxy's 101.
	TuneMaxHdr int `json:",omitempty"`
	// TuneCompMaxLevel ("tune.comp.maxlevel", 1..9): the level every
	// compressed response starts with; 0: HAProxy's default, 1.
	TuneCompMaxLevel int `json:",omitempty"`
	StatsSockets     []*StatsSocket
	StatsTimeout     time.Duration // stats timeout: idle timeout of a runtime API session; 0: 10s
	StatsMaxConn     int           // stats maxconn: concurrent runtime API connections per socket; 0: 10
	SpreadChecks     int           // percent
	ExtraKV          map[string]string

	CrtBase string // crt-base: directory relative certificate paths are taken from (already applied)
	CABase  string // ca-base: directory relative CA file paths are taken from (already applied)
	// HTTPClientCAFile and HTTPClientVerify are httpclient.ssl.ca-file and
	// httpclient.ssl.verify: how the ACME client checks its CA's server
	// ("" and "": the system's roots, verified).
	HTTPClientCAFile string `json:",omitempty"`
	HTTPClientVerify string `json:",omitempty"`
	// ACMESchedulerOff is "acme.scheduler off": ACME orders only on
	// request ("acme renew").
	ACMESchedulerOff bool   `json:",omitempty"`
	SSLServerVerify  string // ssl-server-verify: "none" or "required"; "" = required (HAProxy's default)
	// SSLSkipSelfIssuedCA ("ssl-skip-self-issued-ca"): a crt file's
	// self-signed root stays on disk but is not sent in handshakes.
	SSLSkipSelfIssuedCA bool `json:",omitempty"`
	NoSplice            bool // nosplice: never splice(2), whatever the proxies' options say
	// MaxPipes ("maxpipes"): kernel pipes splicing may hold at once; past
	// it a tunnel copies through user space. 0: HAProxy's default, a
	// quarter of the splicing proxies' connections (global maxconn at most).
	MaxPipes int `json:",omitempty"`
	// MaxAccept ("tune.maxaccept"): connections a listener accepts in a
	// row before it yields to other work; -1: no limit; 0: 4, HAProxy's.
	MaxAccept int `json:",omitempty"`
	// TunePipeSize ("tune.pipesize"): the size asked for splicing pipes
	// (F_SETPIPE_SZ); <= 0: Gatehouse's default, 1 MiB.
	TunePipeSize int `json:",omitempty"`
	// NoReusePort ("noreuseport"): frontend listeners are opened
	// without SO_REUSEPORT.
	NoReusePort bool `json:",omitempty"`
	// PP2NeverSendLocal ("pp2-never-send-local"): health checks send a
	// PROXY v2 header with the PROXY command and the check connection's
	// addresses instead of LOCAL.
	PP2NeverSendLocal bool `json:",omitempty"`
	// H1AcceptPayloadAnyMethod ("h1-accept-payload-with-any-method"):
	// HTTP/1.0 GET, HEAD and DELETE requests with a payload are not
	// refused with 413.
	H1AcceptPayloadAnyMethod bool `json:",omitempty"`
	// TuneLogURILen ("tune.http.logurilen"): the bytes of the request
	// line the logs keep; nil or -1: HAProxy's default (1023).
	TuneLogURILen *int `json:",omitempty"`
	// TuneCookieLen ("tune.http.cookielen"): the longest "capture cookie"
	// length; nil or -1: HAProxy's default (63).
	TuneCookieLen *int `json:",omitempty"`
	// TuneSSLCaptureSize ("tune.ssl.capture-buffer-size"): the bytes of
	// each ClientHello's cipher, extension, curve and point-format lists
	// kept for the ssl_fc_cipherlist_* fetches; nil or 0: none captured.
	TuneSSLCaptureSize *int `json:",omitempty"`
	// TuneSSLKeyLog ("tune.ssl.keylog on"): TLS connections keep their
	// randoms and TLS 1.3 secrets for the ssl_fc_*_secret fetches.
	TuneSSLKeyLog bool `json:",omitempty"`
	// SockBuf ("tune.rcvbuf.client", "tune.sndbuf.client",
	// "tune.rcvbuf.server", "tune.sndbuf.server"): SO_RCVBUF/SO_SNDBUF of
	// accepted sockets and of sockets to servers; 0: the kernel's.
	SockBuf SockBufs `json:",omitzero"`
	// Rates are the process's accept-rate and compression limits
	// (maxconnrate, maxsessrate, maxsslrate, maxcomprate, maxcompcpuusage).
	Rates RateLimits `json:",omitzero"`

	H2 H2Tune // tune.h2.*
	// QUIC holds tune.quic.frontend.* (zero: HAProxy's defaults).
	QUIC QUICTune `json:",omitzero"`
	// ClusterSecret ("cluster-secret"): keys QUIC's Retry and stateless
	// reset tokens, so replicas and reloads accept each other's; "": a
	// random key per process.
	ClusterSecret string    `json:",omitempty"`
	TLS           TLSGlobal // ssl-default-*, tune.ssl.*

	// server-state-file and server-state-base: where backends with
	// "load-server-state-from-file" read their servers' saved states.
	ServerStateFile string `json:",omitempty"`
	ServerStateBase string `json:",omitempty"`

	Process Process `json:",omitzero"` // user, group, chroot, pidfile, ulimit-n, node, ...

	// VarsMaxSize holds tune.vars.*-max-size: byte limits on variables.
	// nil: none set.
	VarsMaxSize *VarsMaxSize `json:",omitempty"`
	// SetVars are the global set-var and set-var-fmt lines, in order.
	SetVars []*VarAction `json:",omitempty"`
	// H1Case: "h1-case-adjust", "h1-case-adjust-file" (sockopts.go).
	H1Case H1Case `json:",omitzero"`
}

// RateLimits are the global per-process limits; zero means none.
type RateLimits struct {
	ConnRate int `json:",omitempty"` // maxconnrate: connections accepted per second
	SessRate int `json:",omitempty"` // maxsessrate: sessions (past tcp-request connection rules) per second
	SSLRate  int `json:",omitempty"` // maxsslrate: sessions on SSL binds per second
	// MaxSSLConn ("maxsslconn"): live TLS connections, client and server
	// sides together; 0: no limit.
	MaxSSLConn int `json:",omitempty"`
	// CompRate ("maxcomprate"): compression input in kB/s past which new
	// responses are not compressed.
	CompRate int `json:",omitempty"`
	// CompCPU ("maxcompcpuusage", 0..100): process CPU usage in percent
	// past which new responses are not compressed; 0: unset (100).
	CompCPU    int  `json:",omitempty"`
	CompCPUSet bool `json:",omitempty"`
}

// SockBufs are the socket buffer sizes the tune.{rcv,snd}buf.{client,server}
// keywords force; 0 leaves the kernel's default and auto-tuning.
type SockBufs struct {
	ClientRcv, ClientSnd, ServerRcv, ServerSnd int
}

// QUICTune holds HAProxy 2.6's tune.quic.frontend.* settings.
type QUICTune struct {
	MaxIdleTimeout time.Duration `json:",omitempty"` // max-idle-timeout; 0: 30s
	MaxStreamsBidi int           `json:",omitempty"` // max-streams-bidi; 0: 100
}

// H2Tune holds HAProxy's tune.h2.* settings; zero means the engine's default.
// The parser enforces HAProxy's ranges, so a non-zero value is always valid.
type H2Tune struct {
	HeaderTableSize int // tune.h2.header-table-size: HPACK dynamic table size (4096..65536, HAProxy's default 4096)

	// tune.h2.initial-window-size sets both sides (0..2147483647, HAProxy's
	// default 65536); tune.h2.fe.initial-window-size overrides it for
	// frontends, tune.h2.be.initial-window-size for backends. A 0, even
	// written out, reads as unset: fe./be. fall back to the common value,
	// which falls back to the engine's default.
	InitialWindowSize   int
	FEInitialWindowSize int
	BEInitialWindowSize int

	// tune.h2.max-concurrent-streams sets both sides (HAProxy's default 100);
	// the fe./be. variants override it. Gatehouse requires at least 1.
	MaxConcurrentStreams   int
	FEMaxConcurrentStreams int
	BEMaxConcurrentStreams int

	MaxFrameSize        int // tune.h2.max-frame-size: largest frame payload accepted (16384..16777215)
	FEMaxTotalStreams   int // tune.h2.fe.max-total-streams: streams per connection before GOAWAY (0: unlimited)
	FEGlitchesThreshold int // tune.h2.fe.glitches-threshold: protocol "glitches" before the connection is killed (0: no threshold, HAProxy's default)
}

// StatsSocket is "stats socket ADDR [level L] [mode M] [user U] [group G]" in global.
type StatsSocket struct {
	Pos   Pos
	Path  string // a unix socket path (unix@ removed) or, with Net set, host:port
	Net   string `json:",omitempty"` // "": unix socket; "tcp4" (ipv4@), "tcp6" (ipv6@)
	Level string // "user", "operator", "admin"
	Mode  uint32 // file mode, 0 = default
	UID   *int   `json:",omitempty"` // owner of the socket file (user/uid); nil: unchanged
	GID   *int   `json:",omitempty"` // group of the socket file (group/gid); nil: unchanged
}

// Mode is a proxy's mode.
type Mode uint8

const (
	ModeHTTP Mode = iota
	ModeTCP
)

func (m Mode) String() string {
	if m == ModeTCP {
		return "tcp"
	}
	return "http"
}

// Cap is what a proxy section can do.
type Cap uint8

const (
	CapFE Cap = 1 << iota
	CapBE
)

// ConnMode is the HTTP connection mode (option http-keep-alive / http-server-close / httpclose).
type ConnMode uint8

const (
	ConnKeepAlive ConnMode = iota
	ConnServerClose
	ConnClose
)

// HTTPReuse is "http-reuse": which idle server connections a request may
// take. The zero value is HAProxy's default, safe.
type HTTPReuse uint8

const (
	ReuseSafe       HTTPReuse = iota // a session's first request gets a connection of its own
	ReuseNever                       // connections are private to the session that opened them
	ReuseAggressive                  // first requests only take connections reused at least once
	ReuseAlways                      // any request takes any idle connection
)

// Timeouts of a proxy; zero means unset.
type Timeouts struct {
	Client, Server, Connect, HTTPRequest, HTTPKeepAlive, Queue, Tunnel, Check time.Duration
	// ClientFin and ServerFin replace the client and server inactivity
	// timeouts once Gatehouse has shut that side for writing (half-closed),
	// as HAProxy's "timeout client-fin" / "timeout server-fin".
	ClientFin, ServerFin time.Duration `json:",omitzero"`
	// Tarpit is "timeout tarpit": how long a tarpitted request is held
	// (HAProxy falls back to timeout connect when it is unset).
	Tarpit time.Duration `json:",omitzero"`
}

// Proxy is a frontend, backend or listen section (defaults already merged in).
type Proxy struct {
	Pos     Pos
	Section string // "frontend", "backend" or "listen"
	Name    string
	Cap     Cap
	Mode    Mode

	Description string `json:",omitempty"` // "description": shown beside the name on the stats page
	ID          int    `json:",omitempty"` // "id": the persistent ID (stats iid); 0: assigned in order
	// EmailAlert: the "email-alert" lines (mailers.go); nil: none.
	EmailAlert *EmailAlert `json:",omitempty"`
	// MonitorURI ("monitor-uri") is answered by the frontend itself, 200 or
	// 503 when a MonitorFail condition holds ("monitor fail if|unless").
	MonitorURI  string  `json:",omitempty"`
	MonitorFail []*Cond `json:",omitempty"`
	// Disabled ("disabled"): the proxy is not started: nothing bound, no
	// checks, no statistics; requests routed to it are answered 503.
	Disabled bool `json:",omitempty"`
	// LoadServerState ("load-server-state-from-file"): "global", "local"
	// or "none"/"" (the default: nothing loaded); ServerStateFileName is
	// "server-state-file-name" for "local" ("" = the backend's name).
	LoadServerState     string `json:",omitempty"`
	ServerStateFileName string `json:",omitempty"`

	StickTable *StickTable `json:",omitempty"` // "stick-table"
	// StickRules: "stick match|on|store-request|store-response", in order.
	StickRules []*StickRule `json:",omitempty"`
	// Compression ("compression algo|type|offload"); nil without any.
	Compression *Compression `json:",omitempty"`
	// FilterCompression: "filter compression", the compression filter
	// declared explicitly (the only filter Gatehouse has).
	FilterCompression bool `json:",omitempty"`

	Binds   []*Bind
	MaxConn int
	// RateLimitSessions ("rate-limit sessions"): new sessions a frontend
	// accepts per second; past it its listeners pause. 0: no limit.
	RateLimitSessions int `json:",omitempty"`
	// FullConn ("fullconn"): the backend load at which servers with a
	// minconn reach their maxconn; 0: HAProxy's default (10% of the
	// maxconn of the frontends routing to it).
	FullConn int `json:",omitempty"`
	Timeouts Timeouts

	ACLs         []*ACL
	HTTPRequest  []*HTTPAction
	HTTPResponse []*HTTPAction
	// HTTPAfterResponse: "http-after-response" rules, run on every
	// response, the proxy's own answers included.
	HTTPAfterResponse []*HTTPAction `json:",omitempty"`
	TCPRequest        []*TCPAction  // tcp-request connection|content rules
	InspectDelay      time.Duration
	UseBackends       []*UseBackend
	DefaultBackend    string
	DefaultBEPos      Pos

	// TCPResponse: "tcp-response content" rules (Layer "content"), run on
	// the server's first bytes for up to ResInspectDelay ("tcp-response
	// inspect-delay").
	TCPResponse     []*TCPAction  `json:",omitempty"`
	ResInspectDelay time.Duration `json:",omitempty"`

	ForwardFor  *ForwardFor
	OriginalTo  *OriginalTo `json:",omitempty"` // option originalto
	ConnMode    ConnMode
	HTTPLog     bool
	HTTPLogCLF  bool // option httplog clf
	HTTPSLog    bool
	TCPLog      bool
	DontLogNull bool
	// SocketStats ("option socket-stats"): each listener gets its own
	// stats row, after the FRONTEND one.
	SocketStats bool `json:",omitempty"`
	// CliTCPKA and SrvTCPKA: "option clitcpka" / "option srvtcpka" ("option
	// tcpka" sets both): SO_KEEPALIVE with the system's timers on client
	// connections (read on the frontend) and server connections (read on
	// the backend). Off by default, as in HAProxy.
	CliTCPKA bool `json:",omitempty"`
	// PretendKeepAlive: "option http-pretend-keepalive" (backend): a
	// request sent on a connection that will close after the response
	// does not say "Connection: close".
	PretendKeepAlive bool `json:",omitempty"`
	SrvTCPKA         bool `json:",omitempty"`
	// LogASAP ("option logasap"): the line is emitted once the server's
	// response head is sent (mode tcp: once connected), %B %Tt %Ta %Tu
	// prefixed with '+'.
	LogASAP bool `json:",omitempty"`
	// LogSeparateErrors ("option log-separate-errors"): lines of failed
	// sessions go out at level err instead of info.
	LogSeparateErrors bool `json:",omitempty"`
	// DontLogNormal ("option dontlog-normal"): only failed sessions log.
	DontLogNormal bool `json:",omitempty"`
	// LogHealthChecks ("option log-health-checks", backend): every change
	// of a check's result is logged, not only state changes.
	LogHealthChecks bool `json:",omitempty"`
	// ContStats ("option contstats"): byte counters are updated while a
	// transfer runs instead of when it ends.
	ContStats bool `json:",omitempty"`
	// HTTPIgnoreProbes: "option http-ignore-probes".
	HTTPIgnoreProbes bool
	// BufferRequest ("option http-buffer-request"): wait for the request
	// body (all of it, or a full buffer) before this proxy's rules.
	BufferRequest bool   `json:",omitempty"`
	LogFormat     string // log-format, empty: per option
	LogFormatSD   string // log-format-sd
	JSONLog       bool   // option jsonlog (Gatehouse)
	Logs          []*Log // "log global" is expanded into the global targets
	LogTag        string `json:",omitempty"` // "log-tag": this proxy's syslog tag; "": the global one
	Captures      []*Capture
	// CaptureCookie: "capture cookie NAME len N"; nil when none.
	CaptureCookie *CookieCapture `json:",omitempty"`

	Retries int // default 3
	RetryOn []string
	// Backlog ("backlog"): the listen queue of the frontend's binds
	// without their own; 0: the frontend's maxconn, else the system's.
	Backlog int `json:",omitempty"`
	// SmartAccept: "option tcp-smart-accept" (true), "no option
	// tcp-smart-accept" (false); nil: on for HTTP frontends and TLS binds.
	SmartAccept *bool `json:",omitempty"`
	// PreferLast ("option prefer-last-server"): a request goes to the
	// server the session holds an idle private connection to.
	PreferLast bool `json:",omitempty"`
	// MaxKAQueue is "max-keep-alive-queue" plus one, as HAProxy stores
	// it: 0 (-1 written, the default) no limit; otherwise prefer-last-server
	// keeps a full server only while fewer than MaxKAQueue-1 wait for it.
	MaxKAQueue int `json:",omitempty"`
	// HTTPReuse is "http-reuse never|safe|aggressive|always".
	HTTPReuse  HTTPReuse `json:",omitempty"`
	Redispatch bool
	// RedispatchAfter is "option redispatch <interval>": > 0 redispatch on
	// every Pth retry, < 0 on the Nth retry before the last (-1, the
	// default, the last one), 0 only when nothing ties the request.
	RedispatchAfter int `json:",omitempty"`
	// AbortOnClose ("option abortonclose"): a request whose client closed
	// its side while queued for a server is dropped.
	AbortOnClose bool `json:",omitempty"`

	// Cookie persistence (persist.go): "cookie", "dynamic-cookie-key",
	// "option persist", "force-persist"/"ignore-persist", "use-server".
	Cookie       *Cookie        `json:",omitempty"`
	DynCookieKey string         `json:",omitempty"`
	Persist      bool           `json:",omitempty"`
	PersistRules []*PersistRule `json:",omitempty"`
	UseServers   []*UseServer   `json:",omitempty"`

	// PersistRDP is "persist rdp-cookie[(<name>)]": the RDP cookie's name
	// ("msts" by default); "" without.
	PersistRDP string `json:",omitempty"`

	// option splice-request / splice-response (splice-auto sets both):
	// a mode tcp tunnel moves that direction with splice(2) instead of
	// copying through a buffer.
	SpliceRequest  bool
	SpliceResponse bool

	Balance   Balance
	Servers   []*Server
	HTTPCheck *HTTPCheck // option httpchk / http-check rules; nil when none
	TCPCheck  *TCPCheck  // option tcp-check rules; nil when none
	// ProtoCheck is one of HAProxy's protocol checks (option redis-check,
	// ssl-hello-chk, smtpchk, pgsql-check, mysql-check, ldap-check); nil
	// when none. The latest of the check options wins, as in HAProxy.
	ProtoCheck *ProtoCheck `json:",omitempty"`
	// ErrorFiles are the proxy's error pages by status, from ErrorOps
	// replayed once every http-errors section is known.
	ErrorFiles  map[int]*ErrorFile
	ErrorOps    []ErrorOp `json:"-"`
	Stats       *Stats
	UniqueIDFmt string
	UniqueIDHdr string
	// SendNameHeader ("http-send-name-header", lower case): the request
	// each attempt sends carries the server's name in it; "" for none.
	SendNameHeader string `json:",omitempty"`
	// RequestIDTrust lists the client networks whose X-Request-Id and
	// traceparent are kept ("request-id-trust"); others get new ones.
	RequestIDTrust []netip.Prefix
	// Sock: nolinger, tcp-smart-connect, http-no-delay, allbackups,
	// checkcache, source, h1-case-adjust-bogus-* (sockopts.go).
	Sock SockProxy `json:",omitzero"`
}

// Bind is one "bind" line.
type Bind struct {
	Pos      Pos
	Addr     string // as written, e.g. "*:80"
	Host     string // "" for any
	Port     int
	SSL      bool
	Crts     []string // files or directories
	CrtLists []CrtList
	CAFile   string
	// CAVerifyFile ("ca-verify-file"): CAs that verify client
	// certificates without being named in the certificate request;
	// NoCANames ("no-ca-names"): name none of ca-file's either.
	CAVerifyFile string `json:",omitempty"`
	NoCANames    bool   `json:",omitempty"`
	Verify       string // client cert verification: "", "none", "optional", "required"
	TLS          TLSOptions
	StrictSNI    bool // refuse handshakes whose SNI names no certificate
	ALPN         []string
	AcceptProxy  bool
	Proto        string // "h2" for cleartext HTTP/2
	Name         string
	// V6Only is the IPV6_V6ONLY of an IPv6 socket: "v6only" (true)
	// wins over "v4v6" (false); nil leaves the system's default
	// (net.ipv6.bindv6only), as HAProxy does. IPv4 sockets ignore it.
	V6Only *bool `json:",omitempty"`
	V4V6   bool  `json:",omitempty"`
	// Socket options of the listening socket (kw_bindsock.go): "backlog"
	// (0: the frontend's), "defer-accept", "mss" (< 0: less than the
	// system's default), "interface".
	Backlog     int    `json:",omitempty"`
	DeferAccept bool   `json:",omitempty"`
	MSS         int    `json:",omitempty"`
	Interface   string `json:",omitempty"`
	// QUIC: a quic4@ or quic6@ address, HTTP/3 over QUIC on UDP.
	QUIC bool `json:",omitempty"`
	// Allow0RTT ("allow-0rtt", QUIC binds only): accept early data, for
	// safe methods only (others get 425 Too Early).
	Allow0RTT bool `json:",omitempty"`
	// QUICForceRetry ("quic-force-retry"): every new QUIC connection
	// proves its address with a Retry first.
	QUICForceRetry bool `json:",omitempty"`
	// ID ("id"): the listener's numeric id in stats; 0: automatic.
	ID int `json:",omitempty"`
	// MaxConn ("maxconn"): concurrent connections of this socket, past
	// which it stops accepting until one closes; 0: the frontend's.
	MaxConn int `json:",omitempty"`
	// TFO ("tfo"): TCP Fast Open on the listening socket.
	TFO bool `json:",omitempty"`
}

// Server is one "server" line with default-server already applied.
type Server struct {
	Pos      Pos
	Name     string
	Host     string // host name or IP as written
	Port     int    // 0: same as the client's destination port
	Weight   int    // default 1
	Backup   bool
	Disabled bool
	// NonStick ("non-stick"): stick store rules never record this server.
	NonStick bool `json:",omitempty"`
	MaxConn  int
	// MinConn ("minconn"): with fullconn, the server's limit grows from
	// minconn to maxconn with the backend's load.
	MinConn int `json:",omitempty"`
	// MaxQueue ("maxqueue"): requests that may wait for this server in
	// particular (hash balancing); past it they are answered 503.
	MaxQueue int `json:",omitempty"`

	SSL    bool
	Verify string // "none" or "required"
	CAFile string
	// VerifyHost ("verifyhost"): with verification, the name the
	// certificate must carry when no SNI is sent (HAProxy's rules).
	VerifyHost string `json:",omitempty"`
	Crt        string // client certificate+key PEM, for a gateway in MUTUAL mode
	SNI        string // sample expression, e.g. "str(host)" or "req.hdr(host)"; "" = from the outgoing Host
	ALPN       []string
	TLS        TLSOptions

	Check          bool
	CheckSSL       bool
	CheckSNI       string
	CheckALPN      []string
	CheckPort      int
	CheckAddr      string
	Inter          time.Duration
	FastInter      time.Duration
	DownInter      time.Duration
	Rise, Fall     int
	SlowStart      time.Duration
	Observe        string // "", "layer4", "layer7"
	ErrorLimit     int
	OnError        string
	SendProxy      int // 0 none, 1 v1, 2 v2
	ProxyV2Opts    []string
	CheckSendProxy bool
	// Socks4 ("socks4 <addr>:<port>"): connections to the server go
	// through this SOCKS4 proxy; CheckViaSocks4 sends the health checks
	// through it too.
	Socks4         string `json:",omitempty"`
	CheckViaSocks4 bool   `json:",omitempty"`
	MaxReuse       int
	PoolMaxConn    int
	// PoolPurgeDelay ("pool-purge-delay"): how often the idle pool is
	// purged (an idle connection has no age limit of its own); 0 keeps
	// none; nil: 5s, HAProxy's default.
	PoolPurgeDelay *time.Duration `json:",omitempty"`
	// PoolLowConn ("pool-low-conn"): idle connections kept beyond the
	// estimate of what is needed.
	PoolLowConn int `json:",omitempty"`
	Proto       string
	// Cookie ("cookie <value>"): the persistence cookie value naming this
	// server; CookieSet tells it was written (a dynamic cookie never
	// replaces it).
	Cookie    string `json:",omitempty"`
	CookieSet bool   `json:",omitempty"`

	DNS ServerDNS `json:",omitzero"` // resolvers, resolve-*, init-addr, server-template

	// Agent ("agent-check"): an agent at AgentAddr (default: the server's
	// address) and AgentPort answers a line of words that set the
	// server's weight, admin and operational states and maxconn.
	Agent      bool          `json:",omitempty"`
	AgentPort  int           `json:",omitempty"`
	AgentInter time.Duration `json:",omitempty"` // 0: the server's "inter"
	AgentSend  string        `json:",omitempty"` // sent once connected
	AgentAddr  string        `json:",omitempty"`

	// Track ("track [<backend>/]<server>"): the server follows that one's
	// state instead of checking itself.
	Track string `json:",omitempty"`
	// OnMarkedDown "shutdown-sessions": the server's streams are cut when
	// it is marked down; OnMarkedUp "shutdown-backup-sessions": the
	// backup servers' streams are cut when it is marked up.
	OnMarkedDown string `json:",omitempty"`
	OnMarkedUp   string `json:",omitempty"`

	// ID ("id"): the server's numeric id (stats sid, hashing); 0:
	// automatic. TFO ("tfo"): TCP Fast Open toward the server. Source
	// ("source"): overrides the backend's.
	ID     int     `json:",omitempty"`
	TFO    bool    `json:",omitempty"`
	Source *Source `json:",omitempty"`
}

// Balance is the "balance" algorithm with its argument (hdr(NAME) -> Algo "hdr", Arg "NAME").
type Balance struct {
	Pos  Pos
	Algo string // roundrobin (default), static-rr, leastconn, first, source, uri, hdr
	Arg  string
	// Hash is "hash-type" and "hash-balance-factor": how the hash
	// algorithms (source, uri, hdr) turn a key into a server.
	Hash HashType `json:",omitzero"`
}

// HashType is "hash-type map-based|consistent [<function> [avalanche]]"
// with "hash-balance-factor".
type HashType struct {
	Pos        Pos
	Consistent bool   // consistent hashing on a ring; false: HAProxy's map-based default
	Func       string // sdbm (default), djb2, wt6, crc32
	Avalanche  bool   // full_hash() applied to the function's result
	// BalanceFactor ("hash-balance-factor"): with consistent hashing, no
	// server takes more than BalanceFactor% of the average load; 0: off.
	BalanceFactor int
}

// Cond is an "if"/"unless" condition as tokens; acl compiles it.
type Cond struct {
	Pos    Pos
	Unless bool
	Terms  []string // e.g. ["!", "is_api", "||", "{", "path_beg", "/x", "}"]
}

// ACL is one "acl NAME CRITERION [FLAGS] [VALUES]" line.
type ACL struct {
	Pos  Pos
	Name string
	Args []string // criterion, flags and values as tokens
}

// UseBackend is "use_backend NAME [if|unless COND]".
type UseBackend struct {
	Pos  Pos
	Name string // may contain a log-format expression (%[...]) for dynamic names
	Cond *Cond
}

// HTTPAction is one "http-request" or "http-response" rule.
type HTTPAction struct {
	Pos    Pos
	Action string // "set-header", "deny", "redirect", "use-service", ...
	// Arguments, by action:
	Name        string   // header name; use-service name; identity section name
	Value       string   // log-format value; redirect target; set-path/set-query format
	Regex       string   // replace-header/replace-value regex
	Status      int      // deny_status, return status, redirect code
	ContentType string   // return
	Body        string   // return "string"; errorfile content for "file"
	BodyIsFmt   bool     // return lf-string
	RedirectTyp string   // "location", "prefix", "scheme"
	RedirectOpt []string // "drop-query", "append-slash", "ignore-empty"
	// RedirectCookie is the Set-Cookie value a redirect adds (set-cookie,
	// clear-cookie), e.g. "SEEN=1; path=/;".
	RedirectCookie string `json:",omitempty"`
	// Realm is "auth realm <realm>"; "" means the proxy's name.
	Realm string `json:",omitempty"`
	Cond  *Cond

	// Sample and CaptureID: "capture <sample> len|id": the expression and
	// the slot it fills.
	Sample    string `json:",omitempty"`
	CaptureID int    `json:",omitempty"`

	Stick *StickAction `json:",omitempty"` // track-scN, sc-inc-gpc0/1, sc-set-gpt0
	Var   *VarAction   `json:",omitempty"` // set-var, set-var-fmt, unset-var
	// MapFile and MapKey: set-map|del-map|add-acl|del-acl(<file>) <key fmt>
	// (set-map's value format is Value).
	MapFile     string      `json:",omitempty"`
	MapKey      string      `json:",omitempty"`
	Headers     [][2]string // return/deny "hdr NAME FMT" pairs
	RawResponse bool        // Body is a complete HTTP response (return/deny "errorfile FILE")
	Reason      string      `json:",omitempty"` // set-status "reason"
	// Timeout: set-timeout's fixed value (its expression, when not one,
	// is Sample; which timeout is Name). On: strict-mode on.
	Timeout time.Duration `json:",omitempty"`
	On      bool          `json:",omitempty"`
	// AtLeast: wait-for-body's "at-least" (Timeout is its "time").
	AtLeast int64 `json:",omitempty"`
	// DefaultErrorfiles: the answer is the proxy's error page for Status
	// (return default-errorfiles; deny without another option).
	DefaultErrorfiles bool `json:",omitempty"`
	// ErrorfilesSection: "errorfiles <name>", the page of that http-errors
	// section for Status (resolved into Body once sections are known).
	ErrorfilesSection string `json:",omitempty"`
	// XFCCFields: set-forwarded-client-cert's optional fields (cert, chain,
	// subject, uri, dns), as written.
	XFCCFields []string `json:",omitempty"`
}

// TCPAction is one "tcp-request connection|content" rule.
type TCPAction struct {
	Pos    Pos
	Layer  string       // "connection", "session" or "content"
	Action string       // "accept", "reject", "set-var", "set-var-fmt", "unset-var", "track-scN", "sc-inc-gpc0|1", "sc-set-gpt0"
	Var    *VarAction   `json:",omitempty"`
	Stick  *StickAction `json:",omitempty"` // track-sc0..2, sc-inc-gpc0/1, sc-set-gpt0
	Cond   *Cond

	// Value is set-log-level's level (tcp-response content).
	Value string `json:",omitempty"`
}

// OriginalTo is "option originalto [except NET] [header H]".
type OriginalTo struct {
	Pos    Pos
	Except netip.Prefix // invalid when absent
	Header string       // default "X-Original-To"
}

// ForwardFor is "option forwardfor [except NET] [header H] [if-none]".
type ForwardFor struct {
	Pos    Pos
	Except netip.Prefix // invalid when absent
	Header string       // default "X-Forwarded-For"
	IfNone bool
}

// ErrorFile is one error page: Content a complete HTTP response
// (errorfile, errorloc), or Reply a reply built per request (http-error
// with string, lf-string, file, lf-file or hdr).
type ErrorFile struct {
	Pos     Pos
	Path    string
	Content []byte
	Reply   *HTTPAction `json:",omitempty"`
}

// ErrorOp is one error-page directive of a proxy, in order: "errorfile",
// "errorloc*" and "http-error" set the page of Code (File), or reset it
// (Reset: http-error default-errorfiles); "errorfiles" imports Section's
// pages, all of them or Codes.
type ErrorOp struct {
	Pos     Pos
	Code    int
	File    *ErrorFile `json:",omitempty"`
	Reset   bool       `json:",omitempty"`
	Section string     `json:",omitempty"`
	Codes   []int      `json:",omitempty"`
}

// HTTPErrors is an "http-errors" section: error pages by status.
type HTTPErrors struct {
	Pos   Pos
	Name  string
	Files map[int]*ErrorFile
}

// Stats are the "stats" keywords of a frontend or listen.
type Stats struct {
	Pos         Pos
	Enable      bool
	URI         string // default "/haproxy?stats"
	Refresh     time.Duration
	Realm       string
	Auth        []UserPass
	HideVersion bool
	Admin       *Cond
	ShowLegends bool
	ShowModules bool        `json:",omitempty"` // "stats show-modules": the stats modules' column on the page
	ShowNode    bool        `json:",omitempty"` // "stats show-node [name]": the node name in the page's titles
	Node        string      `json:",omitempty"` // its name; "": global "node" (the host name by default)
	ShowDesc    bool        `json:",omitempty"` // "stats show-desc [text]": the description after the node name
	Desc        string      `json:",omitempty"` // its text; "": global "description"
	Scope       []string    `json:",omitempty"` // "stats scope": only these proxies ("." is the stats proxy itself); none: all
	Rules       []StatsRule `json:",omitempty"` // "stats http-request", evaluated in order before the page
}

// StatsRule is one "stats http-request allow|deny|auth [realm R] [if|unless COND]".
type StatsRule struct {
	Pos    Pos
	Action string // "allow", "deny", "auth"
	Realm  string // auth: the realm; "": HAProxy's "HAProxy Statistics"
	Cond   *Cond  // nil: always
}

// UserPass is one "stats auth user:pass".
type UserPass struct{ User, Pass string }

// Log is a "log" target line.
type Log struct {
	Pos    Pos
	Target string // "stdout", "stderr", "udp@host:port", "host:port", "/dev/log"
	Format string // "raw", "rfc3164" (default), "rfc5424", "short"
	// FormatSet: "format" was given; a log-forward section's target
	// without it keeps each received message's format.
	FormatSet bool `json:"-"`
	Facility  string
	Level     string // max level, "" = all
	MinLevel  string
	Len       int
}

// Capture is a capture slot of a frontend: "capture request|response
// header NAME len N", or, with an empty Name, "declare capture" or an
// "http-request capture ... len N" rule. A slot's index is its position
// among the slots of its direction.
type Capture struct {
	Pos      Pos
	Response bool
	Name     string
	Len      int
}

// CookieCapture is "capture cookie NAME len N": the first request cookie
// and the first response Set-Cookie whose "name=value" starts with NAME
// are logged by %CC and %CS, cut to N characters.
type CookieCapture struct {
	Pos  Pos
	Name string
	Len  int
}

// HTTPCheck is the active HTTP check of a backend.
type HTTPCheck struct {
	Pos          Pos
	Method       string
	URI          string
	Version      string
	Headers      [][2]string
	Body         string
	Expect       []*CheckExpect
	Connect      *CheckConnect
	DisableOn404 bool
}

// CheckExpect is "http-check expect [!] status|rstatus|string|rstring PATTERN" or a tcp-check expect.
type CheckExpect struct {
	Pos     Pos
	Negate  bool
	Kind    string
	Pattern string
}

// CheckConnect is "http-check connect" / "tcp-check connect" options.
type CheckConnect struct {
	Port      int
	SSL       bool
	SNI       string
	ALPN      []string
	SendProxy bool // "send-proxy": the server's PROXY header first
}

// ProtoCheck is a protocol check option.
type ProtoCheck struct {
	Pos  Pos
	Kind string // "redis", "ssl-hello", "smtp", "pgsql", "mysql", "ldap"
	// User: mysql-check and pgsql-check's "user"; "" for mysql-check
	// without one (the handshake alone is checked).
	User  string
	Pre41 bool   // mysql-check ... pre-41
	SMTP  string // smtpchk's command: "HELO localhost" unless "EHLO|HELO <domain>"
}

// TCPCheck is "option tcp-check" with its steps.
type TCPCheck struct {
	Pos   Pos
	Steps []*TCPCheckStep
}

// TCPCheckStep is one tcp-check rule.
type TCPCheckStep struct {
	Pos     Pos
	Kind    string // "connect", "send", "expect"
	Connect *CheckConnect
	Data    string
	Expect  *CheckExpect
}

// CompressionAlgos are the names "compression algo" takes (HAProxy 2.6's).
var CompressionAlgos = []string{"identity", "deflate", "raw-deflate", "gzip"}

// Compression is a proxy's "compression" lines.
type Compression struct {
	Pos Pos
	// Algos in HAProxy's preference order: each word of "compression algo"
	// goes before the ones already listed, those of the defaults section
	// last (HAProxy shares the defaults' list and prepends to it).
	Algos []string `json:",omitempty"`
	// Types: Content-Type prefixes to compress; none: any type.
	Types []string `json:",omitempty"`
	// Offload ("compression offload"): Accept-Encoding is removed from a
	// request whose response will be compressed; never inherited from a
	// defaults section (HAProxy warns there and ignores it).
	Offload bool `json:",omitempty"`
}

// VarsMaxSize is tune.vars.<scope>-max-size: bytes variables may hold per
// scope, counted as HAProxy counts them; 0: no limit.
type VarsMaxSize struct {
	Global, Proc, Sess, Txn, ReqRes, Check int64 `json:",omitempty"`
}

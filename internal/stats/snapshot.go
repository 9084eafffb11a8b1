// Package stats renders Gatehouse's statistics the way HAProxy does: the
// stats page (HTML), CSV ("show stat"), typed output ("show stat typed") and
// JSON ("show stat json"), all driven by one column table (see Columns).
//
// The package is engine-neutral: the app builds a Snapshot of plain values
// (copying the live counters the data plane bumps) and the renderers only
// read it. Data-plane packages never import stats.
package stats

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
)

// Snapshot is everything one stats dump shows, taken at Now.
type Snapshot struct {
	Now     time.Time
	Info    Info
	Proxies []*Proxy
	// OIDC and Tokens are the identity sections (oidc, identity-token),
	// in configuration order.
	OIDC   []OIDCStats
	Tokens []TokenStats
	// Certs are the certificates the listeners serve, one per file.
	Certs []CertStats
	// ACME are the certificates the acme sections keep (acme.go).
	ACME []ACMEStats
	// Legends enables the columns HAProxy only fills with "stats show-legends"
	// (addr, cookie, algo). The Service sets it from the configuration on a
	// copy; the app normally leaves it false.
	Legends bool
}

// CertStats is a served certificate's file and end of validity.
type CertStats struct {
	File     string
	NotAfter time.Time
}

// Info is the process-wide part of the page ("General process information")
// and of "show info".
type Info struct {
	Product     string // "Gatehouse" when empty
	Version     string
	ReleaseDate string // "2024/06/01"; optional
	Node        string
	Description string
	Pid         int
	ProcessNum  int // relative process number, HAProxy's "pid" column; 1 when 0
	Nbthread    int
	Start       time.Time // process start; uptime = Now - Start

	MaxConn int // global maxconn; 0: unlimited
	// MaxPipes is "maxpipes" in force (-1: no limit); PipesUsed and
	// PipesFree the splicing pipes held by tunnels and kept for reuse.
	MaxPipes             int
	PipesUsed, PipesFree int
	MaxSock              int    // 0: unknown
	UlimitN              int    // 0: unknown
	MemMax               uint64 // bytes; 0: unlimited
	CurrConns            int
	CumConns             uint64
	CumReq               uint64
	ConnRate             uint64 // per second
	// The process's rates over the last second, their limits (0: none)
	// and the highest per-second counts seen: maxconnrate, maxsessrate,
	// maxsslrate (SSL binds' sessions) and maxcomprate (bytes).
	ConnRateLimit, MaxConnRate           uint64
	SessRate, SessRateLimit, MaxSessRate uint64
	SSLRate, SSLRateLimit, MaxSSLRate    uint64
	CompBpsIn, CompBpsOut, CompBpsLim    uint64
	BitRate                              uint64 // output bits per second; 0 if unknown
	RunQueue                             int
	Tasks                                int
	IdlePct                              int // 0..100; -1 if unknown

	ErrorEvents uint64 // invalid messages captured so far ("show errors")
}

// Proxy is one frontend, backend or listen section. Rows appear in HAProxy's
// order: FRONTEND, listeners, servers, BACKEND.
type Proxy struct {
	Name      string
	ID        int    // iid
	Mode      string // "http" or "tcp"
	Desc      string // "description", shown beside the name on the page
	Frontend  *Row   // nil without the frontend capability
	Listeners []*Row // only with "option socket-stats"
	Servers   []*Row
	Backend   *Row // nil without the backend capability

	// The last invalid request (frontend) and response (backend) refused,
	// for "show errors"; nil when none.
	InvalidReq, InvalidResp *counters.ErrorSnapshot
}

// Rows returns the proxy's rows in dump order.
func (p *Proxy) Rows() []*Row {
	rows := make([]*Row, 0, 2+len(p.Listeners)+len(p.Servers))
	if p.Frontend != nil {
		rows = append(rows, p.Frontend)
	}
	rows = append(rows, p.Listeners...)
	rows = append(rows, p.Servers...)
	if p.Backend != nil {
		rows = append(rows, p.Backend)
	}
	return rows
}

// NewRow returns a row of kind k for p, with the proxy's identity filled in.
// name is the server or listener name (ignored for frontends and backends).
func (p *Proxy) NewRow(k Kind, name string) *Row {
	return &Row{Kind: k, PxName: p.Name, IID: p.ID, Mode: p.Mode, Name: name}
}

// Kind is a row's object type; its value is HAProxy's "type" column.
type Kind uint8

const (
	KindFrontend Kind = 0
	KindBackend  Kind = 1
	KindServer   Kind = 2
	KindListener Kind = 3
)

// Obj is the bit of this kind in an Applies mask.
func (k Kind) Obj() Obj {
	switch k {
	case KindFrontend:
		return FE
	case KindBackend:
		return BE
	case KindServer:
		return SRV
	}
	return LI
}

// String is the JSON objType: "Frontend", "Backend", "Server", "Listener".
func (k Kind) String() string {
	switch k {
	case KindFrontend:
		return "Frontend"
	case KindBackend:
		return "Backend"
	case KindServer:
		return "Server"
	case KindListener:
		return "Listener"
	}
	return "Unknown"
}

// typedLetter is the object letter of "show stat typed".
func (k Kind) typedLetter() byte {
	switch k {
	case KindFrontend:
		return 'F'
	case KindBackend:
		return 'B'
	case KindServer:
		return 'S'
	}
	return 'L'
}

// ServerState is a server's operational state as the stats show it.
type ServerState uint8

const (
	SrvUp             ServerState = iota // "UP"
	SrvUpGoingDown                       // "UP 1/3": checks failing, not yet down
	SrvDown                              // "DOWN"
	SrvDownGoingUp                       // "DOWN 1/2": checks passing, not yet up
	SrvNoLB                              // "NOLB": up, load balancing disabled (404 with disable-on-404)
	SrvNoLBGoingDown                     // "NOLB 1/3"
	SrvDrain                             // "DRAIN": weight 0 by admin
	SrvDrainGoingDown                    // "DRAIN 1/3"
	SrvMaint                             // "MAINT", or "MAINT (via be/srv)" with MaintVia
	SrvNoCheck                           // "no check": up, never checked
	SrvDownAgent                         // "DOWN (agent)": the agent check said down
	SrvDrainAgent                        // "DRAIN (agent)": draining, with an agent check
)

// Row is one line of the stats: a frontend, a backend, a server or a listener.
// All values are plain copies taken when the snapshot was built; zero values
// mean zero, and fields documented "0: unset" render empty as HAProxy does.
type Row struct {
	Kind   Kind
	PxName string // pxname
	Name   string // svname for servers and listeners
	IID    int    // proxy id
	SID    int    // server or listener id; 0 for frontends and backends
	Mode   string // "http" or "tcp"

	C Counters

	// Status is printed as is when set: frontends and listeners "OPEN",
	// "STOP", "FULL"; backends "UP" or "DOWN". Servers leave it empty and get
	// HAProxy's text from State and the check health (see StatusText).
	Status string
	State  ServerState // servers
	Backup bool        // servers

	Weight  int // effective weight (server), total effective weight (backend)
	UWeight int // user weight (server), total user weight (backend)
	Act     int // backend: usable active servers
	Bck     int // backend: usable backup servers
	Servers int // backend: configured servers (downtime shows only with servers)

	SLim    int // session limit; servers: 0 = none (empty)
	RateLim int // frontend: session rate limit (0 = none, printed as 0)
	QCur    int
	QMax    int
	QLimit  int // server maxqueue; 0: none (empty)

	// Health checks (servers). Checked is false for "no check" servers and
	// then every check column is empty.
	Checked      bool
	CheckRunning bool   // a check is in progress: check_status gets "* "
	CheckStatus  string // "L7OK", "L4CON", "INI", ...
	CheckCode    int    // layer 5-7 code (HTTP status); 0: none
	// CheckCoded: the check's status carries a code (L7OK, L7OKC, L7STS),
	// shown even when it is 0 (a Redis or LDAP check), as HAProxy does.
	CheckCoded    bool
	CheckDuration time.Duration
	CheckDesc     string // "Layer7 check passed"; derived from CheckStatus when empty
	LastChk       string // last check output ("OK", "Connection refused", ...)
	// Agent check ("agent-check"); Agent false leaves the agent_* columns
	// empty, as HAProxy without one.
	Agent         bool
	AgentRunning  bool
	AgentStatus   string // "L7OK", "L7STS", "CHECKED", "L4CON", "INI", ...
	AgentCode     int    // shown for layer 7 results (0 for an agent)
	AgentCoded    bool   // the status has a code (L7OK, L7STS)
	AgentDuration time.Duration
	AgentDesc     string // HAProxy's description of AgentStatus
	LastAgt       string // the agent's last message ("via agent : down", ...)
	AgentHealth   int
	CheckRise     int
	CheckFall     int
	CheckHealth   int // 0 .. rise+fall-1
	ChkFail       uint64
	ChkDown       uint64
	Observe       bool // "observe" set: hanafail is shown
	HanaFail      uint64

	LastChange time.Time     // last UP<->DOWN transition; zero: process start
	Downtime   time.Duration // total time spent DOWN
	Throttle   int           // slowstart percent; 0: not in slowstart (empty)
	LbTot      uint64
	Tracked    string // "backend/server" this one tracks
	// MaintVia is Tracked while the server's maintenance is inherited from
	// it (status "MAINT (via backend/server)"); "" otherwise.
	MaintVia string
	// Resolution: MAINT because DNS gives the server no address.
	Resolution bool

	// Average and maximum times over the last requests, in milliseconds.
	QTime, CTime, RTime, TTime             uint32
	QTimeMax, CTimeMax, RTimeMax, TTimeMax uint32

	// Server connection pool.
	IdleCur     int // srv_icur
	IdleLimit   int // src_ilim; 0: unlimited (empty)
	UnsafeIdle  int // idle_conn_cur
	SafeIdle    int // safe_conn_cur
	UsedConns   int // used_conn_cur
	NeedConnEst int // need_conn_est

	// Latency histograms, Gatehouse's addition to HAProxy's fields (only
	// the Prometheus exporter shows them); nil when not measured.
	RespTimeHist  *counters.HistogramSnapshot // waiting for the response head (HAProxy's Tr)
	TotalTimeHist *counters.HistogramSnapshot // whole request (HAProxy's Tt)

	// H2 are the h2 stats module's counters (h2_* fields) of a frontend
	// with HTTP/2 configured; nil for every other row (a frontend without
	// HTTP/2 shows zeros, see h2Columns).
	H2 *H2Stats

	// ReqHistory is the requests (sessions) per second of the last
	// counters.HistorySeconds complete seconds, oldest first: the stats
	// page's sparkline, another Gatehouse addition; nil when not measured.
	ReqHistory []uint64

	Addr   string // servers and listeners: "ip:port"; shown with legends
	Cookie string // server cookie value or backend cookie name; legends
	Algo   string // backend balance algorithm; legends
}

// Counters are plain copies of the traffic counters of one row.
type Counters struct {
	CurSess, MaxSess      int64
	TotSess               uint64
	LastSess              time.Time // zero: never
	BytesIn, BytesOut     uint64
	DenyReq, DenyResp     uint64
	DenyConn, DenySess    uint64
	ErrReq, ErrConn       uint64
	ErrResp               uint64
	Retries, Redisp       uint64
	ReqTot, ConnTot       uint64
	Intercept             uint64
	CliAbort, SrvAbort    uint64
	CompIn, CompOut       uint64    // comp_in, comp_out
	CompByp, CompRsp      uint64    // comp_byp, comp_rsp
	CacheLookups          uint64    // cache_lookups
	CacheHits             uint64    // cache_hits
	HRsp                  [6]uint64 // 1xx..5xx, other
	Rate, RateMax         uint64    // sessions per second
	ReqRate, ReqRateMax   uint64    // requests per second (frontend)
	ConnRate, ConnRateMax uint64    // connections per second (frontend), when ConnRateKnown
	ConnRateKnown         bool
	Connect, Reuse        uint64
	WRew, EInt            uint64
}

// CountersFrom copies the live counters c as seen at now. A nil c gives zeros.
func CountersFrom(c *counters.Proxy, now time.Time) Counters {
	if c == nil {
		return Counters{}
	}
	out := Counters{
		CurSess:      c.CurSess.Load(),
		MaxSess:      c.MaxSess.Load(),
		TotSess:      c.TotSess.Load(),
		BytesIn:      c.BytesIn.Load(),
		BytesOut:     c.BytesOut.Load(),
		DenyReq:      c.DenyReq.Load(),
		DenyResp:     c.DenyResp.Load(),
		DenyConn:     c.DenyConn.Load(),
		DenySess:     c.DenySess.Load(),
		ErrReq:       c.ErrReq.Load(),
		ErrConn:      c.ErrConn.Load(),
		ErrResp:      c.ErrResp.Load(),
		Retries:      c.Retries.Load(),
		WRew:         c.WRew.Load(),
		Redisp:       c.Redisp.Load(),
		ReqTot:       c.ReqTot.Load(),
		ConnTot:      c.ConnTot.Load(),
		Intercept:    c.Intercept.Load(),
		CliAbort:     c.CliAbort.Load(),
		SrvAbort:     c.SrvAbort.Load(),
		CompIn:       c.CompIn.Load(),
		CompOut:      c.CompOut.Load(),
		CompByp:      c.CompByp.Load(),
		CompRsp:      c.CompRsp.Load(),
		CacheLookups: c.CacheLookups.Load(),
		CacheHits:    c.CacheHits.Load(),
		Rate:         c.Rate.Value(now),
		RateMax:      c.Rate.Max(),
		ReqRate:      c.ReqRate.Value(now),
		ReqRateMax:   c.ReqRate.Max(),
	}
	if ls := c.LastSess.Load(); ls > 0 {
		out.LastSess = time.Unix(ls, 0)
	}
	for i := range out.HRsp {
		out.HRsp[i] = c.HRsp[i].Load()
	}
	return out
}

// StatusText is the status column: Status when set, otherwise (servers)
// HAProxy's text for State: "UP", "UP 1/3", "DOWN", "DOWN 1/2", "NOLB",
// "DRAIN", "MAINT", "MAINT (via px/srv)", "no check".
func (r *Row) StatusText() string {
	if r.Status != "" || r.Kind != KindServer {
		return r.Status
	}
	// Going down: failed checks so far out of fall; going up: passed out of rise.
	down := func(word string) string {
		return word + " " + itoa(r.CheckHealth-r.CheckRise+1) + "/" + itoa(r.CheckFall)
	}
	switch r.State {
	case SrvUp:
		return "UP"
	case SrvUpGoingDown:
		return down("UP")
	case SrvDown:
		return "DOWN"
	case SrvDownGoingUp:
		return "DOWN " + itoa(r.CheckHealth) + "/" + itoa(r.CheckRise)
	case SrvNoLB:
		return "NOLB"
	case SrvNoLBGoingDown:
		return down("NOLB")
	case SrvDrain:
		return "DRAIN"
	case SrvDrainGoingDown:
		return down("DRAIN")
	case SrvMaint:
		if r.Resolution {
			return "MAINT (resolution)"
		}
		if r.MaintVia != "" {
			return "MAINT (via " + r.MaintVia + ")"
		}
		return "MAINT"
	case SrvNoCheck:
		return "no check"
	case SrvDownAgent:
		return "DOWN (agent)"
	case SrvDrainAgent:
		return "DRAIN (agent)"
	}
	return "UNKNOWN"
}

// IsDown reports whether a server counts as stopped (";up" hides those).
func (r *Row) IsDown() bool {
	return r.Kind == KindServer && (r.State == SrvDown || r.State == SrvDownGoingUp || r.State == SrvDownAgent || r.State == SrvMaint)
}

// checkDesc returns the description of a check status, as HAProxy prints
// in check_desc.
func checkDesc(status string) string {
	switch status {
	case "UNK":
		return "Unknown"
	case "INI":
		return "Initializing"
	case "SOCKERR":
		return "Socket error"
	case "L4OK":
		return "Layer4 check passed"
	case "L4TOUT":
		return "Layer4 timeout"
	case "L4CON":
		return "Layer4 connection problem"
	case "L6OK":
		return "Layer6 check passed"
	case "L6TOUT":
		return "Layer6 timeout"
	case "L6RSP":
		return "Layer6 invalid response"
	case "L7OK":
		return "Layer7 check passed"
	case "L7OKC":
		return "Layer7 check conditionally passed"
	case "L7TOUT":
		return "Layer7 timeout"
	case "L7RSP":
		return "Layer7 invalid response"
	case "L7STS":
		return "Layer7 wrong status"
	case "PROCERR":
		return "External check error"
	case "PROCTOUT":
		return "External check timeout"
	case "PROCOK":
		return "External check passed"
	}
	return ""
}

// CheckDescText is check_desc: CheckDesc, or HAProxy's description of CheckStatus.
func (r *Row) CheckDescText() string {
	if r.CheckDesc != "" {
		return r.CheckDesc
	}
	return checkDesc(r.CheckStatus)
}

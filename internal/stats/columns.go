package stats

import "time"

// Obj is a bitmask of the object types a column applies to, written as in
// HAProxy's management guide: [LFBS].
type Obj uint8

const (
	LI  Obj = 1 << iota // listeners (sockets)
	FE                  // frontends
	BE                  // backends
	SRV                 // servers
)

// Origin, Nature and Scope are the typed-output tags of a field
// (management guide, "Typed output format").
type (
	Origin uint8
	Nature uint8
	Scope  uint8
)

const (
	OMetric Origin = iota
	OStatus
	OKey
	OConfig
	OProduct
)

const (
	NGauge Nature = iota
	NLimit
	NMin
	NMax
	NRate
	NCounter
	NDuration
	NAge
	NTime
	NName
	NOutput
	NAvg
)

const (
	SProcess Scope = iota
	SService
	SSystem
	SCluster
)

// String is the JSON name of the origin: "Metric", "Status", "Key", ...
func (o Origin) String() string {
	return [...]string{"Metric", "Status", "Key", "Config", "Product"}[o]
}

func (o Origin) letter() byte { return "MSKCP"[o] }

// String is the JSON name of the nature: "Gauge", "Counter", ...
func (n Nature) String() string {
	return [...]string{"Gauge", "Limit", "Min", "Max", "Rate", "Counter", "Duration", "Age", "Time", "Name", "Output", "Avg"}[n]
}

func (n Nature) letter() byte { return "GLmMRCDATNOa"[n] }

// String is the JSON name of the scope: "Process", "Service", ...
func (s Scope) String() string { return [...]string{"Process", "Service", "System", "Cluster"}[s] }

func (s Scope) letter() byte { return "PSsC"[s] }

// Unit is the unit of a numeric column, for exporters that normalise units.
type Unit uint8

const (
	UnitNone    Unit = iota
	UnitMillis       // milliseconds (Prometheus exports seconds)
	UnitSeconds      // seconds
	UnitBytes
)

// PromType is a Prometheus metric type.
type PromType uint8

const (
	PromNone PromType = iota // not exported
	PromGauge
	PromCounter
)

// Prom describes how HAProxy's Prometheus exporter names a column:
// haproxy_<frontend|backend|server>_<Name>.
type Prom struct {
	Name string
	Type PromType
	Help string
	// Objs are the object types the exporter emits it for (may be narrower than Applies).
	Objs Obj
	// Label, when set, names the label that splits the metric: "code" for
	// http_responses_total (one column per code class), "state" for statuses.
	Label      string
	LabelValue string // this column's label value, e.g. "2xx"
}

// Column is one stats field. The slice returned by Columns is in HAProxy's
// CSV order; a column's index is its "pos".
type Column struct {
	Name    string // CSV name, e.g. "scur"
	Desc    string
	Applies Obj // object types that may have a value, as documented by HAProxy
	Origin  Origin
	Nature  Nature
	Scope   Scope
	Unit    Unit
	// Get returns the value for a row. It is only called for rows whose kind is
	// in Applies, and returns Empty where HAProxy emits nothing for that row.
	Get  func(r *Row, s *Snapshot) Value
	Prom Prom
	// Module names the stats module a field belongs to ("h2"), empty for
	// HAProxy's fixed proxy fields. Module fields follow the fixed ones: the
	// CSV puts a "-" column before them, typed and JSON outputs number them
	// on from the last fixed field, and Prometheus exports them only as
	// "extra counters" (see PromOptions.ExtraCounters).
	Module string
}

// ValueOf returns c's value for r (Empty when c does not apply to r's kind).
func (c *Column) ValueOf(r *Row, s *Snapshot) Value {
	if c.Applies&r.Kind.Obj() == 0 {
		return Empty()
	}
	return c.Get(r, s)
}

const (
	lfbs = LI | FE | BE | SRV
	fbs  = FE | BE | SRV
	bs   = BE | SRV
	lf   = LI | FE
	lfb  = LI | FE | BE
)

// getters shared by several columns
func onlyIf(cond bool, v Value) Value {
	if cond {
		return v
	}
	return Empty()
}

func isHTTP(r *Row) bool { return r.Mode == "http" }

func seconds(d time.Duration) Value { return U32(int64(d / time.Second)) }

func millis(d time.Duration) Value { return U64(int64(d / time.Millisecond)) }

func hrsp(i int) func(*Row, *Snapshot) Value {
	return func(r *Row, _ *Snapshot) Value { return onlyIf(isHTTP(r), U64(r.C.HRsp[i])) }
}

func processNum(s *Snapshot) Value {
	if s.Info.ProcessNum > 0 {
		return U32(s.Info.ProcessNum)
	}
	return U32(1)
}

func lastChange(r *Row, s *Snapshot) Value {
	t := r.LastChange
	if t.IsZero() {
		t = s.Info.Start
	}
	if t.IsZero() || s.Now.Before(t) {
		return U32(0)
	}
	return seconds(s.Now.Sub(t))
}

func lastSess(r *Row, s *Snapshot) Value {
	if r.C.LastSess.IsZero() {
		return S32(-1)
	}
	d := s.Now.Sub(r.C.LastSess)
	if d < 0 {
		d = 0
	}
	return S32(int64(d / time.Second))
}

func checkedL7Code(r *Row) bool {
	return r.Checked && (r.CheckCoded || r.CheckCode > 0)
}

// checkDone reports whether a check result (and so its duration) is known.
func checkDone(r *Row) bool {
	return r.Checked && r.CheckStatus != "" && r.CheckStatus != "INI" && r.CheckStatus != "UNK"
}

func empty(*Row, *Snapshot) Value { return Empty() }

// Columns returns the proxy stats fields of HAProxy 2.6, in order, followed
// by the fields of the stats modules Gatehouse has counters for (see
// moduleColumns). The same table drives CSV, typed output, JSON, the HTML
// page and Prometheus names. Fields Gatehouse has no data for (agent
// checks, compression, cache) are emitted exactly as HAProxy does when the
// feature is unused.
func Columns() []Column {
	return append(fixedColumns(), moduleColumns()...)
}

// fixedColumns are HAProxy 2.6's static proxy fields (ST_F_*), up to
// agg_check_status.
func fixedColumns() []Column {
	return []Column{
		{Name: "pxname", Desc: "Proxy name", Applies: lfbs, Origin: OKey, Nature: NName, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return Str(r.PxName) }},
		{Name: "svname", Desc: "Service name (FRONTEND for frontend, BACKEND for backend, any name for server/listener)", Applies: lfbs, Origin: OKey, Nature: NName, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value {
				switch r.Kind {
				case KindFrontend:
					return Str("FRONTEND")
				case KindBackend:
					return Str("BACKEND")
				}
				return Str(r.Name)
			}},
		{Name: "qcur", Desc: "Number of current queued connections", Applies: bs, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.QCur) },
			Prom: Prom{Name: "current_queue", Type: PromGauge, Help: "Number of current queued connections.", Objs: bs}},
		{Name: "qmax", Desc: "Highest value of queued connections encountered since process started", Applies: bs, Nature: NMax,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.QMax) },
			Prom: Prom{Name: "max_queue", Type: PromGauge, Help: "Maximum observed number of queued connections.", Objs: bs}},
		{Name: "scur", Desc: "Number of current sessions on the frontend, backend or server", Applies: lfbs, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.C.CurSess) },
			Prom: Prom{Name: "current_sessions", Type: PromGauge, Help: "Number of current sessions.", Objs: fbs}},
		{Name: "smax", Desc: "Highest value of current sessions encountered since process started", Applies: lfbs, Nature: NMax,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.C.MaxSess) },
			Prom: Prom{Name: "max_sessions", Type: PromGauge, Help: "Maximum observed number of active sessions.", Objs: fbs}},
		{Name: "slim", Desc: "Frontend/listener/server's maxconn, backend's fullconn", Applies: lfbs, Origin: OConfig, Nature: NLimit,
			Get: func(r *Row, _ *Snapshot) Value {
				return onlyIf(r.Kind != KindServer || r.SLim > 0, U32(r.SLim))
			},
			Prom: Prom{Name: "limit_sessions", Type: PromGauge, Help: "Configured session limit.", Objs: fbs}},
		{Name: "stot", Desc: "Total number of sessions since process started", Applies: lfbs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.TotSess) },
			Prom: Prom{Name: "sessions_total", Type: PromCounter, Help: "Total number of sessions.", Objs: fbs}},
		{Name: "bin", Desc: "Total number of request bytes since process started", Applies: lfbs, Nature: NCounter, Unit: UnitBytes,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.BytesIn) },
			Prom: Prom{Name: "bytes_in_total", Type: PromCounter, Help: "Current total of incoming bytes.", Objs: fbs}},
		{Name: "bout", Desc: "Total number of response bytes since process started", Applies: lfbs, Nature: NCounter, Unit: UnitBytes,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.BytesOut) },
			Prom: Prom{Name: "bytes_out_total", Type: PromCounter, Help: "Current total of outgoing bytes.", Objs: fbs}},
		{Name: "dreq", Desc: "Total number of denied requests since process started", Applies: lfb, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.DenyReq) },
			Prom: Prom{Name: "requests_denied_total", Type: PromCounter, Help: "Total number of denied requests.", Objs: FE | BE}},
		{Name: "dresp", Desc: "Total number of denied responses since process started", Applies: lfbs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.DenyResp) },
			Prom: Prom{Name: "responses_denied_total", Type: PromCounter, Help: "Total number of denied responses.", Objs: fbs}},
		{Name: "ereq", Desc: "Total number of invalid requests since process started", Applies: lf, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.ErrReq) },
			Prom: Prom{Name: "request_errors_total", Type: PromCounter, Help: "Total number of request errors.", Objs: FE}},
		{Name: "econ", Desc: "Total number of failed connections to server since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.ErrConn) },
			Prom: Prom{Name: "connection_errors_total", Type: PromCounter, Help: "Total number of connection errors.", Objs: bs}},
		{Name: "eresp", Desc: "Total number of invalid responses since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.ErrResp) },
			Prom: Prom{Name: "response_errors_total", Type: PromCounter, Help: "Total number of response errors.", Objs: bs}},
		{Name: "wretr", Desc: "Total number of server connection retries since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.Retries) },
			Prom: Prom{Name: "retry_warnings_total", Type: PromCounter, Help: "Total number of retry warnings.", Objs: bs}},
		{Name: "wredis", Desc: "Total number of server redispatches due to connection failures since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.Redisp) },
			Prom: Prom{Name: "redispatch_warnings_total", Type: PromCounter, Help: "Total number of redispatch warnings.", Objs: bs}},
		{Name: "status", Desc: "Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status", Applies: lfbs, Origin: OStatus,
			Get:  func(r *Row, _ *Snapshot) Value { return Str(r.StatusText()) },
			Prom: Prom{Name: "status", Type: PromGauge, Help: "Current status of the service.", Objs: fbs, Label: "state"}},
		{Name: "weight", Desc: "Server's effective weight, or sum of active servers' effective weights for a backend", Applies: bs, Nature: NAvg,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.Weight) },
			Prom: Prom{Name: "weight", Type: PromGauge, Help: "Service weight.", Objs: bs}},
		{Name: "act", Desc: "Total number of active UP servers with a non-zero weight", Applies: bs, Nature: NGauge,
			Get: func(r *Row, _ *Snapshot) Value {
				if r.Kind == KindServer {
					return U32(b2i(!r.Backup))
				}
				return U32(r.Act)
			},
			Prom: Prom{Name: "active_servers", Type: PromGauge, Help: "Current number of active servers.", Objs: BE}},
		{Name: "bck", Desc: "Total number of backup UP servers with a non-zero weight", Applies: bs, Nature: NGauge,
			Get: func(r *Row, _ *Snapshot) Value {
				if r.Kind == KindServer {
					return U32(b2i(r.Backup))
				}
				return U32(r.Bck)
			},
			Prom: Prom{Name: "backup_servers", Type: PromGauge, Help: "Current number of backup servers.", Objs: BE}},
		{Name: "chkfail", Desc: "Total number of failed individual health checks per server/backend, since the worker process started", Applies: SRV, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.Checked, U64(r.ChkFail)) },
			Prom: Prom{Name: "check_failures_total", Type: PromCounter, Help: "Total number of failed check (Only counts checks failed when the server is up).", Objs: SRV}},
		{Name: "chkdown", Desc: "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.Kind == KindBackend || r.Checked, U64(r.ChkDown)) },
			Prom: Prom{Name: "check_up_down_total", Type: PromCounter, Help: "Total number of UP->DOWN transitions.", Objs: bs}},
		{Name: "lastchg", Desc: "How long ago the last server state changed, in seconds", Applies: bs, Nature: NAge, Unit: UnitSeconds,
			Get:  lastChange,
			Prom: Prom{Name: "check_last_change_seconds", Type: PromGauge, Help: "Number of seconds since the last UP<->DOWN transition.", Objs: bs}},
		{Name: "downtime", Desc: "Total time spent in DOWN state, for server or backend", Applies: bs, Nature: NDuration, Unit: UnitSeconds,
			Get: func(r *Row, _ *Snapshot) Value {
				return onlyIf(r.Checked || (r.Kind == KindBackend && r.Servers > 0), seconds(r.Downtime))
			},
			Prom: Prom{Name: "downtime_seconds_total", Type: PromCounter, Help: "Total downtime (in seconds) for the service.", Objs: bs}},
		{Name: "qlimit", Desc: "Limit on the number of connections in queue, for servers only (maxqueue argument)", Applies: SRV, Origin: OConfig, Nature: NLimit, Scope: SService,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.QLimit > 0, U32(r.QLimit)) },
			Prom: Prom{Name: "queue_limit", Type: PromGauge, Help: "Configured maxqueue for the server (0 meaning no limit).", Objs: SRV}},
		{Name: "pid", Desc: "Relative worker process number (1)", Applies: lfbs, Origin: OKey,
			Get: func(_ *Row, s *Snapshot) Value { return processNum(s) }},
		{Name: "iid", Desc: "Frontend or Backend numeric identifier ('id' setting)", Applies: lfbs, Origin: OKey, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return U32(r.IID) }},
		{Name: "sid", Desc: "Server/listener numeric identifier ('id' setting)", Applies: lfbs, Origin: OKey, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return U32(r.SID) }},
		{Name: "throttle", Desc: "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)", Applies: SRV, Nature: NAvg,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.Throttle > 0, U32(r.Throttle)) },
			Prom: Prom{Name: "current_throttle", Type: PromGauge, Help: "Current throttle percentage for the server, when slowstart is active, or no value if not in slowstart.", Objs: SRV}},
		{Name: "lbtot", Desc: "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.LbTot) },
			Prom: Prom{Name: "loadbalanced_total", Type: PromCounter, Help: "Total number of times a service was selected, either for new sessions, or when redispatching.", Objs: bs}},
		{Name: "tracked", Desc: "Name of the other server this server tracks for its state", Applies: SRV, Origin: OConfig, Nature: NName, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Tracked != "", Str(r.Tracked)) }},
		{Name: "type", Desc: "Type of the object (Listener, Frontend, Backend, Server)", Applies: lfbs, Origin: OConfig, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return U32(int(r.Kind)) }},
		{Name: "rate", Desc: "Total number of sessions processed by this object over the last second (sessions for listeners/frontends, requests for backends/servers)", Applies: fbs, Nature: NRate,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.C.Rate) },
			Prom: Prom{Name: "current_session_rate", Type: PromGauge, Help: "Current number of sessions per second over last elapsed second.", Objs: fbs}},
		{Name: "rate_lim", Desc: "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)", Applies: FE, Origin: OConfig, Nature: NLimit,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.RateLim) },
			Prom: Prom{Name: "limit_session_rate", Type: PromGauge, Help: "Configured limit on new sessions per second.", Objs: FE}},
		{Name: "rate_max", Desc: "Highest value of sessions per second observed since the worker process started", Applies: fbs, Nature: NMax,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.C.RateMax) },
			Prom: Prom{Name: "max_session_rate", Type: PromGauge, Help: "Maximum observed number of sessions per second.", Objs: fbs}},
		{Name: "check_status", Desc: "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress", Applies: SRV, Origin: OStatus,
			Get: func(r *Row, _ *Snapshot) Value {
				if !r.Checked || r.CheckStatus == "" {
					return Empty()
				}
				if r.CheckRunning {
					return Str("* " + r.CheckStatus)
				}
				return Str(r.CheckStatus)
			},
			Prom: Prom{Name: "check_status", Type: PromGauge, Help: "Status of last health check, per state label value.", Objs: SRV, Label: "state"}},
		{Name: "check_code", Desc: "HTTP/SMTP/LDAP status code reported by the latest server health check", Applies: SRV, Origin: OStatus,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(checkedL7Code(r), U32(r.CheckCode)) },
			Prom: Prom{Name: "check_code", Type: PromGauge, Help: "layer5-7 code, if available of the last health check.", Objs: SRV}},
		{Name: "check_duration", Desc: "Total duration of the latest server health check, in milliseconds", Applies: SRV, Nature: NDuration, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(checkDone(r), millis(r.CheckDuration)) },
			Prom: Prom{Name: "check_duration_seconds", Type: PromGauge, Help: "Total duration of the latest server health check, in seconds.", Objs: SRV}},
		{Name: "hrsp_1xx", Desc: "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", Applies: fbs, Nature: NCounter,
			Get: hrsp(0), Prom: Prom{Name: "http_responses_total", Type: PromCounter, Help: "Total number of HTTP responses.", Objs: fbs, Label: "code", LabelValue: "1xx"}},
		{Name: "hrsp_2xx", Desc: "Total number of HTTP responses with status 200-299 returned by this object since the worker process started", Applies: fbs, Nature: NCounter,
			Get: hrsp(1), Prom: Prom{Name: "http_responses_total", Type: PromCounter, Help: "Total number of HTTP responses.", Objs: fbs, Label: "code", LabelValue: "2xx"}},
		{Name: "hrsp_3xx", Desc: "Total number of HTTP responses with status 300-399 returned by this object since the worker process started", Applies: fbs, Nature: NCounter,
			Get: hrsp(2), Prom: Prom{Name: "http_responses_total", Type: PromCounter, Help: "Total number of HTTP responses.", Objs: fbs, Label: "code", LabelValue: "3xx"}},
		{Name: "hrsp_4xx", Desc: "Total number of HTTP responses with status 400-499 returned by this object since the worker process started", Applies: fbs, Nature: NCounter,
			Get: hrsp(3), Prom: Prom{Name: "http_responses_total", Type: PromCounter, Help: "Total number of HTTP responses.", Objs: fbs, Label: "code", LabelValue: "4xx"}},
		{Name: "hrsp_5xx", Desc: "Total number of HTTP responses with status 500-599 returned by this object since the worker process started", Applies: fbs, Nature: NCounter,
			Get: hrsp(4), Prom: Prom{Name: "http_responses_total", Type: PromCounter, Help: "Total number of HTTP responses.", Objs: fbs, Label: "code", LabelValue: "5xx"}},
		{Name: "hrsp_other", Desc: "Total number of HTTP responses with status <100, >599 returned by this object since the worker process started (error -1 included)", Applies: fbs, Nature: NCounter,
			Get: hrsp(5), Prom: Prom{Name: "http_responses_total", Type: PromCounter, Help: "Total number of HTTP responses.", Objs: fbs, Label: "code", LabelValue: "other"}},
		{Name: "hanafail", Desc: "Total number of failed checks caused by an 'on-error' directive after an 'observe' condition matched", Applies: SRV, Nature: NCounter,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Observe, U64(r.HanaFail)) }},
		{Name: "req_rate", Desc: "Number of HTTP requests processed over the last second on this object", Applies: FE, Nature: NRate,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.C.ReqRate) },
			Prom: Prom{Name: "http_requests_rate_current", Type: PromGauge, Help: "Current number of HTTP requests per second over last elapsed second.", Objs: FE}},
		{Name: "req_rate_max", Desc: "Highest value of http requests observed since the worker process started", Applies: FE, Nature: NMax,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.C.ReqRateMax) },
			Prom: Prom{Name: "http_requests_rate_max", Type: PromGauge, Help: "Maximum observed number of HTTP requests per second.", Objs: FE}},
		{Name: "req_tot", Desc: "Total number of HTTP requests processed by this object since the worker process started", Applies: fbs, Nature: NCounter,
			Get: func(r *Row, _ *Snapshot) Value {
				return onlyIf(r.Kind == KindFrontend || isHTTP(r), U64(r.C.ReqTot))
			},
			Prom: Prom{Name: "http_requests_total", Type: PromCounter, Help: "Total number of HTTP requests received.", Objs: fbs}},
		{Name: "cli_abrt", Desc: "Total number of requests or connections aborted by the client since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.CliAbort) },
			Prom: Prom{Name: "client_aborts_total", Type: PromCounter, Help: "Total number of data transfers aborted by the client.", Objs: bs}},
		{Name: "srv_abrt", Desc: "Total number of requests or connections aborted by the server since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.SrvAbort) },
			Prom: Prom{Name: "server_aborts_total", Type: PromCounter, Help: "Total number of data transfers aborted by the server.", Objs: bs}},
		// Compression counters, bumped by the proxy's compression stage as
		// HAProxy's filter bumps them.
		{Name: "comp_in", Desc: "Total number of bytes submitted to the HTTP compressor for this object since the worker process started", Applies: FE | BE, Nature: NCounter, Unit: UnitBytes,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.CompIn) },
			Prom: Prom{Name: "http_comp_bytes_in_total", Type: PromCounter, Help: "Total number of HTTP response bytes fed to the compressor.", Objs: FE | BE}},
		{Name: "comp_out", Desc: "Total number of bytes emitted by the HTTP compressor for this object since the worker process started", Applies: FE | BE, Nature: NCounter, Unit: UnitBytes,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.CompOut) },
			Prom: Prom{Name: "http_comp_bytes_out_total", Type: PromCounter, Help: "Total number of HTTP response bytes emitted by the compressor.", Objs: FE | BE}},
		{Name: "comp_byp", Desc: "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)", Applies: FE | BE, Nature: NCounter, Unit: UnitBytes,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.CompByp) },
			Prom: Prom{Name: "http_comp_bytes_bypassed_total", Type: PromCounter, Help: "Total number of bytes that bypassed the HTTP compressor (CPU/BW limit).", Objs: FE | BE}},
		{Name: "comp_rsp", Desc: "Total number of HTTP responses that were compressed for this object since the worker process started", Applies: FE | BE, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.CompRsp) },
			Prom: Prom{Name: "http_comp_responses_total", Type: PromCounter, Help: "Total number of HTTP responses that were compressed.", Objs: FE | BE}},
		{Name: "lastsess", Desc: "How long ago some traffic was seen on this object on this worker process, in seconds", Applies: bs, Nature: NAge, Unit: UnitSeconds,
			Get:  lastSess,
			Prom: Prom{Name: "last_session_seconds", Type: PromGauge, Help: "Number of seconds since last session assigned to server/backend.", Objs: bs}},
		{Name: "last_chk", Desc: "Short description of the latest health check report for this server", Applies: SRV, Origin: OStatus, Nature: NOutput,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Checked, Str(r.LastChk)) }},
		{Name: "last_agt", Desc: "Short description of the latest agent check report for this server", Applies: SRV, Origin: OStatus, Nature: NOutput,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Agent, Str(r.LastAgt)) }},
		{Name: "qtime", Desc: "Time spent in the queue, in milliseconds, averaged over the 1024 last requests", Applies: bs, Nature: NAvg, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.QTime) },
			Prom: Prom{Name: "queue_time_average_seconds", Type: PromGauge, Help: "Avg. queue time for last 1024 successful connections.", Objs: bs}},
		{Name: "ctime", Desc: "Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last requests", Applies: bs, Nature: NAvg, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.CTime) },
			Prom: Prom{Name: "connect_time_average_seconds", Type: PromGauge, Help: "Avg. connect time for last 1024 successful connections.", Objs: bs}},
		{Name: "rtime", Desc: "Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests", Applies: bs, Nature: NAvg, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.RTime) },
			Prom: Prom{Name: "response_time_average_seconds", Type: PromGauge, Help: "Avg. response time for last 1024 successful connections.", Objs: bs}},
		{Name: "ttime", Desc: "Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged over the 1024 last requests", Applies: bs, Nature: NAvg, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.TTime) },
			Prom: Prom{Name: "total_time_average_seconds", Type: PromGauge, Help: "Avg. total time for last 1024 successful connections.", Objs: bs}},
		// Empty without "agent-check", as HAProxy leaves them.
		{Name: "agent_status", Desc: "Status report of the server's latest agent check, prefixed with '*' if a check is currently in progress", Applies: SRV, Origin: OStatus,
			Get: func(r *Row, _ *Snapshot) Value {
				if !r.Agent {
					return Empty()
				}
				if r.AgentRunning {
					return Str("* " + r.AgentStatus)
				}
				return Str(r.AgentStatus)
			}},
		{Name: "agent_code", Desc: "Status code reported by the latest server agent check", Applies: SRV, Origin: OStatus,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Agent && r.AgentCoded, U32(r.AgentCode)) }},
		{Name: "agent_duration", Desc: "Total duration of the latest server agent check, in milliseconds", Applies: SRV, Nature: NDuration, Unit: UnitMillis,
			Get: func(r *Row, _ *Snapshot) Value {
				return onlyIf(r.Agent && r.AgentStatus != "INI" && r.AgentStatus != "UNK", millis(r.AgentDuration))
			}},
		{Name: "check_desc", Desc: "Textual description of the latest health check report for this server", Applies: SRV, Nature: NOutput,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Checked, Str(r.CheckDescText())) }},
		{Name: "agent_desc", Desc: "Textual description of the latest agent check report for this server", Applies: SRV, Nature: NOutput,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Agent, Str(r.AgentDesc)) }},
		{Name: "check_rise", Desc: "Number of successful health checks before declaring a server UP (server 'rise' setting)", Applies: SRV, Origin: OConfig, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Checked, U32(r.CheckRise)) }},
		{Name: "check_fall", Desc: "Number of failed health checks before declaring a server DOWN (server 'fall' setting)", Applies: SRV, Origin: OConfig, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Checked, U32(r.CheckFall)) }},
		{Name: "check_health", Desc: "Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)", Applies: SRV, Origin: OStatus,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Checked, U32(r.CheckHealth)) }},
		// An agent's rise and fall are 1, as HAProxy's.
		{Name: "agent_rise", Desc: "Number of successful agent checks before declaring a server UP (server 'rise' setting)", Applies: SRV, Origin: OConfig, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Agent, U32(1)) }},
		{Name: "agent_fall", Desc: "Number of failed agent checks before declaring a server DOWN (server 'fall' setting)", Applies: SRV, Origin: OConfig, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Agent, U32(1)) }},
		{Name: "agent_health", Desc: "Current server agent check level (0..fall-1=DOWN, fall..rise-1=UP)", Applies: SRV, Origin: OStatus,
			Get: func(r *Row, _ *Snapshot) Value { return onlyIf(r.Agent, U32(r.AgentHealth)) }},
		{Name: "addr", Desc: "Server's address:port, shown only if show-legends is set, or at levels oper/admin for the CLI", Applies: LI | SRV, Origin: OConfig, Scope: SService,
			Get: func(r *Row, s *Snapshot) Value { return onlyIf(s.Legends && r.Addr != "", Str(r.Addr)) }},
		{Name: "cookie", Desc: "Backend's cookie name or Server's cookie value, shown only if show-legends is set, or at levels oper/admin for the CLI", Applies: bs, Origin: OConfig, Nature: NName, Scope: SService,
			Get: func(r *Row, s *Snapshot) Value { return onlyIf(s.Legends && r.Cookie != "", Str(r.Cookie)) }},
		{Name: "mode", Desc: "'mode' setting (tcp/http/health/cli)", Applies: lfbs, Origin: OConfig, Scope: SService,
			Get: func(r *Row, _ *Snapshot) Value { return Str(r.Mode) }},
		{Name: "algo", Desc: "Backend's load balancing algorithm, shown only if show-legends is set, or at levels oper/admin for the CLI", Applies: BE, Origin: OConfig, Scope: SService,
			Get: func(r *Row, s *Snapshot) Value { return onlyIf(s.Legends && r.Algo != "", Str(r.Algo)) }},
		{Name: "conn_rate", Desc: "Number of new connections accepted over the last second on the frontend for this worker process", Applies: FE, Nature: NRate,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.C.ConnRateKnown, U32(r.C.ConnRate)) },
			Prom: Prom{Name: "connections_rate_current", Type: PromGauge, Help: "Current number of connections per second over the last elapsed second.", Objs: FE}},
		{Name: "conn_rate_max", Desc: "Highest value of connections per second observed since the worker process started", Applies: FE, Nature: NMax,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.C.ConnRateKnown, U32(r.C.ConnRateMax)) },
			Prom: Prom{Name: "connections_rate_max", Type: PromGauge, Help: "Maximum observed number of connections per second.", Objs: FE}},
		{Name: "conn_tot", Desc: "Total number of new connections accepted on this frontend since the worker process started", Applies: FE, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.ConnTot) },
			Prom: Prom{Name: "connections_total", Type: PromCounter, Help: "Total number of connections.", Objs: FE}},
		{Name: "intercepted", Desc: "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started", Applies: FE | BE, Nature: NCounter,
			Get: func(r *Row, _ *Snapshot) Value {
				return onlyIf(r.Kind == KindFrontend && isHTTP(r), U64(r.C.Intercept))
			},
			Prom: Prom{Name: "intercepted_requests_total", Type: PromCounter, Help: "Total number of intercepted HTTP requests.", Objs: FE}},
		{Name: "dcon", Desc: "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started", Applies: lf, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.DenyConn) },
			Prom: Prom{Name: "denied_connections_total", Type: PromCounter, Help: "Total number of requests denied by \"tcp-request connection\" rules.", Objs: FE}},
		{Name: "dses", Desc: "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started", Applies: lf, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.DenySess) },
			Prom: Prom{Name: "denied_sessions_total", Type: PromCounter, Help: "Total number of requests denied by \"tcp-request session\" rules.", Objs: FE}},
		{Name: "wrew", Desc: "Total number of failed HTTP header rewrites since the worker process started", Applies: lfbs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.WRew) },
			Prom: Prom{Name: "failed_header_rewriting_total", Type: PromCounter, Help: "Total number of failed header rewriting warnings.", Objs: fbs}},
		{Name: "connect", Desc: "Total number of outgoing connection attempts on this backend/server since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.Connect) },
			Prom: Prom{Name: "connection_attempts_total", Type: PromCounter, Help: "Total number of connection establishment attempts.", Objs: bs}},
		{Name: "reuse", Desc: "Total number of reused connection on this backend/server since the worker process started", Applies: bs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.Reuse) },
			Prom: Prom{Name: "connection_reuses_total", Type: PromCounter, Help: "Total number of connection reuses.", Objs: bs}},
		{Name: "cache_lookups", Desc: "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started", Applies: FE | BE, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(isHTTP(r), U64(r.C.CacheLookups)) },
			Prom: Prom{Name: "http_cache_lookups_total", Type: PromCounter, Help: "Total number of HTTP cache lookups.", Objs: FE | BE}},
		{Name: "cache_hits", Desc: "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started", Applies: FE | BE, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(isHTTP(r), U64(r.C.CacheHits)) },
			Prom: Prom{Name: "http_cache_hits_total", Type: PromCounter, Help: "Total number of HTTP cache hits.", Objs: FE | BE}},
		{Name: "srv_icur", Desc: "Current number of idle connections available for reuse on this server", Applies: SRV, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.IdleCur) },
			Prom: Prom{Name: "idle_connections_current", Type: PromGauge, Help: "Current number of idle connections available for reuse.", Objs: SRV}},
		{Name: "src_ilim", Desc: "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)", Applies: SRV, Origin: OConfig, Nature: NLimit,
			Get:  func(r *Row, _ *Snapshot) Value { return onlyIf(r.IdleLimit > 0, U32(r.IdleLimit)) },
			Prom: Prom{Name: "idle_connections_limit", Type: PromGauge, Help: "Limit on the number of available idle connections.", Objs: SRV}},
		{Name: "qtime_max", Desc: "Maximum observed time spent in the queue, in milliseconds", Applies: bs, Nature: NMax, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.QTimeMax) },
			Prom: Prom{Name: "max_queue_time_seconds", Type: PromGauge, Help: "Maximum observed time spent in the queue.", Objs: bs}},
		{Name: "ctime_max", Desc: "Maximum observed time spent waiting for a connection to complete, in milliseconds", Applies: bs, Nature: NMax, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.CTimeMax) },
			Prom: Prom{Name: "max_connect_time_seconds", Type: PromGauge, Help: "Maximum observed time spent waiting for a connection to complete.", Objs: bs}},
		{Name: "rtime_max", Desc: "Maximum observed time spent waiting for a server response, in milliseconds", Applies: bs, Nature: NMax, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.RTimeMax) },
			Prom: Prom{Name: "max_response_time_seconds", Type: PromGauge, Help: "Maximum observed time spent waiting for a server response.", Objs: bs}},
		{Name: "ttime_max", Desc: "Maximum observed total request+response time (request+queue+connect+response+processing), in milliseconds", Applies: bs, Nature: NMax, Unit: UnitMillis,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.TTimeMax) },
			Prom: Prom{Name: "max_total_time_seconds", Type: PromGauge, Help: "Maximum observed total request+response time (request+queue+connect+response+processing).", Objs: bs}},
		{Name: "eint", Desc: "Total number of internal errors since process started", Applies: lfbs, Nature: NCounter,
			Get:  func(r *Row, _ *Snapshot) Value { return U64(r.C.EInt) },
			Prom: Prom{Name: "internal_errors_total", Type: PromCounter, Help: "Total number of internal errors.", Objs: fbs}},
		{Name: "idle_conn_cur", Desc: "Current number of unsafe idle connections", Applies: SRV, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.UnsafeIdle) },
			Prom: Prom{Name: "unsafe_idle_connections_current", Type: PromGauge, Help: "Current number of unsafe idle connections.", Objs: SRV}},
		{Name: "safe_conn_cur", Desc: "Current number of safe idle connections", Applies: SRV, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.SafeIdle) },
			Prom: Prom{Name: "safe_idle_connections_current", Type: PromGauge, Help: "Current number of safe idle connections.", Objs: SRV}},
		{Name: "used_conn_cur", Desc: "Current number of connections in use", Applies: SRV, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.UsedConns) },
			Prom: Prom{Name: "used_connections_current", Type: PromGauge, Help: "Current number of connections in use.", Objs: SRV}},
		{Name: "need_conn_est", Desc: "Estimated needed number of connections", Applies: SRV, Nature: NGauge,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.NeedConnEst) },
			Prom: Prom{Name: "need_connections_current", Type: PromGauge, Help: "Estimated needed number of connections.", Objs: SRV}},
		{Name: "uweight", Desc: "Server's user weight, or sum of active servers' user weights for a backend", Applies: bs, Nature: NAvg,
			Get:  func(r *Row, _ *Snapshot) Value { return U32(r.UWeight) },
			Prom: Prom{Name: "uweight", Type: PromGauge, Help: "Server's user weight, or sum of active servers' user weights for a backend.", Objs: bs}},
		// HAProxy 2.6 prints 0 for the aggregated gauges in CSV/JSON; only its
		// Prometheus exporter computes them (one series per state).
		{Name: "agg_server_status", Desc: "Backend's aggregated gauge of servers' status", Applies: BE, Nature: NGauge,
			Get:  func(*Row, *Snapshot) Value { return U32(0) },
			Prom: Prom{Name: "agg_server_status", Type: PromGauge, Help: "Backend's aggregated gauge of servers' status.", Objs: BE, Label: "state"}},
		{Name: "agg_server_check_status", Desc: "[DEPRECATED] Backend's aggregated gauge of servers' status", Applies: BE, Nature: NGauge,
			Get:  func(*Row, *Snapshot) Value { return U32(0) },
			Prom: Prom{Name: "agg_server_check_status", Type: PromGauge, Help: "[DEPRECATED] Backend's aggregated gauge of servers' status.", Objs: BE, Label: "state"}},
		{Name: "agg_check_status", Desc: "Backend's aggregated gauge of servers' state check status", Applies: BE, Nature: NGauge,
			Get:  func(*Row, *Snapshot) Value { return U32(0) },
			Prom: Prom{Name: "agg_check_status", Type: PromGauge, Help: "Backend's aggregated gauge of servers' state check status.", Objs: BE, Label: "state"}},
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

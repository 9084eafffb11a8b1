package stats

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/counters"
)

// PromContentType is the Content-Type of WritePrometheus's output.
const PromContentType = "text/plain; version=0.0.4"

// PromOptions selects what WritePrometheusOptions dumps, as the query
// string of HAProxy's exporter does ("?scope=backend&no-maint").
type PromOptions struct {
	Global  bool // haproxy_process_*, gatehouse_tls_certificate_*
	Objs    Obj  // FE, BE, SRV: haproxy_frontend_*, haproxy_backend_*, haproxy_server_*
	NoMaint bool // skip servers in maintenance
	// ExtraCounters adds the stats modules' fields ("extra-counters" in the
	// query), as HAProxy 3.0's exporter does: haproxy_frontend_h2_* with a
	// "mod" label. Off by default, as there.
	ExtraCounters bool
	// Identity: gatehouse_oidc_* and gatehouse_identity_token_* (scope
	// "identity", Gatehouse's own).
	Identity bool
}

// AllPromScopes dumps everything, the exporter's default.
func AllPromScopes() PromOptions {
	return PromOptions{Global: true, Objs: FE | BE | SRV, Identity: true}
}

// ParsePromQuery reads the exporter's query string: "scope=NAME" (global,
// frontend, backend, server, "*" for all, empty for none; repeatable; the
// first one clears the default of all scopes), "no-maint" and
// "extra-counters".
func ParsePromQuery(rawQuery string) PromOptions {
	o := AllPromScopes()
	first := true
	for _, kv := range strings.FieldsFunc(rawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "no-maint":
			o.NoMaint = true
		case "extra-counters":
			o.ExtraCounters = true
		case "scope":
			if first {
				o.Global, o.Objs, o.Identity, first = false, 0, false, false
			}
			switch v {
			case "*":
				o.Global, o.Objs, o.Identity = true, FE|BE|SRV, true
			case "identity":
				o.Identity = true
			case "global":
				o.Global = true
			case "frontend":
				o.Objs |= FE
			case "backend":
				o.Objs |= BE
			case "server":
				o.Objs |= SRV
			}
		}
	}
	return o
}

// WritePrometheus writes snap in Prometheus' text exposition format with
// the metric names and labels of HAProxy's exporter (addons/promex):
// haproxy_process_* from Info, then haproxy_frontend_*, haproxy_backend_*
// and haproxy_server_* from the column table (Column.Prom), metric by
// metric, with "proxy", "server", "code" and "state" labels. Times in
// milliseconds are exported in seconds. Stats-module fields (h2_*) are
// only written with PromOptions.ExtraCounters, after the fixed ones, as
// haproxy_frontend_<field>{proxy="...",mod="h2"}: the names and label of
// HAProxy 3.0's exporter ("?extra-counters"; 2.6's has no module metrics).
// Gatehouse adds latency histograms (gatehouse_backend_* and
// gatehouse_server_*) where rows carry them.
func WritePrometheus(w io.Writer, snap *Snapshot) error {
	return WritePrometheusOptions(w, snap, AllPromScopes())
}

// WritePrometheusOptions is WritePrometheus restricted to o's scopes.
func WritePrometheusOptions(w io.Writer, snap *Snapshot, o PromOptions) error {
	p := &promWriter{bw: bufio.NewWriter(w), snap: snap, opts: o}
	if o.Global {
		p.process()
	}
	cols := Columns()
	for _, k := range []Kind{KindFrontend, KindBackend, KindServer} {
		if o.Objs&k.Obj() == 0 {
			continue
		}
		p.seen = map[string]bool{}
		for i := range cols {
			c := &cols[i]
			if c.Module != "" && !o.ExtraCounters {
				continue
			}
			if c.Prom.Type != PromNone && c.Prom.Objs&k.Obj() != 0 {
				p.column(k, c)
			}
		}
		if k != KindFrontend {
			p.histograms(k)
		}
	}
	if o.Identity {
		promIdentity(p)
	}
	return p.bw.Flush()
}

type promWriter struct {
	bw   *bufio.Writer
	snap *Snapshot
	opts PromOptions
	seen map[string]bool // families whose header was written, per scope
}

type promLabel struct{ name, value string }

var promPrefix = [...]string{KindFrontend: "haproxy_frontend_", KindBackend: "haproxy_backend_", KindServer: "haproxy_server_"}

func promTypeName(t PromType) string {
	if t == PromCounter {
		return "counter"
	}
	return "gauge"
}

// sample writes one line, preceded by the family's HELP and TYPE lines the
// first time the family appears.
func (p *promWriter) sample(name, help, typ string, labels []promLabel, value string) {
	p.header(name, help, typ)
	p.line(name, labels, value)
}

func (p *promWriter) header(family, help, typ string) {
	if p.seen[family] {
		return
	}
	p.seen[family] = true
	p.bw.WriteString("# HELP " + family + " " + promEscapeHelp(help) + "\n# TYPE " + family + " " + typ + "\n")
}

func (p *promWriter) line(name string, labels []promLabel, value string) {
	p.bw.WriteString(name)
	if len(labels) > 0 {
		p.bw.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				p.bw.WriteByte(',')
			}
			p.bw.WriteString(l.name + `="` + promEscapeLabel(l.value) + `"`)
		}
		p.bw.WriteByte('}')
	}
	p.bw.WriteString(" " + value + "\n")
}

func promEscapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func promEscapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

// promFloat formats as HAProxy's "%f".
func promFloat(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }

// promValue renders a field value; fields without a number are "NaN", as
// HAProxy's exporter prints them.
func promValue(v Value, u Unit) string {
	if u == UnitMillis && !v.IsEmpty() && v.Type != TStr {
		return promFloat(v.Float() / 1000)
	}
	switch v.Type {
	case TU32, TU64, TS32, TS64:
		return v.String()
	case TFlt:
		return promFloat(v.F)
	}
	return "NaN"
}

// httpOnly reports the fields HAProxy's exporter skips (no line at all)
// for a proxy that is not in HTTP mode.
func httpOnly(k Kind, name string) bool {
	if strings.HasPrefix(name, "hrsp_") || name == "req_tot" {
		return true
	}
	switch name {
	case "cache_lookups", "cache_hits", "comp_in", "comp_out", "comp_byp", "comp_rsp":
		return k != KindServer
	case "req_rate_max", "intercepted":
		return k == KindFrontend
	}
	return false
}

// rowsOf returns the rows of kind k, in proxy order.
func (p *promWriter) rowsOf(k Kind) []*Row {
	var rows []*Row
	for _, px := range p.snap.Proxies {
		switch k {
		case KindFrontend:
			if px.Frontend != nil {
				rows = append(rows, px.Frontend)
			}
		case KindBackend:
			if px.Backend != nil {
				rows = append(rows, px.Backend)
			}
		case KindServer:
			if px.Backend == nil { // servers only exist in backends
				continue
			}
			for _, r := range px.Servers {
				if !(p.opts.NoMaint && r.State == SrvMaint) {
					rows = append(rows, r)
				}
			}
		}
	}
	return rows
}

func rowLabels(r *Row) []promLabel {
	if r.Kind == KindServer {
		return []promLabel{{"proxy", r.PxName}, {"server", r.Name}}
	}
	return []promLabel{{"proxy", r.PxName}}
}

// column writes the family of column c for every row of kind k.
func (p *promWriter) column(k Kind, c *Column) {
	name := promPrefix[k] + c.Prom.Name
	typ := promTypeName(c.Prom.Type)
	help := c.Prom.Help
	if help == "" {
		help = c.Desc
	}
	for _, r := range p.rowsOf(k) {
		labels := rowLabels(r)
		if c.Prom.Label == "state" {
			for _, sv := range p.stateSeries(c.Name, r) {
				p.sample(name, help, typ, append(labels[:len(labels):len(labels)], promLabel{"state", sv.state}), strconv.FormatUint(sv.value, 10))
			}
			continue
		}
		if !isHTTP(r) && httpOnly(k, c.Name) {
			continue
		}
		var value string
		switch c.Name {
		case "check_code":
			if !checkEnabled(r) {
				continue
			}
			value = strconv.Itoa(r.CheckCode)
		case "check_duration":
			if !checkDone(r) {
				continue
			}
			value = promValue(c.ValueOf(r, p.snap), c.Unit)
		default:
			value = promValue(c.ValueOf(r, p.snap), c.Unit)
		}
		if c.Prom.Label != "" {
			labels = append(labels, promLabel{c.Prom.Label, c.Prom.LabelValue})
		}
		if c.Module != "" {
			labels = append(labels, promLabel{"mod", c.Module})
		}
		p.sample(name, help, typ, labels, value)
	}
}

// checkEnabled: the server has checks and they are not paused by maintenance.
func checkEnabled(r *Row) bool { return r.Checked && r.State != SrvMaint }

type stateValue struct {
	state string
	value uint64
}

// promServerStates are the exporter's server states, in its order.
func promServerStates() []string { return []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"} }

// promCheckStates are the check statuses the exporter lists (those whose
// result is at least "failed"), in HAProxy's order.
func promCheckStates() []string {
	return []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP",
		"L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
}

// promServerState maps a server row to the exporter's state.
func promServerState(r *Row) string {
	switch r.State {
	case SrvMaint:
		return "MAINT"
	case SrvDown, SrvDownGoingUp, SrvDownAgent:
		return "DOWN"
	case SrvNoLB, SrvNoLBGoingDown:
		return "NOLB"
	case SrvDrain, SrvDrainGoingDown, SrvDrainAgent:
		return "DRAIN"
	}
	return "UP"
}

// stateSeries returns the one-hot (status, check_status) or counting
// (agg_*) series of a "state"-labelled column; nil to emit nothing.
func (p *promWriter) stateSeries(col string, r *Row) []stateValue {
	oneHot := func(states []string, cur string) []stateValue {
		out := make([]stateValue, len(states))
		for i, s := range states {
			out[i] = stateValue{s, uint64(b2i(s == cur))}
		}
		return out
	}
	count := func(states []string, of func(*Row) (string, bool)) []stateValue {
		px := p.proxy(r)
		out := make([]stateValue, len(states))
		for i, s := range states {
			out[i].state = s
			for _, sv := range px.Servers {
				if st, ok := of(sv); ok && st == s {
					out[i].value++
				}
			}
		}
		return out
	}
	switch col {
	case "status":
		switch r.Kind {
		case KindServer:
			return oneHot(promServerStates(), promServerState(r))
		case KindBackend:
			return oneHot([]string{"DOWN", "UP"}, map[bool]string{true: "UP", false: "DOWN"}[r.Status == "UP" || r.Servers == 0])
		}
		return oneHot([]string{"DOWN", "UP"}, map[bool]string{true: "UP", false: "DOWN"}[r.Status != "STOP"])
	case "check_status":
		if !checkEnabled(r) {
			return nil
		}
		return oneHot(promCheckStates(), r.CheckStatus)
	case "agg_server_status", "agg_server_check_status":
		if px := p.proxy(r); px == nil || len(px.Servers) == 0 {
			return nil
		}
		return count(promServerStates(), func(s *Row) (string, bool) { return promServerState(s), true })
	case "agg_check_status":
		if px := p.proxy(r); px == nil || len(px.Servers) == 0 {
			return nil
		}
		return count(promCheckStates(), func(s *Row) (string, bool) { return s.CheckStatus, checkEnabled(s) })
	}
	return nil
}

// proxy finds the snapshot proxy a row belongs to.
func (p *promWriter) proxy(r *Row) *Proxy {
	for _, px := range p.snap.Proxies {
		if px.Frontend == r || px.Backend == r {
			return px
		}
		for _, s := range px.Servers {
			if s == r {
				return px
			}
		}
	}
	return nil
}

// histograms writes Gatehouse's latency histograms of backends or servers.
func (p *promWriter) histograms(k Kind) {
	prefix := "gatehouse_backend_"
	if k == KindServer {
		prefix = "gatehouse_server_"
	}
	fams := []struct {
		name, help string
		get        func(*Row) *counters.HistogramSnapshot
	}{
		{"response_time_seconds", "Time waiting for the server's response headers (HAProxy's Tr), per request.",
			func(r *Row) *counters.HistogramSnapshot { return r.RespTimeHist }},
		{"total_time_seconds", "Total request+response time (HAProxy's Tt), per request.",
			func(r *Row) *counters.HistogramSnapshot { return r.TotalTimeHist }},
	}
	for _, f := range fams {
		name := prefix + f.name
		for _, r := range p.rowsOf(k) {
			h := f.get(r)
			if h == nil {
				continue
			}
			labels := rowLabels(r)
			p.header(name, f.help, "histogram")
			for i, b := range h.Bounds {
				le := strconv.FormatFloat(b.Seconds(), 'g', -1, 64)
				p.line(name+"_bucket", append(labels[:len(labels):len(labels)], promLabel{"le", le}), strconv.FormatUint(h.Cumulative[i], 10))
			}
			p.line(name+"_bucket", append(labels[:len(labels):len(labels)], promLabel{"le", "+Inf"}), strconv.FormatUint(h.Count, 10))
			p.line(name+"_sum", labels, strconv.FormatFloat(h.Sum.Seconds(), 'g', -1, 64))
			p.line(name+"_count", labels, strconv.FormatUint(h.Count, 10))
		}
	}
}

// process writes haproxy_process_* from Info, with the descriptions of
// HAProxy's "show info" fields. Unknown values (0 where 0 means unknown)
// are left out.
func (p *promWriter) process() {
	p.seen = map[string]bool{}
	in, now := &p.snap.Info, p.snap.Now
	var uptime float64
	if !in.Start.IsZero() && now.After(in.Start) {
		uptime = float64(int64(now.Sub(in.Start).Seconds()))
	}
	type metric struct {
		name, help string
		counter    bool
		value      float64
		known      bool
	}
	ms := []metric{
		{"nbthread", "Number of started threads (global.nbthread)", false, float64(in.Nbthread), in.Nbthread > 0},
		{"nbproc", "Number of started worker processes (historical, always 1)", false, 1, true},
		{"relative_process_id", "Relative worker process number (1)", false, processNum(p.snap).Float(), true},
		{"uptime_seconds", "How long ago this worker process was started (seconds)", false, uptime, !in.Start.IsZero()},
		{"start_time_seconds", "Start time in seconds", false, float64(in.Start.Unix()), !in.Start.IsZero()},
		{"max_memory_bytes", "Worker process's hard limit on memory usage in byes (-m on command line)", false, float64(in.MemMax), true},
		{"max_fds", "Hard limit on the number of per-process file descriptors", false, float64(in.UlimitN), in.UlimitN > 0},
		{"max_sockets", "Hard limit on the number of per-process sockets", false, float64(in.MaxSock), in.MaxSock > 0},
		{"max_connections", "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)", false, float64(in.MaxConn), true},
		{"current_connections", "Current number of connections on this worker process", false, float64(in.CurrConns), true},
		{"connections_total", "Total number of connections on this worker process since started", true, float64(in.CumConns), true},
		{"requests_total", "Total number of requests on this worker process since started", true, float64(in.CumReq), true},
		{"current_connection_rate", "Number of front connections created on this worker process over the last second", false, float64(in.ConnRate), true},
		{"limit_connection_rate", "Hard limit for ConnRate (global.maxconnrate)", false, float64(in.ConnRateLimit), true},
		{"max_connection_rate", "Highest ConnRate reached on this worker process since started (in connections per second)", false, float64(in.MaxConnRate), true},
		{"current_session_rate", "Number of sessions created on this worker process over the last second", false, float64(in.SessRate), true},
		{"limit_session_rate", "Hard limit for SessRate (global.maxsessrate)", false, float64(in.SessRateLimit), true},
		{"max_session_rate", "Highest SessRate reached on this worker process since started (in sessions per second)", false, float64(in.MaxSessRate), true},
		{"current_ssl_rate", "Number of SSL connections created on this worker process over the last second", false, float64(in.SSLRate), true},
		{"limit_ssl_rate", "Hard limit for SslRate (global.maxsslrate)", false, float64(in.SSLRateLimit), true},
		{"max_ssl_rate", "Highest SslRate reached on this worker process since started (in connections per second)", false, float64(in.MaxSSLRate), true},
		// HAProxy types these two rates as counters; kept for dashboards.
		{"http_comp_bytes_in_total", "Number of bytes submitted to the HTTP compressor in this worker process over the last second", true, float64(in.CompBpsIn), true},
		{"http_comp_bytes_out_total", "Number of bytes emitted by the HTTP compressor in this worker process over the last second", true, float64(in.CompBpsOut), true},
		{"limit_http_comp", "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled", false, float64(in.CompBpsLim), true},
		{"bytes_out_rate", "Number of bytes emitted by current worker process over the last second", false, float64(in.BitRate / 8), in.BitRate > 0},
		{"current_tasks", "Total number of tasks in the current worker process (active + sleeping)", false, float64(in.Tasks), true},
		{"current_run_queue", "Total number of active tasks+tasklets in the current worker process", false, float64(in.RunQueue), true},
		{"idle_time_percent", "Percentage of last second spent waiting in the current worker thread", false, float64(in.IdlePct), in.IdlePct >= 0},
	}
	for _, m := range ms {
		if !m.known {
			continue
		}
		typ := "gauge"
		if m.counter {
			typ = "counter"
		}
		p.sample("haproxy_process_"+m.name, m.help, typ, nil, strconv.FormatFloat(m.value, 'f', -1, 64))
	}
	version := in.Version
	if version == "" {
		version = "unknown"
	}
	p.sample("haproxy_process_build_info", "Build info", "gauge", []promLabel{{"version", version}}, "1")
	for _, c := range p.snap.Certs {
		p.sample("gatehouse_tls_certificate_expiry_timestamp_seconds",
			"When a certificate the listeners serve expires (its notAfter, Unix seconds); file is where it was loaded from",
			"gauge", []promLabel{{"file", c.File}}, strconv.FormatInt(c.NotAfter.Unix(), 10))
	}
	promACME(p)
}

package stats

import (
	"html"
	"html/template"
	"strings"
)

// Stats modules.
//
// After its fixed proxy fields HAProxy appends the fields of its registered
// stats modules, each module's in registration order; the CSV header marks
// the boundary with a "-" column. HAProxy 2.6 as Debian builds it prints
//
//	...,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,
//	h2_headers_rcvd,...,h2_backend_total_streams,h1_open_connections,...,
//	h1_spliced_bytes_out,
//
// Gatehouse appends only the modules it has real counters for, in HAProxy's
// relative order: today the h2 module (mux_h2.c's h2_stats). The ssl module
// (ssl_sess, ssl_reused_sess, ssl_failed_handshake) and the h1 module
// (h1_open_connections ... h1_spliced_bytes_out) are left out rather than
// filled with made-up zeros, so a module field's position ("pos" in typed
// and JSON output) is not HAProxy's: consumers must find module fields by
// name, as HAProxy's own documentation requires for them.

// H2Stats are the counters of HAProxy's h2 stats module for one frontend:
// plain copies of the HTTP/2 engine's live counters.
type H2Stats struct {
	HeadersRcvd   uint64 // h2_headers_rcvd
	DataRcvd      uint64 // h2_data_rcvd
	SettingsRcvd  uint64 // h2_settings_rcvd
	RstStreamRcvd uint64 // h2_rst_stream_rcvd
	GoawayRcvd    uint64 // h2_goaway_rcvd
	ConnProtoErr  uint64 // h2_detected_conn_protocol_errors
	StrmProtoErr  uint64 // h2_detected_strm_protocol_errors
	RstStreamResp uint64 // h2_rst_stream_resp
	GoawayResp    uint64 // h2_goaway_resp
	OpenConns     int64  // h2_open_connections
	OpenStreams   int64  // h2_backend_open_streams
	TotalConns    uint64 // h2_total_connections
	TotalStreams  uint64 // h2_backend_total_streams
}

// moduleColumns are the stats-module fields, after the fixed ones.
func moduleColumns() []Column {
	return h2Columns()
}

// h2Columns are the fields of HAProxy's h2 module, named, described and
// typed as mux_h2.c declares them (every value u64; the two open counts
// are gauges, the rest counters).
//
// HAProxy registers the module for frontends and backends (the backend
// side counts HTTP/2 connections to servers). Gatehouse counts the
// frontend side only: FRONTEND rows carry the numbers (zeros for a
// frontend without HTTP/2, as HAProxy prints for those), BACKEND rows stay
// empty rather than claim zero server-side HTTP/2 traffic, and listener
// and server rows are empty as in HAProxy.
func h2Columns() []Column {
	type def struct {
		name, desc string
		gauge      bool
		get        func(*H2Stats) uint64
	}
	defs := []def{
		{"h2_headers_rcvd", "Total number of received HEADERS frames", false, func(h *H2Stats) uint64 { return h.HeadersRcvd }},
		{"h2_data_rcvd", "Total number of received DATA frames", false, func(h *H2Stats) uint64 { return h.DataRcvd }},
		{"h2_settings_rcvd", "Total number of received SETTINGS frames", false, func(h *H2Stats) uint64 { return h.SettingsRcvd }},
		{"h2_rst_stream_rcvd", "Total number of received RST_STREAM frames", false, func(h *H2Stats) uint64 { return h.RstStreamRcvd }},
		{"h2_goaway_rcvd", "Total number of received GOAWAY frames", false, func(h *H2Stats) uint64 { return h.GoawayRcvd }},
		{"h2_detected_conn_protocol_errors", "Total number of connection protocol errors", false, func(h *H2Stats) uint64 { return h.ConnProtoErr }},
		{"h2_detected_strm_protocol_errors", "Total number of stream protocol errors", false, func(h *H2Stats) uint64 { return h.StrmProtoErr }},
		{"h2_rst_stream_resp", "Total number of RST_STREAM sent on detected error", false, func(h *H2Stats) uint64 { return h.RstStreamResp }},
		{"h2_goaway_resp", "Total number of GOAWAY sent on detected error", false, func(h *H2Stats) uint64 { return h.GoawayResp }},
		{"h2_open_connections", "Count of currently open connections", true, func(h *H2Stats) uint64 { return uint64(max(h.OpenConns, 0)) }},
		{"h2_backend_open_streams", "Count of currently open streams", true, func(h *H2Stats) uint64 { return uint64(max(h.OpenStreams, 0)) }},
		{"h2_total_connections", "Total number of connections", false, func(h *H2Stats) uint64 { return h.TotalConns }},
		{"h2_backend_total_streams", "Total number of streams", false, func(h *H2Stats) uint64 { return h.TotalStreams }},
	}
	cols := make([]Column, len(defs))
	for i, d := range defs {
		nature, ptype := NCounter, PromCounter
		if d.gauge {
			nature, ptype = NGauge, PromGauge
		}
		get := d.get
		cols[i] = Column{
			Name: d.name, Desc: d.desc, Applies: FE | BE, Nature: nature, Module: "h2",
			Get: func(r *Row, _ *Snapshot) Value {
				if r.Kind != KindFrontend {
					return Empty() // no server-side HTTP/2 counters (see above)
				}
				if r.H2 == nil {
					return U64(0) // no HTTP/2 on this frontend
				}
				return U64(get(r.H2))
			},
			// HAProxy's exporter (3.0 and later; 2.6 has no module
			// metrics) names module fields haproxy_frontend_<field>, with
			// a "mod" label, and only with ?extra-counters.
			Prom: Prom{Name: d.name, Type: ptype, Help: d.desc, Objs: FE},
		}
	}
	return cols
}

// moduleHTMLColumns are the "Extra modules" of the page ("stats
// show-modules"): one column per module, whose cell on a row of a kind
// the module covers is the module's name with its fields in a tooltip, as
// HAProxy's stats_dump_fields_html writes it.
func moduleHTMLColumns(snap *Snapshot) []HTMLColumn {
	var out []HTMLColumn
	byMod := map[string][]Column{}
	for _, c := range moduleColumns() {
		if _, seen := byMod[c.Module]; !seen {
			out = append(out, HTMLColumn{Group: "Extra modules", Title: c.Module})
		}
		byMod[c.Module] = append(byMod[c.Module], c)
	}
	for i := range out {
		mod, cols := out[i].Title, byMod[out[i].Title]
		out[i].Cell = func(_ *Proxy, r *Row) template.HTML {
			if cols[0].Applies&r.Kind.Obj() == 0 {
				return ""
			}
			var b strings.Builder
			b.WriteString("<u>" + html.EscapeString(mod) + "<div class=tips><table class=det>")
			for _, c := range cols {
				b.WriteString("<tr><th>" + html.EscapeString(c.Desc) + "</th><td>" + string(num(c.Get(r, snap))) + "</td></tr>")
			}
			b.WriteString("</table></div></u>")
			return template.HTML(b.String())
		}
	}
	return out
}

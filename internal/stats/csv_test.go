package stats

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

// TestCSVHeaderMatchesHAProxy26 compares our header with HAProxy 2.6's
// (testdata/README): the fixed fields and the "-" separator exactly, then
// whole stats modules in HAProxy's order, each with all of its fields.
func TestCSVHeaderMatchesHAProxy26(t *testing.T) {
	raw, err := os.ReadFile("testdata/header-2.6.csv")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, &Snapshot{}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if !strings.HasSuffix(got, ",\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("header %q: want one line, every field followed by a comma", got)
	}
	split := func(line string) (fixed, modules []string) {
		f := strings.Split(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "# "), ","), ",")
		for i, name := range f {
			if name == "-" {
				return f[:i], f[i+1:]
			}
		}
		return f, nil
	}
	haFixed, haMods := split(string(raw))
	ourFixed, ourMods := split(got)
	if strings.Join(ourFixed, ",") != strings.Join(haFixed, ",") {
		t.Errorf("fixed fields:\n got %v\nwant %v", ourFixed, haFixed)
	}
	if len(ourFixed) != len(fixedColumns()) {
		t.Errorf("no \"-\" after the %d fixed fields: %q", len(fixedColumns()), got)
	}
	// Group HAProxy's module fields by module (the name's prefix up to
	// the first '_'), keeping the order.
	prefix := func(name string) string { p, _, _ := strings.Cut(name, "_"); return p }
	var haOrder []string
	haFields := map[string][]string{}
	for _, name := range haMods {
		p := prefix(name)
		if haFields[p] == nil {
			haOrder = append(haOrder, p)
		}
		haFields[p] = append(haFields[p], name)
	}
	var wantMods []string
	for _, p := range haOrder {
		if p == "h2" { // the modules Gatehouse has counters for
			wantMods = append(wantMods, haFields[p]...)
		}
	}
	if strings.Join(ourMods, ",") != strings.Join(wantMods, ",") {
		t.Errorf("module fields:\n got %v\nwant %v", ourMods, wantMods)
	}
	for _, c := range moduleColumns() {
		if prefix(c.Name) != c.Module {
			t.Errorf("column %s: module %q", c.Name, c.Module)
		}
	}
}

func TestColumnsTable(t *testing.T) {
	cols := Columns()
	seen := map[string]bool{}
	for i, c := range cols {
		if c.Name == "" || c.Desc == "" || c.Applies == 0 || c.Get == nil {
			t.Errorf("column %d %q incomplete", i, c.Name)
		}
		if seen[c.Name] {
			t.Errorf("duplicate column %q", c.Name)
		}
		seen[c.Name] = true
		if c.Prom.Type != PromNone && (c.Prom.Name == "" || c.Prom.Help == "" || c.Prom.Objs&^c.Applies != 0) {
			t.Errorf("column %q: bad Prometheus description %+v", c.Name, c.Prom)
		}
	}
}

// parseCSV returns the rows of a CSV dump keyed by "pxname/svname", each a
// map of column name to cell.
func parseCSV(t *testing.T, out string) (header []string, rows map[string]map[string]string) {
	t.Helper()
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header = recs[0]
	rows = map[string]map[string]string{}
	for _, rec := range recs[1:] {
		if len(rec) != len(header) {
			t.Fatalf("row %v: %d cells, header has %d", rec[:2], len(rec), len(header))
		}
		m := map[string]string{}
		for i, h := range header {
			m[h] = rec[i]
		}
		rows[rec[0]+"/"+rec[1]] = m
	}
	return header, rows
}

func TestCSVRows(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, testSnapshot()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasSuffix(line, ",") {
			t.Errorf("line %d has no trailing comma: %q", i, line)
		}
	}
	header, rows := parseCSV(t, out)
	if n := len(header); n != len(Columns())+2 { // the "-" separator, and the trailing comma's empty field
		t.Fatalf("header has %d fields", n)
	}
	if len(rows) != 5 {
		t.Fatalf("got %d rows, want 5: %v", len(rows), rows)
	}
	tests := []struct {
		row  string
		want map[string]string
	}{
		{"web/FRONTEND", map[string]string{
			"qcur": "", "scur": "3", "smax": "9", "slim": "2000", "stot": "120", "bin": "5000", "bout": "90000",
			"dreq": "2", "ereq": "1", "econ": "", "status": "OPEN", "weight": "", "pid": "1", "iid": "2", "sid": "0",
			"type": "0", "rate": "5", "rate_lim": "0", "rate_max": "11", "hrsp_2xx": "100", "hrsp_5xx": "7",
			"req_rate": "6", "req_rate_max": "12", "req_tot": "130", "lastsess": "", "mode": "http",
			"conn_rate": "", "conn_tot": "121", "intercepted": "4", "dcon": "0", "comp_in": "0", "cache_hits": "0",
			"check_status": "", "lastchg": "", "agg_server_status": "", "uweight": "",
			"-": "-", "h2_headers_rcvd": "40", "h2_data_rcvd": "12", "h2_settings_rcvd": "18",
			"h2_detected_conn_protocol_errors": "1", "h2_goaway_resp": "1", "h2_open_connections": "2",
			"h2_backend_open_streams": "3", "h2_total_connections": "9", "h2_backend_total_streams": "41"}},
		{"web/gw1", map[string]string{
			"qcur": "0", "slim": "", "stot": "70", "dreq": "", "ereq": "", "econ": "0", "status": "UP",
			"weight": "1", "act": "1", "bck": "0", "chkfail": "0", "chkdown": "0", "lastchg": "1800", "downtime": "0",
			"qlimit": "", "iid": "2", "sid": "1", "throttle": "", "lbtot": "70", "type": "2", "rate_lim": "",
			"check_status": "L7OK", "check_code": "200", "check_duration": "3", "hrsp_2xx": "60", "hanafail": "",
			"req_rate": "", "req_tot": "70", "comp_in": "", "lastsess": "2", "last_chk": "OK",
			"ctime": "1", "rtime": "12", "ttime": "15", "agent_status": "", "check_desc": "Layer7 check passed",
			"check_rise": "2", "check_fall": "3", "check_health": "4", "addr": "", "mode": "http",
			"connect": "70", "cache_lookups": "", "srv_icur": "0", "src_ilim": "", "uweight": "1", "agg_check_status": ""}},
		{"web/gw2", map[string]string{
			"status": "DOWN", "chkfail": "3", "chkdown": "1", "lastchg": "600", "downtime": "600", "econ": "5",
			"check_status": "L4CON", "check_code": "", "check_duration": "1", "last_chk": "Connection refused",
			"check_desc": "Layer4 connection problem", "check_health": "0", "lastsess": "-1"}},
		{"web/BACKEND", map[string]string{
			"qcur": "0", "slim": "200", "dreq": "0", "ereq": "", "econ": "5", "status": "UP", "weight": "1",
			"act": "1", "bck": "0", "chkfail": "", "chkdown": "0", "lastchg": "3600", "downtime": "0",
			"sid": "0", "lbtot": "70", "type": "1", "rate_lim": "", "check_status": "", "req_tot": "70",
			"comp_rsp": "0", "lastsess": "2", "algo": "", "intercepted": "", "cache_lookups": "0", "srv_icur": "",
			"uweight": "2", "agg_server_status": "0", "agg_server_check_status": "0", "agg_check_status": "0",
			"-": "-", "h2_headers_rcvd": "", "h2_open_connections": ""}},
		{"tls<in>/FRONTEND", map[string]string{
			"mode": "tcp", "hrsp_2xx": "", "req_tot": "0", "intercepted": "", "cache_lookups": "", "slim": "1000", "iid": "3",
			// No HTTP/2 on this frontend: zeros, as HAProxy prints them.
			"-": "-", "h2_headers_rcvd": "0", "h2_open_connections": "0", "h2_backend_total_streams": "0"}},
	}
	for _, tt := range tests {
		got, ok := rows[tt.row]
		if !ok {
			t.Errorf("no row %s", tt.row)
			continue
		}
		for col, want := range tt.want {
			if _, known := got[col]; !known {
				t.Errorf("%s: no column %q", tt.row, col)
			} else if got[col] != want {
				t.Errorf("%s %s = %q, want %q", tt.row, col, got[col], want)
			}
		}
	}
}

func TestCSVLegendsAndQuoting(t *testing.T) {
	s := testSnapshot()
	s.Legends = true
	s.Proxies[0].Servers[0].LastChk = `bad "x", y`
	var b bytes.Buffer
	if err := WriteCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	_, rows := parseCSV(t, b.String())
	if got := rows["web/gw1"]["addr"]; got != "10.0.0.1:443" {
		t.Errorf("addr = %q", got)
	}
	if got := rows["web/BACKEND"]["algo"]; got != "roundrobin" {
		t.Errorf("algo = %q", got)
	}
	if got := rows["web/gw1"]["last_chk"]; got != `bad "x", y` {
		t.Errorf("last_chk = %q", got)
	}
}

func TestServerStatusText(t *testing.T) {
	tests := []struct {
		st                 ServerState
		health, rise, fall int
		tracked            string
		want               string
	}{
		{SrvUp, 4, 2, 3, "", "UP"},
		{SrvUpGoingDown, 3, 2, 3, "", "UP 2/3"},
		{SrvUpGoingDown, 2, 2, 3, "", "UP 1/3"},
		{SrvDown, 0, 2, 3, "", "DOWN"},
		{SrvDownGoingUp, 1, 2, 3, "", "DOWN 1/2"},
		{SrvNoLB, 4, 2, 3, "", "NOLB"},
		{SrvNoLBGoingDown, 3, 2, 3, "", "NOLB 2/3"},
		{SrvDrain, 4, 2, 3, "", "DRAIN"},
		{SrvDrainGoingDown, 2, 2, 3, "", "DRAIN 1/3"},
		{SrvMaint, 0, 2, 3, "", "MAINT"},
		{SrvMaint, 0, 2, 3, "be/s1", "MAINT (via be/s1)"},
		{SrvNoCheck, 0, 0, 0, "", "no check"},
		{SrvDownAgent, 0, 2, 3, "", "DOWN (agent)"},
		{SrvDrainAgent, 4, 2, 3, "", "DRAIN (agent)"},
	}
	for _, tt := range tests {
		r := &Row{Kind: KindServer, State: tt.st, CheckHealth: tt.health, CheckRise: tt.rise, CheckFall: tt.fall, MaintVia: tt.tracked}
		if got := r.StatusText(); got != tt.want {
			t.Errorf("state %d health %d: %q, want %q", tt.st, tt.health, got, tt.want)
		}
	}
}

func TestFilterHideDown(t *testing.T) {
	s := testSnapshot()
	var b bytes.Buffer
	if err := writeCSV(&b, s, Columns(), Filter{HideDown: true}); err != nil {
		t.Fatal(err)
	}
	_, rows := parseCSV(t, b.String())
	if _, ok := rows["web/gw2"]; ok {
		t.Error(";up kept the DOWN server")
	}
	if _, ok := rows["web/gw1"]; !ok {
		t.Error(";up dropped the UP server")
	}
	if len(s.Proxies[0].Servers) != 2 {
		t.Error("filter modified the snapshot")
	}
}

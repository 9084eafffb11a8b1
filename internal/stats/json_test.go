package stats

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type jsonField struct {
	ObjType string `json:"objType"`
	ProxyID int    `json:"proxyId"`
	ID      int    `json:"id"`
	Field   struct {
		Pos  int    `json:"pos"`
		Name string `json:"name"`
	} `json:"field"`
	ProcessNum int `json:"processNum"`
	Tags       struct {
		Origin, Nature, Scope string
	} `json:"tags"`
	Value struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"value"`
}

func TestJSON(t *testing.T) {
	s := testSnapshot()
	s.Proxies[0].Servers[0].LastChk = "a\x00\"<b>"
	var b bytes.Buffer
	if err := WriteJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	var objs [][]jsonField
	if err := json.Unmarshal(b.Bytes(), &objs); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	if len(objs) != 5 {
		t.Fatalf("%d objects, want 5", len(objs))
	}
	cols := Columns()
	find := func(obj []jsonField, name string) *jsonField {
		for i := range obj {
			if obj[i].Field.Name == name {
				return &obj[i]
			}
		}
		return nil
	}
	tests := []struct {
		obj                          int
		field                        string
		objType                      string
		proxyID, id                  int
		origin, nature, scope, vtype string
		value                        string // raw JSON; "" means absent
	}{
		{0, "pxname", "Frontend", 2, 0, "Key", "Name", "Service", "str", `"web"`},
		{0, "scur", "Frontend", 2, 0, "Metric", "Gauge", "Process", "u32", `3`},
		{0, "stot", "Frontend", 2, 0, "Metric", "Counter", "Process", "u64", `120`},
		{0, "qcur", "", 0, 0, "", "", "", "", ""},
		{1, "status", "Server", 2, 1, "Status", "Gauge", "Process", "str", `"UP"`},
		{1, "last_chk", "Server", 2, 1, "Status", "Output", "Process", "str", `"a\u0000\"\u003cb\u003e"`},
		{1, "lastsess", "Server", 2, 1, "Metric", "Age", "Process", "s32", `2`},
		{2, "lastsess", "Server", 2, 2, "Metric", "Age", "Process", "s32", `-1`},
		{2, "status", "Server", 2, 2, "Status", "Gauge", "Process", "str", `"DOWN"`},
		{3, "svname", "Backend", 2, 0, "Key", "Name", "Service", "str", `"BACKEND"`},
		{3, "slim", "Backend", 2, 0, "Config", "Limit", "Process", "u32", `200`},
		{4, "mode", "Frontend", 3, 0, "Config", "Gauge", "Service", "str", `"tcp"`},
		// h2 module fields, tagged and typed as HAProxy's mux_h2 fills them.
		{0, "h2_headers_rcvd", "Frontend", 2, 0, "Metric", "Counter", "Process", "u64", `40`},
		{0, "h2_open_connections", "Frontend", 2, 0, "Metric", "Gauge", "Process", "u64", `2`},
		{4, "h2_total_connections", "Frontend", 3, 0, "Metric", "Counter", "Process", "u64", `0`},
		{3, "h2_headers_rcvd", "", 0, 0, "", "", "", "", ""},
		{1, "h2_headers_rcvd", "", 0, 0, "", "", "", "", ""},
		{0, "-", "", 0, 0, "", "", "", "", ""}, // the separator is CSV-only
	}
	for _, tt := range tests {
		f := find(objs[tt.obj], tt.field)
		if tt.value == "" {
			if f != nil {
				t.Errorf("obj %d: empty field %s emitted", tt.obj, tt.field)
			}
			continue
		}
		if f == nil {
			t.Errorf("obj %d: no field %s", tt.obj, tt.field)
			continue
		}
		if f.ObjType != tt.objType || f.ProxyID != tt.proxyID || f.ID != tt.id || f.ProcessNum != 1 {
			t.Errorf("obj %d %s: ids %+v", tt.obj, tt.field, f)
		}
		if cols[f.Field.Pos].Name != tt.field {
			t.Errorf("%s: pos %d names %s", tt.field, f.Field.Pos, cols[f.Field.Pos].Name)
		}
		if f.Tags.Origin != tt.origin || f.Tags.Nature != tt.nature || f.Tags.Scope != tt.scope {
			t.Errorf("obj %d %s: tags %+v", tt.obj, tt.field, f.Tags)
		}
		if f.Value.Type != tt.vtype || string(f.Value.Value) != tt.value {
			t.Errorf("obj %d %s: value %s %s, want %s %s", tt.obj, tt.field, f.Value.Type, f.Value.Value, tt.vtype, tt.value)
		}
	}
}

func TestTyped(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTyped(&b, testSnapshot()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"F.2.0.0.pxname.1:KNS:str:web\n",
		"F.2.0.4.scur.1:MGP:u32:3\n",
		"S.2.1.17.status.1:SGP:str:UP\n",
		"S.2.2.23.lastchg.1:MAP:u32:600\n",
		"B.2.0.1.svname.1:KNS:str:BACKEND\n",
		// Module fields are numbered on from the fixed ones (103 in 2.6),
		// without the CSV's "-" separator, as HAProxy does.
		"F.2.0.103.h2_headers_rcvd.1:MCP:u64:40\n",
		"F.2.0.112.h2_open_connections.1:MGP:u64:2\n",
		"F.2.0.114.h2_total_connections.1:MCP:u64:9\n",
		"F.3.0.103.h2_headers_rcvd.1:MCP:u64:0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("typed output lacks %q", want)
		}
	}
	if strings.Contains(out, ".qcur.1:") && strings.Contains(out, "F.2.0.2.qcur") {
		t.Error("frontend qcur emitted")
	}
	if strings.Contains(out, "B.2.0.103.") || strings.Contains(out, ".-.") {
		t.Error("backend h2 field or the CSV separator in typed output")
	}
	if n := strings.Count(out, "\n\n"); n != 5 {
		t.Errorf("%d object separators, want 5", n)
	}
}

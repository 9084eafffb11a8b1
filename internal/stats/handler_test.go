package stats

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

type fakeSource struct {
	snap    *Snapshot
	allow   bool
	applied []AdminAction
	failed  int
}

func (f *fakeSource) Snapshot() *Snapshot { return f.snap }

func (f *fakeSource) AdminAllowed(_ *httpmsg.Request, user string) bool { return f.allow }

func (f *fakeSource) ApplyAdmin(a AdminAction) (int, int) {
	f.applied = append(f.applied, a)
	return len(a.Servers) - f.failed, f.failed
}

func request(method, uri string, hdr ...string) *httpmsg.Request {
	r := &httpmsg.Request{Method: method, URI: uri, Proto: "HTTP/1.1", Major: 1, Minor: 1}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func header(r *Reply, name string) string {
	v, _ := r.Header.Get(name)
	return v
}

func TestMatches(t *testing.T) {
	tests := []struct {
		uri, target string
		want        bool
	}{
		{"", "/haproxy?stats", true},
		{"", "/haproxy?stats;csv", true},
		{"", "/haproxy", false},
		{"/stats", "/stats;json", true},
		{"/stats", "http://lb.example/stats;csv", true},
		{"/stats", "/other", false},
		{"/stats", "/x?u=http://lb.example/stats", false},
		{"/stats", "http://lb.example?u=/stats", false},
		{"/stats", "*", false},
	}
	for _, tt := range tests {
		s := NewService(&config.Stats{Enable: true, URI: tt.uri}, &fakeSource{snap: testSnapshot()})
		if got := s.Matches(tt.target); got != tt.want {
			t.Errorf("uri %q target %q: %v", tt.uri, tt.target, got)
		}
	}
	var nilSvc *Service
	if nilSvc.Matches("/haproxy?stats") {
		t.Error("nil service matches")
	}
}

func TestServeFormats(t *testing.T) {
	src := &fakeSource{snap: testSnapshot()}
	s := NewService(&config.Stats{Enable: true, URI: "/stats", Refresh: 5 * time.Second, ShowLegends: true}, src)
	tests := []struct {
		method, uri string
		ctype       string
		refresh     string
		contains    []string
		absent      []string
	}{
		{"GET", "/stats", "text/html", "5", []string{"<h1>Gatehouse version 0.1.0", `content="5"`}, nil},
		{"GET", "/stats;norefresh", "text/html", "", []string{"Enable refresh"}, []string{`http-equiv="refresh"`}},
		{"GET", "/stats;csv", "text/plain", "", []string{"# pxname,svname,", "web,gw1,", "10.0.0.1:443"}, nil},
		{"GET", "/stats;csv;norefresh", "text/plain", "", []string{"web,BACKEND,"}, nil},
		{"GET", "/stats;up;csv", "text/plain", "", []string{"web,gw1,"}, []string{"web,gw2,"}},
		{"GET", "/stats;json", "application/json", "", []string{`"objType":"Frontend"`}, nil},
		{"GET", "/stats;json-schema", "application/json", "", []string{`"$schema"`}, nil},
		{"GET", "/stats;typed", "text/plain", "", []string{"F.2.0.0.pxname.1:KNS:str:web"}, nil},
		{"GET", "/stats;st=DONE", "text/html", "5", []string{"Action processed successfully."}, nil},
	}
	for _, tt := range tests {
		r := s.Serve(request(tt.method, tt.uri), nil)
		if r.Status != 200 {
			t.Errorf("%s: status %d", tt.uri, r.Status)
			continue
		}
		if got := header(r, "Content-Type"); got != tt.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tt.uri, got, tt.ctype)
		}
		if got := header(r, "Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", tt.uri, got)
		}
		if got := header(r, "Refresh"); got != tt.refresh {
			t.Errorf("%s: Refresh %q, want %q", tt.uri, got, tt.refresh)
		}
		if got := header(r, "Content-Length"); got != itoa(len(r.Body)) {
			t.Errorf("%s: Content-Length %s for %d bytes", tt.uri, got, len(r.Body))
		}
		for _, c := range tt.contains {
			if !strings.Contains(string(r.Body), c) {
				t.Errorf("%s: body lacks %q", tt.uri, c)
			}
		}
		for _, c := range tt.absent {
			if strings.Contains(string(r.Body), c) {
				t.Errorf("%s: body has %q", tt.uri, c)
			}
		}
	}
	if src.snap.Legends {
		t.Error("Serve modified the source snapshot")
	}
	var v any
	if err := json.Unmarshal([]byte(JSONSchema()), &v); err != nil {
		t.Errorf("schema is not JSON: %v", err)
	}
}

func TestServeHEADAndMethods(t *testing.T) {
	s := NewService(&config.Stats{Enable: true}, &fakeSource{snap: testSnapshot()})
	get := s.Serve(request("GET", "/haproxy?stats;csv"), nil)
	head := s.Serve(request("HEAD", "/haproxy?stats;csv"), nil)
	if head.Status != 200 || head.Body != nil || header(head, "Content-Length") != itoa(len(get.Body)) {
		t.Errorf("HEAD: status %d, body %d bytes, length %s (GET %d)", head.Status, len(head.Body), header(head, "Content-Length"), len(get.Body))
	}
	put := s.Serve(request("PUT", "/haproxy?stats"), nil)
	if put.Status != 405 || header(put, "Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT: %d %q", put.Status, header(put, "Allow"))
	}
}

func TestServeAuth(t *testing.T) {
	cfg := &config.Stats{Enable: true, Auth: []config.UserPass{{User: "admin", Pass: "s3cret"}, {User: "ops", Pass: "x:y"}}}
	tests := []struct {
		name   string
		realm  string
		auth   string
		status int
	}{
		{"missing", "", "", 401},
		{"bad password", "", basic("admin", "wrong"), 401},
		{"unknown user", "", basic("root", "s3cret"), 401},
		{"not basic", "", "Bearer abc", 401},
		{"bad base64", "", "Basic !!!", 401},
		{"good", "", basic("admin", "s3cret"), 200},
		{"good second, colon in password", "", basic("ops", "x:y"), 200},
		{"scheme case-insensitive", "", "basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret")), 200},
		{"custom realm", "Gatehouse Stats", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *cfg
			c.Realm = tt.realm
			s := NewService(&c, &fakeSource{snap: testSnapshot()})
			var hdr []string
			if tt.auth != "" {
				hdr = []string{"Authorization", tt.auth}
			}
			r := s.Serve(request("GET", "/haproxy?stats", hdr...), nil)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d", r.Status, tt.status)
			}
			if tt.status == 401 {
				want := `Basic realm="HAProxy Statistics"`
				if tt.realm != "" {
					want = `Basic realm="` + tt.realm + `"`
				}
				if got := header(r, "WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate %q, want %q", got, want)
				}
				if !strings.Contains(string(r.Body), "401 Unauthorized") {
					t.Errorf("body %q", r.Body)
				}
			}
		})
	}
}

func TestServeAdmin(t *testing.T) {
	tests := []struct {
		name      string
		admin     bool // "stats admin" configured
		allow     bool
		uri, body string
		failed    int
		location  string
		applied   *AdminAction
	}{
		{"not configured", false, true, "/st", "s=gw1&action=maint&b=%232", 0, "/st;st=DENY", nil},
		{"denied", true, false, "/st", "s=gw1&action=maint&b=%232", 0, "/st;st=DENY", nil},
		{"done by id", true, true, "/st", "s=gw1&s=gw2&action=drain&b=%232", 0, "/st;st=DONE",
			&AdminAction{Backend: "web", BackendID: 2, Action: "drain", Servers: []string{"gw1", "gw2"}}},
		{"done by name, flags kept", true, true, "/st;up;norefresh", "action=ready&b=web&s=gw2", 0, "/st;st=DONE;up;norefresh",
			&AdminAction{Backend: "web", BackendID: 2, Action: "ready", Servers: []string{"gw2"}}},
		{"unknown server", true, true, "/st", "s=gw1&s=nope&action=maint&b=%232", 0, "/st;st=PART",
			&AdminAction{Backend: "web", BackendID: 2, Action: "maint", Servers: []string{"gw1"}}},
		{"apply fails", true, true, "/st", "s=gw1&action=maint&b=%232", 1, "/st;st=PART",
			&AdminAction{Backend: "web", BackendID: 2, Action: "maint", Servers: []string{"gw1"}}},
		{"no server", true, true, "/st", "action=maint&b=%232", 0, "/st;st=NONE", nil},
		{"bad action", true, true, "/st", "s=gw1&action=explode&b=%232", 0, "/st;st=ERRP", nil},
		{"bad backend", true, true, "/st", "s=gw1&action=maint&b=%233", 0, "/st;st=ERRP", nil},
		{"too big", true, true, "/st", "s=" + strings.Repeat("x", maxAdminBody), 0, "/st;st=EXCD", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Stats{Enable: true, URI: "/st"}
			if tt.admin {
				cfg.Admin = &config.Cond{Terms: []string{"TRUE"}}
			}
			src := &fakeSource{snap: testSnapshot(), allow: tt.allow, failed: tt.failed}
			s := NewService(cfg, src)
			r := s.Serve(request("POST", tt.uri), []byte(tt.body))
			if r.Status != 303 || header(r, "Location") != tt.location {
				t.Errorf("got %d Location %q, want 303 %q", r.Status, header(r, "Location"), tt.location)
			}
			switch {
			case tt.applied == nil && len(src.applied) != 0:
				t.Errorf("applied %+v", src.applied)
			case tt.applied != nil && (len(src.applied) != 1 || !equalAction(src.applied[0], *tt.applied)):
				t.Errorf("applied %+v, want %+v", src.applied, *tt.applied)
			}
		})
	}
}

func equalAction(a, b AdminAction) bool {
	return a.Backend == b.Backend && a.BackendID == b.BackendID && a.Action == b.Action &&
		strings.Join(a.Servers, ",") == strings.Join(b.Servers, ",")
}

func TestServeAdminPageForm(t *testing.T) {
	cfg := &config.Stats{Enable: true, Admin: &config.Cond{Terms: []string{"TRUE"}}}
	for _, allow := range []bool{true, false} {
		s := NewService(cfg, &fakeSource{snap: testSnapshot(), allow: allow})
		r := s.Serve(request("GET", "/haproxy?stats"), nil)
		if got := strings.Contains(string(r.Body), `<form method="post"`); got != allow {
			t.Errorf("allow=%v: form shown %v", allow, got)
		}
	}
}

// TestServeAuthStrict: the credentials are read as the userlist fetches
// read them (userlist.ParseAuthorization): two Authorization headers, or a
// list in one, are no credentials, whatever the first one says.
func TestServeAuthStrict(t *testing.T) {
	s := NewService(&config.Stats{Enable: true, Auth: []config.UserPass{{User: "admin", Pass: "s3cret"}}}, &fakeSource{snap: testSnapshot()})
	good := basic("admin", "s3cret")
	for _, c := range []struct {
		hdr    []string
		status int
	}{
		{[]string{"Authorization", good}, 200},
		{[]string{"Authorization", "BASIC    " + good[len("Basic "):]}, 200},
		{[]string{"Authorization", good, "Authorization", good}, 401},
		{[]string{"Authorization", good, "authorization", basic("x", "y")}, 401},
		{[]string{"Authorization", good + ", Basic " + good[len("Basic "):]}, 401},
		{[]string{"Authorization", good + "="}, 401},
	} {
		if r := s.Serve(request("GET", "/haproxy?stats", c.hdr...), nil); r.Status != c.status {
			t.Errorf("%q: %d, want %d", c.hdr, r.Status, c.status)
		}
	}
}

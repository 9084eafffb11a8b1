package cfgparse

import (
	"strings"
	"testing"
	"time"
)

// TestTCPResponseRules: "tcp-response inspect-delay|content" in a backend
// (after a named defaults' rules, which come first), HAProxy 2.6's
// actions, the first inspect-delay kept with a warning (the defaults'
// included), and the sections HAProxy refuses.
func TestTCPResponseRules(t *testing.T) {
	cfg, err := Parse("r.cfg", []byte(`defaults d
 mode tcp
 timeout client 5s
 timeout server 5s
 timeout connect 5s
 tcp-response inspect-delay 3s
 tcp-response content accept if { res.len gt 100 }
defaults
 mode tcp
listen l
 bind :80
 server s 127.0.0.1:80
backend b from d
 tcp-response inspect-delay 1s
 tcp-response content reject if { res.payload(0,4) -m str BAD! }
 tcp-response content close if WAIT_END
 tcp-response content silent-drop if { res.len eq 1 }
 tcp-response content set-var(sess.banner) res.payload(0,0)
 tcp-response content set-var-fmt(txn.n) "%[res.len]"
 tcp-response content unset-var(txn.n)
 tcp-response content set-log-level silent if { res.len eq 2 }
 tcp-response content sc-inc-gpc0(0)
 tcp-response content sc-inc-gpc(1,2) if { res.len gt 3 }
 tcp-response content sc-set-gpt0(1) 7
 tcp-response content sc-set-gpt(0,1) res.len
 tcp-response content sc-add-gpc(0,0) 2
 server s 127.0.0.1:80
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Proxies[1]
	if b.ResInspectDelay != 3*time.Second {
		t.Errorf("inspect-delay %v, want the defaults' 3s (HAProxy keeps the first)", b.ResInspectDelay)
	}
	var actions []string
	for _, r := range b.TCPResponse {
		actions = append(actions, r.Action)
	}
	want := "accept reject close silent-drop set-var set-var-fmt unset-var set-log-level sc-inc-gpc0 sc-inc-gpc sc-set-gpt0 sc-set-gpt sc-add-gpc"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("actions:\n got %s\nwant %s", got, want)
	}
	if r := b.TCPResponse[7]; r.Value != "silent" || r.Cond == nil {
		t.Errorf("set-log-level: %+v", r)
	}
	if r := b.TCPResponse[9]; r.Stick == nil || r.Stick.Idx != 1 || r.Stick.Slot != 2 {
		t.Errorf("sc-inc-gpc(1,2): %+v", r.Stick)
	}
	warned := false
	for _, w := range cfg.Warnings {
		warned = warned || strings.Contains(w.Msg, "ignoring tcp-response inspect-delay (was already defined) in backend 'b'")
	}
	if !warned {
		t.Errorf("no warning for the second inspect-delay: %v", cfg.Warnings)
	}

	const head = "defaults\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 5s\n"
	for _, tc := range []struct{ cfg, want string }{
		{"frontend f\n bind :80\n tcp-response content reject\n", "has no backend capability"},
		{"frontend f\n bind :80\n tcp-response inspect-delay 1s\n", "has no backend capability"},
		{"backend b\n tcp-response content reject\nfrontend f\n bind :80\n default_backend b\n", ""},
		{"listen l\n bind :80\n tcp-response content accept if { res.len gt 0 }\n server s 127.0.0.1:80\n", ""},
		{"backend b\n tcp-response\n", "'tcp-response' expects one of 'inspect-delay', 'content'"},
		{"backend b\n tcp-response contents accept\n", "content"},
		{"backend b\n tcp-response content rejet\n", "Did you mean 'reject' maybe ?"},
		{"backend b\n tcp-response content accept foo\n", "only accepts 'if' or 'unless'"},
		{"backend b\n tcp-response content set-mark 1\n", "'tcp-response content set-mark' is a HAProxy keyword that Gatehouse does not implement"},
		{"backend b\n tcp-response content send-spoe-group e g\n", "does not implement"},
		{"backend b\n tcp-response content track-sc0 src\n", "expects 'accept', 'close', 'reject'"},
		{"backend b\n tcp-response content set-log-level\n", "set-log-level' expects exactly 1 argument"},
		{"backend b\n tcp-response inspect-delay\n", "expects a positive delay"},
		{"backend b\n tcp-response inspect-delay 5x\n", "expects a positive delay"},
	} {
		_, err := Parse("r.cfg", []byte(head+tc.cfg), Options{})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
	// A frontend or a listen may not inherit them, as in HAProxy.
	const named = "defaults d\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 5s\n tcp-response content reject if { res.len gt 0 }\n"
	for _, tc := range []struct{ cfg, want string }{
		{"frontend f from d\n bind :80\n", "a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules"},
		{"listen l from d\n bind :80\n", "a listen section cannot inherit from a defaults section defining TCP/HTTP rules"},
		{"backend b from d\ndefaults e\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 5s\nfrontend f from e\n bind :80\n default_backend b\n", ""},
	} {
		_, err := Parse("r.cfg", []byte(named+tc.cfg), Options{})
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
	// Anonymous defaults take no tcp-response line.
	for _, line := range []string{"tcp-response content reject", "tcp-response inspect-delay 1s"} {
		_, err := Parse("r.cfg", []byte(head+" "+line+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), "is only allowed in 'backend' sections or 'defaults' section with a name") {
			t.Errorf("%q in anonymous defaults: %v", line, err)
		}
	}
}

// TestRDPCookieKeywords: "persist rdp-cookie[(name)]" ("msts" by default)
// and "balance rdp-cookie[(name)]" ("mstshash"), as HAProxy 2.6 reads
// them, inherited from defaults; a frontend's persist is ignored with a
// warning.
func TestRDPCookieKeywords(t *testing.T) {
	const head = "defaults d\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 5s\n persist rdp-cookie\n balance rdp-cookie\n"
	cfg, err := Parse("r.cfg", []byte(head+`backend a from d
 server s 127.0.0.1:80
backend b from d
 persist rdp-cookie(user)
 balance rdp-cookie(tok)trailing
 server s 127.0.0.1:80
frontend f from d
 bind :80
 persist rdp-cookie
 default_backend a
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Proxies[0], cfg.Proxies[1]
	if a.PersistRDP != "msts" || a.Balance.Algo != "rdp-cookie" || a.Balance.Arg != "mstshash" {
		t.Errorf("defaults: persist %q, balance %q(%q)", a.PersistRDP, a.Balance.Algo, a.Balance.Arg)
	}
	if b.PersistRDP != "user" || b.Balance.Arg != "tok" {
		t.Errorf("named: persist %q, balance %q", b.PersistRDP, b.Balance.Arg)
	}
	warned := false
	for _, w := range cfg.Warnings {
		warned = warned || strings.Contains(w.Msg, "'persist' ignored because frontend 'f' has no backend capability")
	}
	if !warned {
		t.Errorf("no warning for the frontend's persist: %v", cfg.Warnings)
	}
	for _, tc := range []struct{ cfg, want string }{
		{"backend b\n persist\n", "missing persist method."},
		{"backend b\n persist cookie\n", "unknown persist method."},
		{"backend b\n persist rdp-cookie()\n", "persist rdp-cookie(name)' requires an rdp cookie name."},
		{"backend b\n persist rdp-cookie(x\n", "requires an rdp cookie name"},
		{"backend b\n persist rdp-cookiex\n", "requires an rdp cookie name"},
		{"backend b\n persist rdp-cookie x\n", "unexpected argument 'x'"},
		{"backend b\n balance rdp-cookie()\n", "rdp-cookie : missing cookie name."},
		{"backend b\n balance rdp-cookie(\n", "missing cookie name"},
		{"backend b\n balance rdp-cookies\n", "missing cookie name"},
		{"backend b\n balance rdp-cookie x\n", "takes no other argument"},
	} {
		_, err := Parse("r.cfg", []byte("defaults\n mode tcp\n"+tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

package acl

import "testing"

func TestNbsrv(t *testing.T) {
	usable := map[string]int{"app": 2, "fe": 1}
	txn := &Txn{Frontend: "fe", UsableServers: func(name string) int { return usable[name] }}
	for src, want := range map[string]string{
		"nbsrv(app)":  "2",
		"nbsrv(nope)": "0",
		"nbsrv":       "1", // no backend chosen yet: the proxy itself (a listen)
	} {
		got, ok := mustExpr(t, src).AppendString(nil, txn)
		if !ok || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, got, ok, want)
		}
	}
	txn.Backend = "app"
	if got, _ := mustExpr(t, "nbsrv").AppendString(nil, txn); string(got) != "2" {
		t.Errorf("nbsrv with backend 'app' chosen = %q, want 2", got)
	}
	if got, _ := mustExpr(t, "nbsrv(app)").AppendString(nil, &Txn{}); string(got) != "0" {
		t.Errorf("nbsrv without a server view = %q, want 0", got)
	}
}

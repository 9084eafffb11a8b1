package acl

import "testing"

type fakeProxies struct{}

func (fakeProxies) Frontend(name string) (FrontendInfo, bool) {
	return FrontendInfo{ID: 2, Conn: 7, SessRate: 3, ReqRate: 9}, name == "fe_main"
}

func (fakeProxies) Backend(name string) (BackendInfo, bool) {
	switch name {
	case "be_app":
		return BackendInfo{ID: 4, Conn: 5, SessRate: 6, Queue: 9, Active: 2, FreeConn: 10, FreeQueue: 3}, true
	case "down":
		return BackendInfo{ID: 5, Queue: 4, FreeConn: -1}, true
	}
	return BackendInfo{}, false
}

func (fakeProxies) Server(be, name string) (ServerInfo, bool) {
	return ServerInfo{ID: 3, Up: name == "srv1", Conn: 1, Queue: 2, SessRate: 8, FreeConn: -1}, be == "be_app"
}

// TestStateFetches: the proxy and server fetches read ProxyInfo, the
// current proxies by default, and give nothing for an unknown name;
// avg_queue doubles the queue without a usable server, connslots is -1
// when a limit is missing.
func TestStateFetches(t *testing.T) {
	tx := testTxn()
	tx.Proxies = fakeProxies{}
	for expr, want := range map[string]string{
		"fe_conn": "7", "fe_conn(nosuch)": "", "fe_sess_rate": "3", "fe_req_rate": "9", "fe_id": "2",
		"be_conn": "5", "be_conn(down)": "0", "be_sess_rate": "6", "be_id": "4", "queue": "9",
		"avg_queue": "4", "avg_queue(down)": "8", "connslots": "13", "connslots(down)": "-1", "be_conn_free": "10",
		"srv_conn(srv1)": "1", "srv_conn(be_app/srv1)": "1", "srv_conn(other/srv1)": "", "srv_is_up(srv1)": "1",
		"srv_is_up(srv2)": "0", "srv_queue(srv1)": "2", "srv_sess_rate(srv1)": "8", "srv_conn_free(srv1)": "-1", "srv_id": "3",
	} {
		out, _ := mustExpr(t, expr).AppendString(nil, tx)
		if string(out) != want {
			t.Errorf("%s: got %q, want %q", expr, out, want)
		}
	}
	tx.Proxies = nil
	if out, ok := mustExpr(t, "fe_conn").AppendString(nil, tx); ok {
		t.Errorf("fe_conn without ProxyInfo: got %q", out)
	}
}

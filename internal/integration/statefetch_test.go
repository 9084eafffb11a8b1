package integration

import (
	"fmt"
	"testing"
)

// TestStateFetchesMatchHAProxy: the fetches about proxies and servers
// (fe_conn, fe_id, fe_sess_rate, fe_req_rate, be_conn, be_id,
// be_sess_rate, be_conn_free, nbsrv, queue, avg_queue, connslots,
// srv_conn, srv_conn_free, srv_is_up, srv_queue, srv_sess_rate, srv_id)
// read the same values as HAProxy 2.6's for the same traffic (connection
// counts as booleans, and one request: a closed connection leaves the
// counts when each proxy notices, which is not at the same moment).
func TestStateFetchesMatchHAProxy(t *testing.T) {
	cfg := func(e ruleEnv) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:%d
    http-request set-header X-Fe "%%[fe_conn,bool]|%%[fe_id]|%%[be_conn(be)]|%%[nbsrv(be)]|%%[queue(be)]|%%[avg_queue(be)]|%%[connslots(be)]|%%[be_conn_free(be)]|%%[be_conn_free(nolimit)]|%%[connslots(nolimit)]"
    http-request set-header X-Srv "%%[srv_conn(be/s1)]|%%[srv_conn_free(be/s1)]|%%[srv_is_up(be/s1)]|%%[srv_is_up(be/s2)]|%%[srv_queue(be/s1)]|%%[srv_conn_free(nolimit/n1)]"
    http-request set-header X-Rates "fe:%%[fe_sess_rate,bool]:%%[fe_req_rate,bool]"
    default_backend be

frontend other
    bind 127.0.0.1:%d
    http-request return status 200

backend be
    http-request set-header X-Be "%%[be_conn]|%%[be_id]|%%[be_sess_rate,bool]"
    http-response set-header X-Srv-Id "%%[srv_id]|%%[srv_sess_rate(be/s1),bool]"
    server s1 %s maxconn 10 maxqueue 5
    server s2 %s maxconn 10 maxqueue 5 disabled

backend nolimit
    server n1 %s
`, e.Port, e.Port+1, e.Server, e.Server, e.Server)
	}
	cases := []ruleCase{
		{name: "one", raw: "GET /a HTTP/1.1\r\nHost: app.example\r\n\r\n"},
	}
	compareRules(t, cfg, cases, []string{"X-Srv-Id"}, []string{"x-fe", "x-srv", "x-rates", "x-be"}, false)
}

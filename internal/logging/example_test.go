package logging_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/logging"
)

func Example() {
	f, err := logging.Compile(logging.HTTPLogFormat, config.Pos{File: "gatehouse.cfg", Line: 12}, nil)
	if err != nil {
		panic(err)
	}
	c := logging.NewContext() // one per connection, Reset between requests
	c.Txn = &acl.Txn{Req: &httpmsg.Request{Method: "GET", URI: "/healthz", Proto: "HTTP/1.1"}}
	c.Client = netip.MustParseAddrPort("198.51.100.7:51234")
	c.FrontendName, c.FrontendSSL = "public", true
	c.BackendName, c.ServerName = "istio", "gw1"
	c.AcceptTime = time.Date(2026, time.November, 21, 19, 22, 33, 123e6, time.UTC)
	c.Th, c.Ti, c.TR, c.Tw, c.Tc, c.Tr, c.Tt = 2, 0, 1, 0, 1, 3, 9
	c.Status, c.BytesOut = 200, 112
	c.ActConn, c.FeConn, c.BeConn, c.SrvConn = 3, 2, 1, 1
	c.Term = logging.TermNormal

	line := f.Append(make([]byte, 0, 512), c)
	fmt.Println(string(line))
	// Output:
	// 198.51.100.7:51234 [21/Nov/2026:19:22:33.125] public~ istio/gw1 1/0/1/3/7 200 112 - - ---- 3/2/1/1/0 0/0 "GET /healthz HTTP/1.1"
}

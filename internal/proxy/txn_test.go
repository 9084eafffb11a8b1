package proxy

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

// beginSession is a plain keep-alive connection's session for begin.
func beginSession() *session {
	fe := testFrontend()
	fe.Proc = &Process{}
	return &session{fe: fe, nreq: 1}
}

// TestBeginKeepsSampleScratch: the sample's scratch space survives from
// one request of a connection to the next, so a rule whose fetch builds
// its value (base) costs no allocation per request. begin used to set
// the sample from a fresh literal, dropping it every time.
func TestBeginKeepsSampleScratch(t *testing.T) {
	set, err := acl.NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := set.Cond(&config.Cond{Terms: []string{"{", "base_beg", "-i", "www.example.com/api", "}"}})
	if err != nil {
		t.Fatal(err)
	}
	s := beginSession()
	tx := new(Txn)
	request := func() {
		tx.begin(s)
		tx.Req.Method, tx.Req.URI = "GET", "/api/items"
		tx.Req.Header = append(tx.Req.Header, httpmsg.Header{Name: "Host", Value: "www.example.com"})
		if !c.Match(&tx.acl) {
			t.Fatal("base_beg did not match")
		}
	}
	request()
	if n := testing.AllocsPerRun(100, request); n != 0 {
		t.Errorf("a request allocates %.1f times, want 0", n)
	}
}

// BenchmarkTxnBegin is the per-request clearing and setup of a keep-alive
// connection's transaction (begin: reset, the log context, the sample).
func BenchmarkTxnBegin(b *testing.B) {
	s := beginSession()
	t := new(Txn)
	b.ReportAllocs()
	for b.Loop() {
		t.begin(s)
	}
}

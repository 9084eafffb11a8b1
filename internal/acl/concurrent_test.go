package acl

import (
	"sync"
	"testing"
)

// TestConcurrentUse: compiled expressions and conditions are shared by every
// connection; each goroutine has its own Txn (run with -race).
func TestConcurrentUse(t *testing.T) {
	c := benchCond(t, "{ hdr(host),lower,field(1,:) -m end .example.com } || nets")
	e := mustExpr(t, "hdr(host),lower,regsub(\\.,-,g)")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			tx := testTxn()
			var buf []byte
			for range 200 {
				if !c.Match(tx) {
					t.Error("no match")
					return
				}
				var ok bool
				if buf, ok = e.AppendString(buf[:0], tx); !ok || string(buf) != "www-example-com:8080" {
					t.Errorf("got %q", buf)
					return
				}
			}
		})
	}
	wg.Wait()
}

package acl

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

type fixedBody struct {
	data     string
	complete bool
}

func (b fixedBody) AvailableBody() ([]byte, bool) { return []byte(b.data), b.complete }

func TestBodyFetches(t *testing.T) {
	txn := testTxn()
	txn.Req.Method = "POST"
	txn.Req.ContentLength = 40
	txn.Body = fixedBody{data: "user=alice&&action=view&user=bob&flag"}
	for _, tc := range []struct{ expr, want string }{
		{"req.body", "user=alice&&action=view&user=bob&flag"},
		{"req.body_len", "37"},
		{"req.body_size", "40"},
		{"req.body_param(user)", "alice"},
		{"req.body_param(action)", "view"},
		{"req.body_param(flag)", ""},
		{"req.body_param", "alice"},
	} {
		got, ok := mustExpr(t, tc.expr).AppendString(nil, txn)
		if !ok || string(got) != tc.want {
			t.Errorf("%s = %q (%v), want %q", tc.expr, got, ok, tc.want)
		}
	}
	if _, ok := mustExpr(t, "req.body_param(none)").AppendString(nil, txn); ok {
		t.Error("req.body_param of a parameter the body lacks has a value")
	}
	// ACLs try every occurrence.
	s, err := NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Cond(&config.Cond{Pos: testPos, Terms: strings.Fields("{ req.body_param(user) bob }")})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Match(txn) {
		t.Error("the ACL did not find the second 'user' parameter")
	}
	// Chunked: the size is what is available.
	txn.Req.Chunked, txn.Req.ContentLength = true, -1
	if got, _ := mustExpr(t, "req.body_size").AppendString(nil, txn); string(got) != "37" {
		t.Errorf("chunked req.body_size = %s", got)
	}
}

package upstream

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestAssignToWaitsForItsServer: a request persistence ties to a full
// server waits for that server alone, not behind the backend's balanced
// queue, and takes it even at weight 0; its server's maxqueue bounds
// how many may wait.
func TestAssignToWaitsForItsServer(t *testing.T) {
	f := mkQueuedFarm(t, "roundrobin", 0,
		srvSpec{name: "a", weight: 1, maxconn: 1},
		srvSpec{name: "b", weight: 0, maxconn: 1})
	a, b := f.Server("a"), f.Server("b")
	held, err := f.Assign(context.Background(), Key{}, nil)
	if err != nil || held != a {
		t.Fatalf("first assign: %v %v", held, err)
	}
	// A balanced request waits for a; then one tied to b goes at once.
	balanced := assignAsync(f, context.Background(), Key{})
	waitFor(t, "balanced waiter", func() bool { return f.Queue().Len() == 1 })
	got, err := f.AssignTo(context.Background(), b)
	if err != nil || got != b {
		t.Fatalf("AssignTo(b) = %v, %v; want b at once", got, err)
	}
	// One tied to a (full) waits for a; when a frees, the queue's order
	// holds: the balanced request came first.
	tied := make(chan result, 1)
	go func() {
		s, err := f.AssignTo(context.Background(), a)
		tied <- result{s, err}
	}()
	waitFor(t, "tied waiter", func() bool { return f.Queue().Len() == 2 })
	held.Release()
	select {
	case r := <-balanced:
		if r.err != nil || r.s != a {
			t.Fatalf("balanced waiter got %v, %v", r.s, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the balanced waiter was not served")
	}
	// b freeing does not serve the request tied to a.
	b.Release()
	select {
	case r := <-tied:
		t.Fatalf("request tied to a got %v, %v while a is full", r.s, r.err)
	default:
	}
	a.Release()
	select {
	case r := <-tied:
		if r.err != nil || r.s != a {
			t.Fatalf("tied waiter got %v, %v", r.s, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request tied to a was not served when a freed")
	}
	a.Release()
}

func TestAssignToMaxQueue(t *testing.T) {
	cs := &config.Server{Name: "a", Host: "127.0.0.1", Port: 8000, Weight: 1, MaxConn: 1, MaxQueue: 1}
	a := NewServer(cs, 1, netip.MustParseAddrPort("127.0.0.1:8000"))
	f, err := NewFarm("be", []*Server{a}, config.Balance{Algo: "roundrobin"}, FarmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.AssignTo(context.Background(), a); err != nil || s != a {
		t.Fatalf("AssignTo = %v, %v", s, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := make(chan error, 1)
	go func() { _, err := f.AssignTo(ctx, a); waiting <- err }()
	waitFor(t, "first waiter", func() bool { return f.Queue().Len() == 1 })
	if _, err := f.AssignTo(context.Background(), a); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second waiter: %v, want ErrQueueFull", err)
	}
	cancel()
	select {
	case err := <-waiting:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled waiter did not return")
	}
}

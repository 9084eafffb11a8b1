package upstream

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

func mkQueuedFarm(t *testing.T, algo string, timeout time.Duration, specs ...srvSpec) *Farm {
	t.Helper()
	f, err := NewFarm("be", mkServers(specs...), config.Balance{Algo: algo}, FarmOptions{QueueTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// waitFor polls cond instead of sleeping a fixed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type result struct {
	s   *Server
	err error
}

func assignAsync(f *Farm, ctx context.Context, k Key) <-chan result {
	ch := make(chan result, 1)
	go func() {
		s, err := f.Assign(ctx, k, nil)
		ch <- result{s, err}
	}()
	return ch
}

func TestQueueWakeupFIFO(t *testing.T) {
	f := mkQueuedFarm(t, "roundrobin", 0, srvSpec{name: "a", weight: 1, maxconn: 1})
	held, err := f.Assign(context.Background(), Key{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := assignAsync(f, context.Background(), Key{})
	waitFor(t, "first waiter", func() bool { return f.Queue().Len() == 1 })
	second := assignAsync(f, context.Background(), Key{})
	waitFor(t, "second waiter", func() bool { return f.Queue().Len() == 2 })
	if f.Queue().Max() != 2 {
		t.Errorf("qmax = %d, want 2", f.Queue().Max())
	}
	held.Release()
	r := <-first
	if r.err != nil || r.s != held {
		t.Fatalf("first waiter got %v, %v", r.s, r.err)
	}
	select {
	case r := <-second:
		t.Fatalf("second waiter served early: %v %v", r.s, r.err)
	case <-time.After(20 * time.Millisecond):
	}
	r.s.Release()
	if r := <-second; r.err != nil || r.s == nil {
		t.Fatalf("second waiter got %v, %v", r.s, r.err)
	} else {
		r.s.Release()
	}
	if c := f.Server("a").Cur(); c != 0 {
		t.Errorf("cur = %d after all releases", c)
	}
}

func TestQueueTimeoutAndErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *Farm) context.Context
		wantErr error
	}{
		{"timeout queue", func(f *Farm) context.Context {
			f.Pick(Key{}, nil) // take the only slot
			return context.Background()
		}, ErrQueueTimeout},
		{"all down: no queueing", func(f *Farm) context.Context {
			f.Server("a").SetUp(false)
			return context.Background()
		}, ErrNoServer},
		{"client gone", func(f *Farm) context.Context {
			f.Pick(Key{}, nil)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(10*time.Millisecond, cancel)
			return ctx
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mkQueuedFarm(t, "roundrobin", 30*time.Millisecond, srvSpec{name: "a", weight: 1, maxconn: 1})
			ctx := tt.setup(f)
			start := time.Now()
			s, err := f.Assign(ctx, Key{}, nil)
			if !errors.Is(err, tt.wantErr) || s != nil {
				t.Fatalf("got %v, %v; want %v", s, err, tt.wantErr)
			}
			if tt.wantErr == ErrQueueTimeout && time.Since(start) < 30*time.Millisecond {
				t.Errorf("timed out after %v, before timeout queue", time.Since(start))
			}
			if f.Queue().Len() != 0 {
				t.Errorf("queue still holds %d", f.Queue().Len())
			}
		})
	}
}

func TestQueueServerComesUp(t *testing.T) {
	f := mkQueuedFarm(t, "roundrobin", 0, srvSpec{name: "a", weight: 1, maxconn: 1}, srvSpec{name: "b", weight: 1, maxconn: 1})
	f.Server("b").SetAdmin(AdminMaint)
	f.Pick(Key{}, nil)
	w := assignAsync(f, context.Background(), Key{})
	waitFor(t, "waiter", func() bool { return f.Queue().Len() == 1 })
	f.Server("b").SetAdmin(AdminReady)
	if r := <-w; r.err != nil || r.s.Name != "b" {
		t.Fatalf("got %v, %v; want b", r.s, r.err)
	}
}

func TestQueueHashedWaitersKeepTheirServer(t *testing.T) {
	f2, err := NewFarm("be2", mkServers(srvSpec{name: "a", weight: 1, maxconn: 1}, srvSpec{name: "b", weight: 1, maxconn: 1}), config.Balance{Algo: "hdr", Arg: "x-user"}, FarmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Find a key for each server.
	keys := map[string]Key{}
	for i := 0; len(keys) < 2; i++ {
		k := Key{Hdr: string(rune('a'+i%26)) + string(rune('a'+i/26))}
		s := f2.Pick(k, nil)
		s.Release()
		keys[s.Name] = k
	}
	ha, hb := f2.Pick(keys["a"], nil), f2.Pick(keys["b"], nil)
	wa := assignAsync(f2, context.Background(), keys["a"])
	waitFor(t, "waiter a", func() bool { return f2.Queue().Len() == 1 })
	wb := assignAsync(f2, context.Background(), keys["b"])
	waitFor(t, "waiter b", func() bool { return f2.Queue().Len() == 2 })
	hb.Release() // b's slot frees: the waiter for a stays, the one for b goes
	if r := <-wb; r.err != nil || r.s.Name != "b" {
		t.Fatalf("waiter b got %v, %v", r.s, r.err)
	}
	if f2.Queue().Len() != 1 {
		t.Fatalf("waiter a left the queue")
	}
	ha.Release()
	if r := <-wa; r.err != nil || r.s.Name != "a" {
		t.Fatalf("waiter a got %v, %v", r.s, r.err)
	}
}

func TestQueueRace(t *testing.T) {
	f := mkQueuedFarm(t, "leastconn", 0, srvSpec{name: "a", weight: 1, maxconn: 2}, srvSpec{name: "b", weight: 2, maxconn: 3})
	var over atomic.Bool
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 200 {
				s, err := f.Assign(context.Background(), Key{}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if s.Cur() > s.MaxConn() {
					over.Store(true)
				}
				s.Release()
			}
		})
	}
	wg.Wait()
	if over.Load() {
		t.Error("a server went over its maxconn")
	}
	for _, s := range f.Servers() {
		if s.Cur() != 0 || s.Counters.MaxSess.Load() > int64(s.MaxConn()) {
			t.Errorf("%s: cur %d max %d", s, s.Cur(), s.Counters.MaxSess.Load())
		}
	}
	if f.Queue().Len() != 0 {
		t.Errorf("queue holds %d", f.Queue().Len())
	}
}

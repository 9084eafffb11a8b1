package upstream

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrQueueTimeout is returned when "timeout queue" expires before a slot
// frees (HAProxy answers 503, termination state "sQ").
var ErrQueueTimeout = errors.New("upstream: queue timeout")

// ErrQueueFull is returned when the server a request is hashed to already
// has maxqueue requests waiting for it (HAProxy answers 503).
var ErrQueueFull = errors.New("upstream: server queue full")

// ErrNoServer is returned when no server is usable at all (HAProxy answers
// 503 at once instead of queueing, termination state "SC"/"sC" with "NOSRV").
var ErrNoServer = errors.New("upstream: no server available")

// Queue is a backend's queue of requests waiting for a connection slot.
// Waiters are served in arrival order each time a slot frees (Release) or
// a server's state changes; each waiter keeps its own key, so a hashed
// request still waits for its own server.
type Queue struct {
	pick   func(Key, *Server) *Server
	sticky bool

	n   atomic.Int64 // waiters (qcur)
	max atomic.Int64 // qmax

	mu         sync.Mutex
	head, tail *waiter
}

type waiter struct {
	key     Key
	exclude *Server
	// target: the request waits for this server only (persistence).
	target     *Server
	ch         chan *Server
	prev, next *waiter
	queued     bool
}

// Len is the number of waiting requests (stats qcur).
func (q *Queue) Len() int { return int(q.n.Load()) }

// Max is the highest queue length seen (stats qmax).
func (q *Queue) Max() int { return int(q.max.Load()) }

// Wait queues a request until a server with a free slot can take it, the
// timeout expires (ErrQueueTimeout; timeout <= 0 waits for ctx alone) or
// ctx ends (its error). The returned server's slot is already taken.
func (q *Queue) Wait(ctx context.Context, key Key, exclude *Server, timeout time.Duration) (*Server, error) {
	return q.wait(ctx, &waiter{key: key, exclude: exclude, ch: make(chan *Server, 1)}, timeout)
}

func (q *Queue) wait(ctx context.Context, w *waiter, timeout time.Duration) (*Server, error) {
	q.mu.Lock()
	q.push(w)
	// A slot may have freed between the caller's failed Pick and now.
	q.dispatchLocked()
	q.mu.Unlock()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var err error
	select {
	case s := <-w.ch:
		return s, nil
	case <-expired:
		err = ErrQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	q.mu.Lock()
	if w.queued {
		q.remove(w)
		q.mu.Unlock()
		return nil, err
	}
	q.mu.Unlock()
	// Handed a server while giving up: keep it on timeout (it arrived in
	// time), give it back on cancellation.
	s := <-w.ch
	if err == ErrQueueTimeout {
		return s, nil
	}
	s.Release()
	return nil, err
}

// Dispatch hands free slots to waiters; farms call it on server changes.
func (q *Queue) Dispatch() {
	if q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	q.dispatchLocked()
	q.mu.Unlock()
}

func (q *Queue) slotFreed() {
	if q.n.Load() != 0 {
		q.Dispatch()
	}
}

func (q *Queue) dispatchLocked() {
	// lbDone: a balanced waiter found no server, so no later balanced one
	// can be served (unless the balancing is sticky); waiters for a given
	// server still may.
	lbDone := false
	for w := q.head; w != nil; {
		next := w.next
		switch {
		case w.target != nil:
			if w.target.Reachable() && w.target.TryAcquire() {
				q.remove(w)
				w.ch <- w.target
			}
		case lbDone:
		default:
			if s := q.pick(w.key, w.exclude); s != nil {
				q.remove(w)
				w.ch <- s
			} else if !q.sticky {
				lbDone = true
			}
		}
		w = next
	}
}

func (q *Queue) push(w *waiter) {
	w.queued = true
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	n := q.n.Add(1)
	for {
		m := q.max.Load()
		if n <= m || q.max.CompareAndSwap(m, n) {
			break
		}
	}
}

func (q *Queue) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	q.n.Add(-1)
}

package h2

import "testing"

// Between requests an h2c read loop waits for the next frames without a
// recv of its own: each recv's frames are processed inside the socket's
// read (rawReader.FillWith), which keeps the readiness, so the wait needs
// no try first. Before, every wait began with a recv that failed (EAGAIN):
// one per request here.
func TestReadLoopWaitsWithoutFailedRecv(t *testing.T) {
	s := startServer(t, &Config{}, nil, okHandler)
	raw := dialRaw(t, s.addr())
	raw.handshake()
	raw.get(1)
	if _, ok := s.conn(0).br.(*rawReader); !ok {
		t.Fatalf("h2c connection read with %T, want a *rawReader", s.conn(0).br)
	}
	before := rawAgain.Load()
	const n = 50
	for i := range n {
		raw.get(uint32(3 + 2*i))
	}
	if got := rawAgain.Load() - before; got > n/5 {
		t.Fatalf("%d recvs found nothing over %d requests in turn, want at most %d", got, n, n/5)
	}
}

package l4

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/upstream"
)

// Streams tracks a frontend's sessions for "show sess" (one map update
// per connection). The zero value is ready.
type Streams struct {
	mu sync.Mutex
	m  map[*session]struct{}
}

// StreamInfo is one session, as "show sess" lists it.
type StreamInfo struct {
	ID       uintptr
	Src      netip.AddrPort
	Frontend string
	Backend  string // "": none chosen yet
	Server   string // "": none chosen yet
	Started  time.Time
}

// live is what "show sess" reads of a session while it runs.
type live struct {
	be  atomic.Pointer[Backend]
	srv atomic.Pointer[upstream.Server]
}

func (st *Streams) add(s *session) {
	st.mu.Lock()
	if st.m == nil {
		st.m = map[*session]struct{}{}
	}
	st.m[s] = struct{}{}
	st.mu.Unlock()
}

func (st *Streams) remove(s *session) {
	st.mu.Lock()
	delete(st.m, s)
	st.mu.Unlock()
}

// List returns the sessions in progress.
func (st *Streams) List() []StreamInfo {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]StreamInfo, 0, len(st.m))
	for s := range st.m {
		si := StreamInfo{ID: uintptr(unsafe.Pointer(s)), Src: s.src, Frontend: s.fe.Name, Started: s.accept}
		if be := s.live.be.Load(); be != nil {
			si.Backend = be.Name
		}
		if srv := s.live.srv.Load(); srv != nil {
			si.Server = srv.Name
		}
		out = append(out, si)
	}
	return out
}

package upstream

import "sync"

// HAProxy's "on-marked-down shutdown-sessions" and "on-marked-up
// shutdown-backup-sessions": the streams using a server are cut when it
// is marked down, or the backup servers' streams when it is marked up.
// A stream registers how to cut itself while it holds the server.

// sessions is the set of a server's streams that can be cut.
type sessions struct {
	mu   sync.Mutex
	next uint64
	kill map[uint64]func()
}

// HoldSession registers kill, which cuts one stream using s (its client
// and server connections), until the returned release is called.
func (s *Server) HoldSession(kill func()) (release func()) {
	r := &s.sess
	r.mu.Lock()
	if r.kill == nil {
		r.kill = map[uint64]func(){}
	}
	r.next++
	id := r.next
	r.kill[id] = kill
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.kill, id)
		r.mu.Unlock()
	}
}

// ShutdownSessions cuts every stream holding s and reports how many.
func (s *Server) ShutdownSessions() int {
	r := &s.sess
	r.mu.Lock()
	ks := make([]func(), 0, len(r.kill))
	for id, k := range r.kill {
		ks = append(ks, k)
		delete(r.kill, id)
	}
	r.mu.Unlock()
	for _, k := range ks {
		k()
	}
	return len(ks)
}

// onOpChange applies the server's on-marked-down / on-marked-up actions
// after its operational state moved from old to op. Called without s.mu.
func (s *Server) onOpChange(old, op OpState) {
	cs := s.Cfg
	if cs == nil || old == op {
		return
	}
	if op == OpDown && cs.OnMarkedDown == "shutdown-sessions" {
		s.ShutdownSessions()
	}
	if op != OpDown && old == OpDown && cs.OnMarkedUp == "shutdown-backup-sessions" {
		if f := s.Farm(); f != nil {
			for _, b := range f.Servers() {
				if b.Backup {
					b.ShutdownSessions()
				}
			}
		}
	}
}

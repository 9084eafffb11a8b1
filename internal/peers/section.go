package peers

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/stick"
)

// Timers of HAProxy 2.6's peers.c.
const (
	resyncTimeout    = 5 * time.Second  // a starting process waits this long for a lesson
	heartbeatEvery   = 3 * time.Second  // sent when nothing else was
	deadAfter        = 10 * time.Second // nothing received: the session is dead
	handshakeTimeout = 5 * time.Second
	maxBackoff       = 5 * time.Second // HAProxy's PEER_RECONNECT_TIMEOUT
	minBackoff       = 250 * time.Millisecond
)

// PeerConfig is one peer of a section.
type PeerConfig struct {
	Name string
	Addr string // host:port; "" for the local peer declared with 'server NAME' and a 'bind' line
	// TLS, when set, is how this process connects to the peer.
	TLS *tls.Config
}

// TableConfig is one table the section shares.
type TableConfig struct {
	Table *stick.Table
	// WireName is the table's name in the protocol: a proxy's table's
	// own name, "/NAME" for a peers section's 'table NAME'.
	WireName string
	// ExplicitLen: a string table's "len" was given (its key size on the
	// wire is then len+1, as HAProxy's).
	ExplicitLen bool
}

// Config is a "peers" section as the process runs it.
type Config struct {
	Name  string
	Local string // this process's peer name (localpeer, -L, the host name)
	Bind  string // where the local peer listens; "" for nowhere
	// ServerTLS, when set, is the TLS the local peer's listener speaks.
	ServerTLS *tls.Config
	Peers     []PeerConfig
	Tables    []TableConfig
	// Synced says the tables already hold what the peers know (a reload
	// in process): no peer is asked for a lesson.
	Synced bool
	// Logf reports session events; nil discards them.
	Logf func(format string, args ...any)
	// Debugf reports each session's start and end and the collisions
	// (both peers connecting at once); nil discards them.
	Debugf func(format string, args ...any)
}

// shared is a local table as the section shares it.
type shared struct {
	id       uint64 // the table's id in this process's definitions (1..)
	t        *stick.Table
	def      *tableDef
	types    []stick.DataType // by wire type; meaningful where def.has
	stickOf  [len(wireTypes)]stick.DataType
	stickOK  [len(wireTypes)]bool
	maxKey   int
	maxDirty int // changed keys remembered per peer before pushing the whole table
	// quiet: a stream's end within this time of the entry's last push
	// to a peer is not pushed to it (peer.streamEndDue): a second, or a
	// tenth of the table's expiry when that is shorter.
	quiet    time.Duration
	wireName string
}

// Section runs one peers section: a listener, a connector per remote
// peer, and the sessions between them.
type Section struct {
	cfg    Config
	tables []*shared
	peers  []*peer // configuration order; the local one included
	ln     net.Listener

	mu          sync.Mutex
	synced      bool
	learner     *peer
	notUpToDate map[*peer]bool
	resyncBy    time.Time
	lastChange  time.Time

	epoch      time.Time // Section.clock's origin
	done       chan struct{}
	wg         sync.WaitGroup
	started    bool
	taken      atomic.Bool   // the listener went to the next section
	acceptDone chan struct{} // closed when the accept loop ends
}

// New checks a section's configuration and installs the change hooks;
// Start connects.
func New(cfg Config) (*Section, error) {
	s := &Section{cfg: cfg, notUpToDate: map[*peer]bool{}, done: make(chan struct{}), synced: cfg.Synced, lastChange: time.Now(), epoch: time.Now()}
	localSeen := false
	for _, pc := range cfg.Peers {
		p := &peer{s: s, name: pc.Name, addr: pc.Addr, tls: pc.TLS, local: pc.Name == cfg.Local, ev: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
		if p.local {
			localSeen = true
		} else if pc.Addr == "" {
			return nil, fmt.Errorf("peers section '%s': peer '%s' has no address", cfg.Name, pc.Name)
		}
		s.peers = append(s.peers, p)
	}
	if !localSeen && len(cfg.Peers) > 0 {
		return nil, fmt.Errorf("peers section '%s': no peer is named '%s', the local peer name", cfg.Name, cfg.Local)
	}
	for i, tc := range cfg.Tables {
		sh := &shared{id: uint64(i + 1), t: tc.Table, wireName: tc.WireName, maxKey: tc.Table.Config().KeyLen,
			maxDirty: max(2*tc.Table.Config().Size, 1024), quiet: time.Second}
		if exp := tc.Table.Config().Expire; exp > 0 && exp/10 < sh.quiet {
			sh.quiet = exp / 10
		}
		sh.def, sh.types = localDef(sh.id, tc.WireName, tc.Table, tc.ExplicitLen)
		for n, w := range wireTypes {
			if dt, ok := stick.ParseDataType(w.name); ok && tc.Table.Words(dt) > 0 {
				sh.stickOf[n], sh.stickOK[n] = dt, true
			}
		}
		s.tables = append(s.tables, sh)
	}
	for _, p := range s.peers {
		p.dirty = make([]map[string]bool, len(s.tables))
		p.full = make([]bool, len(s.tables))
		p.inflight = make([]map[string]int, len(s.tables))
		p.pushed = make([]map[string]time.Duration, len(s.tables))
		p.pushLog = make([][]pushRec, len(s.tables))
		for i := range p.dirty {
			p.dirty[i] = map[string]bool{}
			p.inflight[i] = map[string]int{}
			p.pushed[i] = map[string]time.Duration{}
		}
	}
	return s, nil
}

// MarkSynced says the tables already hold what the peers know (they were
// carried over by a reload): no lesson is asked. Before Start.
func (s *Section) MarkSynced() {
	s.mu.Lock()
	s.synced = true
	s.mu.Unlock()
}

// Tables returns the tables the section shares.
func (s *Section) Tables() []*stick.Table {
	out := make([]*stick.Table, len(s.tables))
	for i, sh := range s.tables {
		out[i] = sh.t
	}
	return out
}

// Name returns the section's name.
func (s *Section) Name() string { return s.cfg.Name }

// BindAddr returns the address the local peer listens on.
func (s *Section) BindAddr() string { return s.cfg.Bind }

// Listen binds the local peer's address (nothing without one); ln, when
// not nil, is a listener taken over from the section this one replaces.
func (s *Section) Listen(ln net.Listener) error {
	if s.cfg.Bind == "" {
		if ln != nil {
			ln.Close()
		}
		return nil
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Bind); err != nil {
			return fmt.Errorf("peers section '%s': cannot bind %s: %v", s.cfg.Name, s.cfg.Bind, err)
		}
	}
	s.ln = ln
	return nil
}

// TakeListener hands the section's listener to its successor, which
// binds the same address: this section's accept loop ends (a deadline in
// the past wakes it) and it no longer closes the socket.
func (s *Section) TakeListener() net.Listener {
	ln := s.ln
	if ln == nil {
		return nil
	}
	s.ln = nil
	s.taken.Store(true)
	if s.acceptDone != nil {
		if dl, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
			dl.SetDeadline(time.Now().Add(-time.Second))
			<-s.acceptDone
			dl.SetDeadline(time.Time{})
		}
	}
	return ln
}

// Start installs the change hooks, accepts and connects.
func (s *Section) Start() {
	s.mu.Lock()
	s.started = true
	s.resyncBy = time.Now().Add(resyncTimeout)
	s.mu.Unlock()
	for i, sh := range s.tables {
		i := i
		sh.t.SetOnChange(func(key string, data bool) { s.changed(i, key, data) })
	}
	if s.ln != nil {
		s.wg.Add(1)
		s.acceptDone = make(chan struct{})
		go s.acceptLoop(s.ln)
	}
	for _, p := range s.peers {
		if !p.local {
			s.wg.Add(1)
			go p.connectLoop()
		}
	}
}

// Stop ends every session and the listener (unless taken over) and
// removes the change hooks it installed.
func (s *Section) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	for _, sh := range s.tables {
		sh.t.SetOnChange(nil)
	}
	if s.ln != nil {
		s.ln.Close()
	}
	for _, p := range s.peers {
		p.mu.Lock()
		if p.sess != nil {
			p.sess.close()
		}
		p.mu.Unlock()
	}
	s.wg.Wait()
}

func (s *Section) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *Section) debugf(format string, args ...any) {
	if s.cfg.Debugf != nil {
		s.cfg.Debugf(format, args...)
	}
}

// clock is the section's monotonic time.
func (s *Section) clock() time.Duration { return time.Since(s.epoch) }

// changed is the tables' hook: every remote peer will push key (a
// stream's end, data false, only when streamEndDue).
func (s *Section) changed(table int, key string, data bool) {
	var now time.Duration
	if !data {
		now = s.clock()
	}
	for _, p := range s.peers {
		if p.local {
			continue
		}
		p.dmu.Lock()
		if !data && !p.streamEndDue(table, key, now) {
			p.dmu.Unlock()
			continue
		}
		if m := p.dirty[table]; len(m) < s.tables[table].maxDirty {
			m[key] = m[key] || data
		} else {
			// More changed keys than the table holds (a peer away for
			// long): push the whole table instead of keeping them all.
			p.full[table] = true
			p.dirty[table] = map[string]bool{}
		}
		p.dmu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

func (s *Section) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	defer close(s.acceptDone)
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.taken.Load() {
				return
			}
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go s.serveIncoming(c)
	}
}

// isSynced reports whether this process holds what its peers know: it
// was taught, or nobody could teach it within the resync timeout.
func (s *Section) isSyncedLocked() bool {
	if !s.synced && s.learner == nil && s.started && time.Now().After(s.resyncBy) {
		s.synced = true
	}
	return s.synced
}

// assign makes p the peer this process learns from if it needs a lesson
// and nobody gives one; it reports whether p must be asked.
func (s *Section) assign(p *peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isSyncedLocked() || s.learner != nil || s.notUpToDate[p] {
		return false
	}
	s.learner = p
	return true
}

// learned records the end of a lesson from p: finished, or partial (p
// did not know everything: ask another).
func (s *Section) learned(p *peer, finished bool) {
	s.mu.Lock()
	if s.learner == p {
		s.learner = nil
		if finished {
			s.synced = true
			s.lastChange = time.Now()
		} else {
			s.notUpToDate[p] = true
			s.resyncBy = time.Now().Add(resyncTimeout)
		}
	}
	s.mu.Unlock()
	if !finished {
		s.reassign()
	}
}

// lost records the end of p's session: if p was teaching, another
// connected peer is asked.
func (s *Section) lost(p *peer) {
	s.mu.Lock()
	was := s.learner == p
	if was {
		s.learner = nil
		s.resyncBy = time.Now().Add(resyncTimeout)
	}
	s.mu.Unlock()
	if was {
		s.reassign()
	}
}

// reassign asks a connected peer for the lesson still needed.
func (s *Section) reassign() {
	for _, p := range s.peers {
		p.mu.Lock()
		ss := p.sess
		p.mu.Unlock()
		if ss != nil && !p.local && s.assign(p) {
			ss.requestResync()
			return
		}
	}
}

func jitter(min, spread time.Duration) time.Duration {
	return min + time.Duration(rand.Int64N(int64(spread)))
}

package peers

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// peer is one peer of the section: its session, if any, what remains to
// push to it, and the counters "show peers" prints.
type peer struct {
	s     *Section
	name  string
	addr  string
	tls   *tls.Config // nil: plain TCP
	local bool

	ev   chan struct{} // a session ended
	wake chan struct{} // entries to push

	dmu   sync.Mutex
	dirty []map[string]bool // per table: keys to push, true when shared data changed
	full  []bool            // per table: too many to remember, push every entry
	// inflight: per table, keys with changed data a writer took to push
	// and has not yet recorded as sent (by count: an old and a new
	// session may both).
	inflight []map[string]int
	// pushed: per table, when each key's entry was last pushed to p
	// (Section.clock), within the table's quiet window; pushLog holds
	// the same in push order, to forget them (streamEndDue).
	pushed  []map[string]time.Duration
	pushLog [][]pushRec

	mu          sync.Mutex
	sess        *session
	status      int // last handshake status; 0 never
	lastHdshk   time.Time
	reconnectAt time.Time
	txHbt       uint32
	rxHbt       uint32
	noHbt       uint32
	newConn     uint32
	protoErr    uint32
	coll        uint32
}

// takeDirty returns table i's keys to push and starts a new set; all is
// set when every entry of the table must be pushed instead. data holds
// the keys whose shared data changed: they stay in flight (pending)
// until sent calls them done.
func (p *peer) takeDirty(i int) (keys []string, data map[string]bool, all bool) {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	if p.full[i] {
		p.full[i] = false
		p.dirty[i] = map[string]bool{}
		return nil, nil, true
	}
	m := p.dirty[i]
	if len(m) == 0 {
		return nil, nil, false
	}
	p.dirty[i] = map[string]bool{}
	keys = make([]string, 0, len(m))
	data = map[string]bool{}
	for k, d := range m {
		keys = append(keys, k)
		if d {
			data[k] = true
			p.inflight[i][k]++
		}
	}
	return keys, data, false
}

// sent ends the flight of keys takeDirty returned: each was pushed (and
// is unacknowledged), gone, or requeued.
func (p *peer) sent(i int, data map[string]bool) {
	p.dmu.Lock()
	for k := range data {
		if p.inflight[i][k] <= 1 {
			delete(p.inflight[i], k)
		} else {
			p.inflight[i][k]--
		}
	}
	p.dmu.Unlock()
}

// pending reports whether table i's key has a local change of its
// shared data not yet pushed to p: dirty or being pushed. With the whole
// table due (full), single keys are not known and none is reported.
func (p *peer) pending(i int, key string) bool {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	return p.dirty[i][key] || p.inflight[i][key] > 0
}

// pushRec is one push of a key, at a time of Section.clock.
type pushRec struct {
	key string
	at  time.Duration
}

// recordPush remembers that table i's key was pushed at now, forgetting
// the pushes older than the table's quiet window (and remembering none
// past maxDirty of them: their stream ends are then pushed).
func (p *peer) recordPush(i int, key string, now time.Duration) {
	quiet := p.s.tables[i].quiet
	p.dmu.Lock()
	defer p.dmu.Unlock()
	l := p.pushLog[i]
	n := 0
	for n < len(l) && now-l[n].at >= quiet {
		if p.pushed[i][l[n].key] == l[n].at {
			delete(p.pushed[i], l[n].key)
		}
		n++
	}
	l = l[n:]
	if len(l) >= p.s.tables[i].maxDirty {
		p.pushLog[i] = l
		return
	}
	p.pushLog[i] = append(l, pushRec{key, now})
	p.pushed[i][key] = now
}

// streamEndDue reports whether a stream's end (conn_cur and the expiry
// only, data false) must push table i's key to p; with p.dmu held. Not
// when the entry went to p within the quiet window and is not due
// anyway: its push would tell p nothing (conn_cur is never learned, and
// the expiry there is at most the window short of ours), but a push that
// crosses p's own next change of the entry rolls that change back (an
// update replaces the whole entry; HAProxy has no guard against it), and
// a client alternating between the peers does exactly that: it sends its
// next request to p as soon as the response leaves, before the stream
// has ended here.
func (p *peer) streamEndDue(i int, key string, now time.Duration) bool {
	if _, due := p.dirty[i][key]; due || p.full[i] {
		return true
	}
	at, ok := p.pushed[i][key]
	return !ok || now-at >= p.s.tables[i].quiet
}

// requeue marks keys to push again (sent on a session that ended before
// the peer acknowledged them).
func (p *peer) requeue(i int, keys []string) {
	p.dmu.Lock()
	for _, k := range keys {
		if len(p.dirty[i]) >= p.s.tables[i].maxDirty {
			p.full[i] = true
			p.dirty[i] = map[string]bool{}
			break
		}
		if !p.dirty[i][k] {
			p.dirty[i][k] = false // pushed again, no longer known as pending
		}
	}
	p.dmu.Unlock()
}

// connectLoop keeps a session with a remote peer: it connects whenever
// there is none, after a delay that grows while connecting fails.
func (p *peer) connectLoop() {
	defer p.s.wg.Done()
	backoff := minBackoff
	for {
		p.mu.Lock()
		busy := p.sess != nil
		wait := time.Until(p.reconnectAt)
		p.mu.Unlock()
		if busy {
			select {
			case <-p.s.done:
				return
			case <-p.ev:
			}
			continue
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-p.s.done:
				t.Stop()
				return
			case <-p.ev: // an accepted session came and went: look again
				t.Stop()
			case <-t.C:
			}
			continue
		}
		ok := p.connect()
		p.mu.Lock()
		if ok {
			backoff = minBackoff
		} else {
			p.reconnectAt = time.Now().Add(jitter(backoff, backoff/2))
			backoff = min(backoff*2, maxBackoff)
		}
		p.mu.Unlock()
	}
}

// connect dials the peer, says hello and runs the session until it ends;
// it reports whether the handshake succeeded.
func (p *peer) connect() bool {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	go func() {
		select {
		case <-p.s.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.addr)
	cancel()
	if err != nil {
		p.mu.Lock()
		p.status = 100 // HAProxy's CONNECTCODE: the connection did not complete
		p.mu.Unlock()
		return false
	}
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if p.tls != nil {
		tc := tls.Client(c, p.tls)
		if err := tc.Handshake(); err != nil {
			p.s.logf("peers '%s': TLS with peer '%s': %v", p.s.cfg.Name, p.name, err)
			c.Close()
			p.mu.Lock()
			p.status = 110 // connected, no protocol status
			p.mu.Unlock()
			return false
		}
		c = tc
	}
	hello := fmt.Sprintf("%s %d.%d\n%s\n%s %d 1\n", protoName, majorVersion, minorVersion, p.name, p.s.cfg.Local, os.Getpid())
	br := bufio.NewReaderSize(c, 4096)
	var code int
	if _, err = c.Write([]byte(hello)); err == nil {
		var line string
		if line, err = readLine(br); err == nil {
			code, err = strconv.Atoi(line)
		}
	}
	p.mu.Lock()
	if err != nil {
		p.status = 110 // connected, no valid status
	} else {
		p.status = code
	}
	p.lastHdshk = time.Now()
	p.mu.Unlock()
	if err != nil || code != statusSuccess {
		if err == nil {
			p.s.logf("peers '%s': peer '%s' refused the session: status %d", p.s.cfg.Name, p.name, code)
		}
		c.Close()
		return false
	}
	c.SetDeadline(time.Time{})
	p.run(c, br)
	return true
}

// serveIncoming reads a peer's hello and runs its session.
func (s *Section) serveIncoming(c net.Conn) {
	defer s.wg.Done()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if s.cfg.ServerTLS != nil {
		tc := tls.Server(c, s.cfg.ServerTLS)
		if err := tc.Handshake(); err != nil {
			s.logf("peers '%s': TLS handshake from %s: %v", s.cfg.Name, c.RemoteAddr(), err)
			c.Close()
			return
		}
		c = tc
	}
	br := bufio.NewReaderSize(c, 4096)
	p, code := s.readHello(br)
	if p != nil && p.local {
		// A local old process teaching a new one; HAProxy answers "try
		// again" while one already does.
		p.mu.Lock()
		if p.sess != nil {
			code = statusTryAgain
		}
		p.mu.Unlock()
	}
	fmt.Fprintf(c, "%d\n", code)
	if code != statusSuccess {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	p.mu.Lock()
	p.status = statusSuccess
	p.lastHdshk = time.Now()
	p.mu.Unlock()
	p.run(c, br)
}

// readHello checks the three hello lines; it returns the peer and 200,
// or the status code that refuses the session.
func (s *Section) readHello(br *bufio.Reader) (*peer, int) {
	line, err := readLine(br)
	if err != nil {
		return nil, statusErrProto
	}
	ver, ok := strings.CutPrefix(line, protoName+" ")
	if !ok {
		return nil, statusErrProto
	}
	maj, mnr, ok := strings.Cut(ver, ".")
	mj, err1 := strconv.ParseUint(maj, 10, 32)
	mn, err2 := strconv.ParseUint(mnr, 10, 32)
	if !ok || err1 != nil || err2 != nil || mj != majorVersion || mn > minorVersion {
		return nil, statusErrVersion
	}
	if line, err = readLine(br); err != nil {
		return nil, statusErrProto
	}
	if line != s.cfg.Local {
		return nil, statusErrHost
	}
	if line, err = readLine(br); err != nil {
		return nil, statusErrProto
	}
	name, _, ok := strings.Cut(line, " ")
	if !ok {
		return nil, statusErrProto
	}
	for _, p := range s.peers {
		if p.name == name {
			return p, statusSuccess
		}
	}
	return nil, statusErrPeer
}

// readLine reads a handshake line (CRLF or LF), at most maxLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxLine {
			return "", fmt.Errorf("peers: handshake line over %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// run registers a session for the peer (the newest wins, as in HAProxy:
// two peers connecting to each other at once end with one session) and
// runs it until it ends.
func (p *peer) run(c net.Conn, br *bufio.Reader) {
	ss := newSession(p, c, br)
	p.mu.Lock()
	select {
	case <-p.s.done:
		p.mu.Unlock()
		c.Close()
		return
	default:
	}
	if old := p.sess; old != nil {
		old.close()
		p.coll++
		p.s.debugf("peers '%s': a new session with '%s' (%s -> %s) replaces the one in place (a collision)", p.s.cfg.Name, p.name, c.RemoteAddr(), c.LocalAddr())
	}
	p.s.debugf("peers '%s': session with '%s' established (%s -> %s)", p.s.cfg.Name, p.name, c.RemoteAddr(), c.LocalAddr())
	p.sess = ss
	p.newConn++
	p.mu.Unlock()
	ss.serve()
	p.mu.Lock()
	if p.sess == ss {
		p.sess = nil
		// HAProxy waits 50 ms to 2 s before connecting again after a
		// session ends, so two peers do not keep killing each other's.
		p.reconnectAt = time.Now().Add(jitter(50*time.Millisecond, 2*time.Second))
	}
	p.mu.Unlock()
	p.s.lost(p)
	select {
	case p.ev <- struct{}{}:
	default:
	}
}

// Package runtimeapi serves HAProxy's runtime API ("stats socket") on a
// unix socket: its line protocol, access levels and the commands a
// platform team uses to watch and drain servers (show stat, show info,
// show servers state, set server, disable/enable server).
//
// The package is engine-neutral: the app implements Target.
//
// # Reloads
//
// A reload must not leave a moment where the socket path answers nothing.
// The owner keeps one Server per path across reloads and points it at the
// new configuration with Update, as the proxy listeners keep their sockets:
// the listening socket never closes, and every session, even one opened
// before the reload, runs each command on the configuration current then.
// Listen binds a private name next to the path ("PATH.PID.N.tmp") and
// renames it over PATH, so a stale socket file is replaced atomically;
// Close removes PATH only while PATH is still its own socket, so it never
// unlinks another server's.
package runtimeapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Level is an access level of the runtime API.
type Level uint8

const (
	LevelUser     Level = iota // read-only, no sensitive data
	LevelOperator              // read-only plus non-sensitive changes
	LevelAdmin                 // everything
)

// ParseLevel reads "user", "operator" or "admin"; "" is HAProxy's default,
// operator.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "user":
		return LevelUser, nil
	case "", "operator":
		return LevelOperator, nil
	case "admin":
		return LevelAdmin, nil
	}
	return 0, fmt.Errorf("'level' only supports 'user', 'operator', and 'admin' (got '%s')", s)
}

func (l Level) String() string { return [...]string{"user", "operator", "admin"}[l] }

// DefaultTimeout is how long an idle client may stay connected ("stats
// timeout", 10s by default).
const DefaultTimeout = 10 * time.Second

// DefaultMaxConn is how many sessions a socket serves at once ("stats
// maxconn", 10 by default); more wait in the system's backlog.
const DefaultMaxConn = 10

// Options configure one socket.
type Options struct {
	Level   Level
	Mode    os.FileMode   // 0: leave the umask's mode
	Owner   *Owner        // owner of a unix socket file; nil: the process's
	Timeout time.Duration // idle timeout; 0: DefaultTimeout
	MaxConn int           // concurrent sessions; 0: DefaultMaxConn
}

// Owner is a socket file's owner and group ("user", "group"); -1 leaves
// one unchanged.
type Owner struct{ UID, GID int }

// apply applies o's mode and owner to a unix socket file.
func (o Options) apply(path string) error {
	if o.Mode != 0 {
		if err := os.Chmod(path, o.Mode); err != nil {
			return err
		}
	}
	if o.Owner != nil {
		if err := os.Chown(path, o.Owner.UID, o.Owner.GID); err != nil {
			return err
		}
	}
	return nil
}

// Server is one listening runtime API socket.
type Server struct {
	path string // the unix socket's path; "" for TCP
	ln   net.Listener
	id   os.FileInfo // the socket file we own, for Close
	cur  atomic.Pointer[binding]

	wg     sync.WaitGroup
	mu     sync.Mutex
	free   *sync.Cond             // on mu: a session ended or the server closed
	conns  map[net.Conn]time.Time // open sessions, by their start
	closed atomic.Bool
}

// binding is what a command runs against; Update swaps it.
type binding struct {
	target Target
	opts   Options
}

// Listen binds path for t and starts serving. A stale socket file at path
// is replaced; a regular file or a directory there is an error.
func Listen(path string, t Target, o Options) (*Server, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("%s exists and is not a socket", path)
	}
	tmp := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), time.Now().UnixNano())
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*Server, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := o.apply(tmp); err != nil {
		return fail(err)
	}
	id, err := os.Stat(tmp)
	if err != nil {
		return fail(err)
	}
	// The atomic hand-over: from here on, connections to path reach us.
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return start(path, ln, id, t, o), nil
}

// ListenTCP serves the runtime API on a TCP address ("stats socket
// ipv4@ADDR:PORT"); network is "tcp", "tcp4" or "tcp6".
func ListenTCP(network, addr string, t Target, o Options) (*Server, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return start("", ln, nil, t, o), nil
}

func start(path string, ln net.Listener, id os.FileInfo, t Target, o Options) *Server {
	s := &Server{path: path, ln: ln, id: id, conns: map[net.Conn]time.Time{}}
	s.free = sync.NewCond(&s.mu)
	s.cur.Store(newBinding(t, o))
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// Addr is the socket's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

func newBinding(t Target, o Options) *binding {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConn <= 0 {
		o.MaxConn = DefaultMaxConn
	}
	return &binding{target: t, opts: o}
}

// Update points the socket at a new configuration (a reload) without
// closing it: commands from then on, on new and open sessions alike, run
// against t with o's level; o's mode and owner are applied to the socket
// file, o's limit to the sessions accepted from then on.
func (s *Server) Update(t Target, o Options) error {
	s.cur.Store(newBinding(t, o))
	s.mu.Lock()
	s.free.Broadcast() // a raised maxconn lets waiting clients in
	s.mu.Unlock()
	if s.path == "" {
		return nil
	}
	return o.apply(s.path)
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops accepting, closes the open sessions, waits for them, and
// removes the socket file unless a successor has taken the path over.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.free.Broadcast()
	s.mu.Unlock()
	s.wg.Wait()
	if s.path == "" {
		return err
	}
	if fi, statErr := os.Stat(s.path); statErr == nil && os.SameFile(fi, s.id) {
		os.Remove(s.path)
	}
	return err
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		// At maxconn, leave the next client in the system's backlog, as
		// HAProxy's listener does, until a session ends.
		s.mu.Lock()
		for len(s.conns) >= s.cur.Load().opts.MaxConn && !s.closed.Load() {
			s.free.Wait()
		}
		s.mu.Unlock()
		c, err := s.ln.Accept()
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: back off
			continue
		}
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = time.Now()
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.free.Broadcast()
		s.mu.Unlock()
	}()
	sess := &session{srv: s}
	sess.serve(c)
}

// session is one client connection: non-interactive by default (one
// request line, then close), interactive after "prompt".
type session struct {
	srv    *Server
	target Target // the server's binding, read again before each line
	level  Level
	prompt bool
	quit   bool
	// payload: the lines after a command ending with "<<", up to an empty
	// line (add map); hasPayload tells an empty payload from none.
	payload    string
	hasPayload bool
}

// maxPayload is HAProxy's default tune.cli.max-payload-size.
const maxPayload = 128 << 10

func (ss *session) serve(c net.Conn) {
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for {
		c.SetReadDeadline(time.Now().Add(ss.srv.cur.Load().opts.Timeout))
		line, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return
		}
		b := ss.srv.cur.Load()
		ss.target, ss.level = b.target, b.opts.Level
		line = strings.TrimRight(line, "\r\n")
		ss.payload, ss.hasPayload = "", false
		if cmd, ok := payloadStart(line); ok {
			p, err := ss.readPayload(c, br, bw)
			if err != nil {
				return
			}
			line, ss.payload, ss.hasPayload = cmd, p, true
		}
		ss.runLine(bw, line)
		if bw.Flush() != nil || ss.quit {
			return
		}
		// Without prompt, the connection closes once the commands sent
		// so far are answered (pipelined lines still run).
		if !ss.prompt && !hasLine(br) {
			return
		}
	}
}

// payloadStart reports whether line announces a payload: it ends with
// "<<" apart from the last word, as HAProxy 2.6 reads it.
func payloadStart(line string) (string, bool) {
	if line == "<<" {
		return "", true
	}
	if strings.HasSuffix(line, " <<") || strings.HasSuffix(line, "\t<<") {
		return line[:len(line)-2], true
	}
	return line, false
}

// readPayload reads lines up to an empty one ("+ " prompts each in
// interactive mode); a payload over maxPayload ends the session.
func (ss *session) readPayload(c net.Conn, br *bufio.Reader, bw *bufio.Writer) (string, error) {
	var p strings.Builder
	for {
		if ss.prompt {
			bw.WriteString("+ ")
			if err := bw.Flush(); err != nil {
				return "", err
			}
		}
		c.SetReadDeadline(time.Now().Add(ss.srv.cur.Load().opts.Timeout))
		line, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return p.String(), nil
		}
		if p.Len()+len(line)+1 > maxPayload {
			bw.WriteString("Payload too big.\n\n")
			bw.Flush()
			return "", errors.New("payload too big")
		}
		p.WriteString(line)
		p.WriteByte('\n')
		if err == io.EOF {
			return p.String(), nil
		}
	}
}

// hasLine reports whether a full line is already buffered.
func hasLine(br *bufio.Reader) bool {
	n := br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := br.Peek(n)
	return strings.IndexByte(string(b), '\n') >= 0
}

// runLine runs the ';'-separated commands of one line; each answer ends
// with an empty line, followed by the prompt in interactive mode.
func (ss *session) runLine(w *bufio.Writer, line string) {
	cmds := splitCommands(line)
	if len(cmds) == 0 && ss.prompt {
		w.WriteString("\n> ")
		return
	}
	payload, has := ss.payload, ss.hasPayload
	for i, args := range cmds {
		if len(args) == 0 {
			continue
		}
		// the payload belongs to the line's last command
		ss.payload, ss.hasPayload = "", false
		if i == len(cmds)-1 {
			ss.payload, ss.hasPayload = payload, has
		}
		ss.run(w, args)
		if ss.quit {
			return
		}
		if ss.prompt {
			w.WriteString("\n> ")
		} else {
			w.WriteString("\n")
		}
	}
}

// splitCommands splits a line into commands (';') and words (spaces and
// tabs); a backslash escapes the next character.
func splitCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; ch {
		case '\\':
			if i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
				inWord = true
			}
		case ' ', '\t':
			endWord()
		case ';':
			endWord()
			cmds = append(cmds, words)
			words = nil
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	endWord()
	if len(words) > 0 {
		cmds = append(cmds, words)
	}
	return cmds
}

package logging

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Options are the process-wide settings of a Logger.
type Options struct {
	// Tag is the syslog tag; "" means "gatehouse" (global "log-tag"
	// overrides it).
	Tag string
	// Hostname is the syslog HOSTNAME field. Empty omits it from rfc3164
	// headers (HAProxy without "log-send-hostname") and writes "-" in
	// rfc5424 ones.
	Hostname string
	// PID is the process id shown in headers; 0 means os.Getpid().
	PID int
	// QueueLen is the number of messages each target buffers before it
	// drops; 0 means 1024.
	QueueLen int
	// Stdout and Stderr replace the process streams (tests).
	Stdout, Stderr io.Writer
	// Now replaces time.Now (tests).
	Now func() time.Time
	// Rings are the "ring" sections "log ring@<name>" targets name.
	Rings map[string]*Ring
	// MaxLen is the largest "len" of the configuration's "log" lines
	// (DefaultLen for one without it; 0: no bound). HAProxy 2.6 builds a
	// message in a buffer of that size, its NUL included, so a message
	// keeps at most MaxLen-1 bytes before any target's own cut: visible
	// on a "raw" target, which has no header (global.max_syslog_len).
	MaxLen int
}

// DefaultLen is the maximum line length of a target without "len".
const DefaultLen = 1024

// Logger sends messages to a proxy's log targets. Log never blocks: each
// target has a bounded queue drained by its own goroutine, and a message
// that finds the queue full is dropped and counted. A Logger with no
// targets discards everything.
type Logger struct {
	targets []*target
	msgMax  int // Options.MaxLen-1: a message's bytes kept, 0 unbounded
	now     func() time.Time
	closed  sync.Once
}

// target is one "log" line at run time.
type target struct {
	name     string
	hdr      header
	maxLevel Level
	minLevel Level
	maxLen   int
	stream   bool // stdout/stderr: "len" counts the '\n' that ends every line
	addr     targetAddr
	opts     *Options
	pos      config.Pos
	started  bool
	// fwdFormat frames forwarded messages: the "format" given, or
	// formatUnspec to keep the received one (a ring's own format).
	fwdFormat LogFormat

	queue chan *entry // messages waiting to be written
	free  chan *entry // recycled entries; an empty free list means full
	quit  chan struct{}
	done  chan struct{}

	dropped atomic.Uint64
	errors  atomic.Uint64
	sent    atomic.Uint64
}

type entry struct {
	when  time.Time
	level Level
	sd    []byte
	msg   []byte
	// A forwarded message (forward.go): its fields and body point into
	// msg; facility is the one it goes out with.
	fwd      bool
	facility int
	meta     Meta
	body     []byte
}

// TargetStats are the counters of one target.
type TargetStats struct {
	Target  string
	Sent    uint64 // messages written
	Dropped uint64 // messages dropped because the queue was full
	Errors  uint64 // messages lost to write errors
}

// NewLogger builds the targets of logs and starts their goroutines. Errors
// are config.Diag values at the offending "log" line.
func NewLogger(logs []*config.Log, opts Options) (*Logger, error) {
	o := opts
	if o.Tag == "" {
		o.Tag = "gatehouse"
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 1024
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Logger{now: o.Now, msgMax: max(o.MaxLen-1, 0)}
	for _, lg := range logs {
		t, err := newTarget(lg, &o)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.targets = append(l.targets, t)
	}
	for _, t := range l.targets {
		c, err := t.addr.dial(t.opts)
		if err != nil && t.addr.kind != targetUnixgram {
			l.Close()
			return nil, config.Errorf(t.pos, "log: cannot open target '%s' : %v", t.name, err)
		}
		t.started = true
		go drainTarget(t, c)
	}
	return l, nil
}

func newTarget(lg *config.Log, o *Options) (*target, error) {
	ta, err := parseTarget(lg.Target)
	if err != nil {
		return nil, config.Errorf(lg.Pos, "log: %v", err)
	}
	t := &target{name: lg.Target, addr: ta, opts: o, pos: lg.Pos, maxLevel: LevelDebug, minLevel: LevelEmerg,
		maxLen: DefaultLen, stream: ta.kind == targetStdout || ta.kind == targetStderr}
	t.hdr = header{hostname: o.Hostname, tag: o.Tag, pid: o.PID, facility: 16}
	var ok bool
	if t.hdr.format, ok = ParseLogFormat(lg.Format); !ok {
		return nil, config.Errorf(lg.Pos, "log: unknown log format '%s' (expected raw, rfc3164, rfc5424, local, short, priority, timed or iso)", lg.Format)
	}
	if lg.Facility != "" {
		if t.hdr.facility, ok = ParseFacility(lg.Facility); !ok {
			return nil, config.Errorf(lg.Pos, "log: unknown log facility '%s'", lg.Facility)
		}
	}
	if lg.Level != "" {
		if t.maxLevel, ok = ParseLevel(lg.Level); !ok {
			return nil, config.Errorf(lg.Pos, "log: unknown optional log level '%s'", lg.Level)
		}
	}
	if lg.MinLevel != "" {
		if t.minLevel, ok = ParseLevel(lg.MinLevel); !ok {
			return nil, config.Errorf(lg.Pos, "log: unknown optional minimum log level '%s'", lg.MinLevel)
		}
	}
	if lg.Len > 0 {
		t.maxLen = lg.Len
	}
	t.fwdFormat = formatUnspec
	if lg.FormatSet {
		t.fwdFormat = t.hdr.format
	}
	if ta.kind == targetRing {
		r := o.Rings[ta.addr]
		if r == nil {
			return nil, config.Errorf(lg.Pos, "log server uses unknown ring named '%s'.", ta.addr)
		}
		// The ring's format and maxlen apply, as HAProxy's sink_write.
		t.hdr.format, t.fwdFormat = r.o.Format, r.o.Format
		t.maxLen = min(t.maxLen, r.o.MaxLen)
	}
	t.queue = make(chan *entry, o.QueueLen)
	t.free = make(chan *entry, o.QueueLen)
	for range o.QueueLen {
		t.free <- &entry{}
	}
	t.quit = make(chan struct{})
	t.done = make(chan struct{})
	return t, nil
}

// Enabled reports whether some target takes messages of level, so callers
// can skip building a line nobody wants.
func (l *Logger) Enabled(level Level) bool {
	for _, t := range l.targets {
		if level <= t.maxLevel {
			return true
		}
	}
	return false
}

// Log queues msg on every target whose level accepts it. msg is copied
// (up to the target's len), so the caller may reuse it at once. Traffic
// logs use LevelInfo.
func (l *Logger) Log(level Level, msg []byte) { l.LogSD(level, nil, msg) }

// LogSD is Log with RFC 5424 structured data (the "log-format-sd" line);
// other formats ignore sd.
func (l *Logger) LogSD(level Level, sd, msg []byte) {
	if len(l.targets) == 0 {
		return
	}
	if l.msgMax > 0 {
		msg = msg[:min(len(msg), l.msgMax)]
		sd = sd[:min(len(sd), l.msgMax)]
	}
	now := l.now()
	for _, t := range l.targets {
		t.enqueue(now, level, sd, msg)
	}
}

// Printf formats a system message (startup, server state changes) and
// logs it like Log. HAProxy's levels: notice for "Proxy X started.",
// warning/alert for servers going down (see Level). Arguments may carry
// client input (a refused login's error_description, a handshake error),
// so control characters are '#XX'-encoded: one message, one line.
func (l *Logger) Printf(level Level, format string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	l.Log(level, escapeCtlInPlace(fmt.Appendf(nil, format, args...), 0))
}

func (t *target) enqueue(now time.Time, level Level, sd, msg []byte) {
	if level > t.maxLevel {
		return
	}
	if level < t.minLevel {
		level = t.minLevel
	}
	var e *entry
	select {
	case e = <-t.free:
	default:
		t.dropped.Add(1)
		return
	}
	if len(msg) > t.maxLen {
		msg = msg[:t.maxLen]
	}
	e.when, e.level, e.fwd = now, level, false
	e.msg = append(e.msg[:0], msg...)
	e.sd = append(e.sd[:0], sd...)
	t.queue <- e // never blocks: there are as many entries as queue slots
}

// drainTarget writes a target's queued messages until Close. It is the only
// user of c.
func drainTarget(t *target, c conn) {
	defer close(t.done)
	var line []byte
	write := func(e *entry) {
		// Every line ends with '\n', datagrams too, as HAProxy sends them.
		// "len" bounds a datagram's header and message, the '\n' coming
		// on top; on a stream it bounds the whole line, '\n' included.
		limit := t.maxLen
		if t.stream {
			limit--
		}
		if e.fwd {
			line = appendForwarded(line[:0], t.fwdFormat, int(e.level), e.facility, &e.meta, e.body, e.when, limit)
		} else {
			line = t.hdr.appendFrame(line[:0], e.when, e.level, e.sd, e.msg, limit)
		}
		line = append(line, '\n')
		t.free <- e
		if c == nil {
			var err error
			if c, err = t.addr.dial(t.opts); err != nil {
				c = nil
				t.errors.Add(1)
				return
			}
		}
		// One Write per line: *os.File serializes concurrent writers, so
		// lines from different targets never interleave on stdout.
		if _, err := c.Write(line); err != nil {
			t.errors.Add(1)
			if t.addr.kind == targetUnixgram {
				c.Close()
				c = nil
			}
			return
		}
		t.sent.Add(1)
	}
	for {
		select {
		case e := <-t.queue:
			write(e)
		case <-t.quit:
			for {
				select {
				case e := <-t.queue:
					write(e)
				default:
					if c != nil {
						c.Close()
					}
					return
				}
			}
		}
	}
}

// Stats returns each target's counters.
func (l *Logger) Stats() []TargetStats {
	out := make([]TargetStats, len(l.targets))
	for i, t := range l.targets {
		out[i] = TargetStats{Target: t.name, Sent: t.sent.Load(), Dropped: t.dropped.Load(), Errors: t.errors.Load()}
	}
	return out
}

// Dropped returns the number of messages dropped on full queues, all
// targets together.
func (l *Logger) Dropped() uint64 {
	var n uint64
	for _, t := range l.targets {
		n += t.dropped.Load()
	}
	return n
}

// Close writes what is queued, stops the goroutines and closes the
// connections. Messages logged after Close may be lost.
func (l *Logger) Close() error {
	l.closed.Do(func() {
		for _, t := range l.targets {
			if t.started {
				close(t.quit)
			}
		}
		for _, t := range l.targets {
			if t.started {
				<-t.done
			}
		}
	})
	return nil
}

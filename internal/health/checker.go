package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// DefaultInter is HAProxy's check interval without "inter".
const DefaultInter = 2 * time.Second

// DefaultErrorLimit is HAProxy's "error-limit" default.
const DefaultErrorLimit = 10

// Options configure one server's Checker.
type Options struct {
	Backend   string // proxy name, for log lines
	ProxyType string // "backend", or "proxy" for a listen ("proxy X has no server available!")
	Server    *upstream.Server
	Spec      *Spec
	Target    Target
	// Timing.Inter is the configured "inter" (it bounds checks, whatever
	// interval schedules them); zero means DefaultInter.
	Timing               Timing
	FastInter, DownInter time.Duration
	SpreadChecks         int // global "spread-checks" percent
	SlowStart            time.Duration
	Observe              string // "", "layer4", "layer7"
	ErrorLimit           int
	OnError              string // fastinter, fail-check (default), sudden-death, mark-down
	// Log receives state-change messages at HAProxy's levels; nil drops them.
	Log func(level logging.Level, msg string)
	// Alert receives the same state changes for "email-alert": the
	// message without the log line's final period, as HAProxy's
	// send_email_alert gets it; nil: none.
	Alert func(level logging.Level, msg string)
	// Print receives what HAProxy also prints on stderr, log targets or
	// not: each state change as a warning (ha_warning), and "backend 'X'
	// has no server available!" as an alert (ha_alert); nil: none.
	Print func(alert bool, msg string)
	// LogHealthChecks ("option log-health-checks"): every change of the
	// check's status or health is logged, and state changes then leave
	// the check's details to those lines, as in HAProxy.
	LogHealthChecks bool
}

// Checker runs one server's active checks and applies passive outcomes.
// It owns the server's check health counter and operational state.
type Checker struct {
	o          Options
	srv        *upstream.Server
	rise, fall int

	mu      sync.Mutex // guards health, last, running and the transitions
	health  int
	last    Result
	running bool

	chkFail, hanaFail atomic.Uint64
	consec            atomic.Int32 // consecutive observed errors

	agent *Agent // the server's agent check, nil without "agent-check"

	firstDelay time.Duration
	kick       chan time.Duration // passive health asks for an earlier check
	stop       chan struct{}
	done       chan struct{}
	started    atomic.Bool
	stopOnce   sync.Once
}

// New builds the checker of o.Server. The server starts as HAProxy 2.6
// starts it: UP with its health at rise (so "UP 1/3" until the first check
// passes, and the first failure with fall 1 takes it down), status INI.
func New(o Options) *Checker {
	if o.Timing.Inter <= 0 {
		o.Timing.Inter = DefaultInter
	}
	if o.ErrorLimit <= 0 {
		o.ErrorLimit = DefaultErrorLimit
	}
	if o.OnError == "" {
		o.OnError = "fail-check"
	}
	if o.ProxyType == "" {
		o.ProxyType = "backend"
	}
	s := o.Server
	c := &Checker{
		o: o, srv: s, rise: s.Rise(), fall: s.Fall(),
		health: s.Rise(),
		last:   Result{Status: StatusINI, Duration: -1},
		kick:   make(chan time.Duration, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.SetCheckHealth(c.health)
	// Attached even without "observe": the stats find the checker here.
	s.SetMonitor(c)
	return c
}

// Server returns the checked server.
func (c *Checker) Server() *upstream.Server { return c.srv }

// State is what the stats show of a checker.
type State struct {
	Last     Result
	Running  bool // a check is in progress ("* " before check_status)
	ChkFail  uint64
	HanaFail uint64
	Observe  bool
}

// State returns the latest result and counters.
func (c *Checker) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return State{Last: c.last, Running: c.running, ChkFail: c.chkFail.Load(),
		HanaFail: c.hanaFail.Load(), Observe: c.o.Observe != ""}
}

// Stagger spreads the first checks of cs over the smallest interval of at
// least one second, in order, as HAProxy's start_checks does, so a fleet
// of servers is not checked all at once. maxSpread (max-spread-checks),
// when set, bounds that window, so long intervals do not leave the last
// servers unchecked for long.
func Stagger(cs []*Checker, maxSpread time.Duration) {
	var minInter time.Duration
	for _, c := range cs {
		if in := c.interval(); in >= time.Second && (minInter == 0 || in < minInter) {
			minInter = in
		}
	}
	if maxSpread > 0 && minInter > maxSpread {
		minInter = maxSpread
	}
	for i, c := range cs {
		c.firstDelay = minInter * time.Duration(i) / time.Duration(len(cs))
	}
}

// Start runs the checks on their own goroutine until Stop.
func (c *Checker) Start() {
	if c.started.CompareAndSwap(false, true) {
		go c.loop()
	}
}

// Stop ends the checks, aborting one in progress, and waits for the
// goroutine to exit.
func (c *Checker) Stop() {
	c.stopOnce.Do(func() { close(c.stop) })
	if c.started.Load() {
		<-c.done
	}
}

func (c *Checker) loop() {
	defer close(c.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-c.stop
		cancel()
	}()
	next := time.Now().Add(c.firstDelay)
	t := time.NewTimer(c.firstDelay)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case d := <-c.kick:
			if time.Until(next) > d {
				next = time.Now().Add(d)
				t.Reset(d)
			}
		case <-t.C:
			c.checkOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			d := c.interval() + c.jitter()
			next = time.Now().Add(d)
			t.Reset(d)
		}
	}
}

func (c *Checker) checkOnce(ctx context.Context) {
	if c.srv.ResolutionMaint() {
		return // no address to check: paused, as HAProxy pauses checks in MAINT
	}
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	res := c.o.Spec.Run(ctx, &c.o.Target, c.o.Timing, c.srv.Operational() != upstream.OpDown)
	if ctx.Err() != nil {
		return // stopped mid-check: the result means nothing
	}
	c.apply(res, -1)
}

// interval is HAProxy's srv_getinter: inter at full health, downinter
// while fully down, fastinter while changing state.
func (c *Checker) interval() time.Duration {
	c.mu.Lock()
	h := c.health
	c.mu.Unlock()
	inter := c.o.Timing.Inter
	switch {
	case h == c.rise+c.fall-1:
		return inter
	case h == 0 && c.srv.Operational() == upstream.OpDown:
		if c.o.DownInter > 0 {
			return c.o.DownInter
		}
		return inter
	case c.o.FastInter > 0:
		return c.o.FastInter
	}
	return inter
}

// jitter is spread-checks: a uniform offset of up to ±percent of the interval.
func (c *Checker) jitter() time.Duration {
	if c.o.SpreadChecks <= 0 {
		return 0
	}
	rv := int64(c.interval()) * int64(c.o.SpreadChecks) / 100
	if rv <= 0 {
		return 0
	}
	return time.Duration(rv - rand.Int64N(2*rv+1))
}

// apply counts a result into the health and changes the server's state
// as HAProxy's set_server_check_status and check_notify_* do. setHealth
// >= 0 forces the health first (mark-down, sudden-death).
func (c *Checker) apply(res Result, setHealth int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if setHealth >= 0 {
		c.health = setHealth
	}
	prev := c.last.Status
	c.last, c.running = res, false
	h, rise, fall := c.health, c.rise, c.fall
	rr := res.Status.result()
	switch rr {
	case resFailed:
		if h > 0 {
			c.chkFail.Add(1)
			h--
			if h < rise {
				h = 0
			}
		}
	case resPassed, resCondPass:
		if h < rise+fall-1 {
			h++
			if h >= rise {
				h = rise + fall - 1
			}
		}
		c.consec.Store(0)
	}
	changed := h != c.health
	c.health = h
	c.srv.SetCheckHealth(h)
	if c.o.LogHealthChecks && c.o.Log != nil && rr != resNone && (res.Status != prev || changed) {
		c.o.Log(logging.LevelNotice, c.checkMessage(res, rr))
	}
	switch {
	case rr == resFailed && h == 0:
		c.transition(upstream.OpDown, res)
	case rr == resCondPass && h >= rise:
		c.transition(upstream.OpNoLB, res)
	case rr == resPassed && h >= rise && !c.agentDown():
		c.transition(upstream.OpUp, res)
	}
}

// transition moves the server to op and logs it as HAProxy does. c.mu is held.
func (c *Checker) transition(op upstream.OpState, res Result) {
	if changeState(&c.o, c.srv, op, res) && op == upstream.OpUp && c.o.SlowStart > 0 {
		go c.slowStart()
	}
}

// changeState moves s to op and logs it as HAProxy does; it reports
// whether s came up from DOWN (where slowstart begins).
func changeState(o *Options, s *upstream.Server, op upstream.OpState, res Result) bool {
	old := s.Operational()
	if old == op {
		return false
	}
	if op != upstream.OpDown && s.Admin() == upstream.AdminMaint {
		return false // check_notify_success/stopping ignore servers in maintenance
	}
	wasUsable := s.Usable()
	s.SetOperational(op)
	act, bck := counts(s)
	if s.Admin() == upstream.AdminMaint || (o.Log == nil && o.Alert == nil && o.Print == nil) {
		return op == upstream.OpUp && old == upstream.OpDown
	}
	lvl, what := logging.LevelNotice, "UP"
	switch op {
	case upstream.OpDown:
		what = "DOWN"
		if old != upstream.OpNoLB {
			lvl = logging.LevelAlert // no alert when it was already stopping
		}
	case upstream.OpNoLB:
		what = "stopping"
	}
	msg := stateMessage(o, s, what, op, res, act, bck)
	if o.Alert != nil {
		o.Alert(lvl, strings.TrimSuffix(msg, "."))
	}
	noneLeft := op != upstream.OpUp && wasUsable && act+bck == 0
	if o.Print != nil {
		o.Print(false, msg)
		if noneLeft {
			o.Print(true, fmt.Sprintf("%s '%s' has no server available!", o.ProxyType, o.Backend))
		}
	}
	if o.Log == nil {
		return op == upstream.OpUp && old == upstream.OpDown
	}
	o.Log(lvl, msg)
	if noneLeft {
		o.Log(logging.LevelEmerg, fmt.Sprintf("%s %s has no server available!", o.ProxyType, o.Backend))
	}
	return op == upstream.OpUp && old == upstream.OpDown
}

// counts returns the usable active and backup servers of s's backend.
func counts(s *upstream.Server) (act, bck int) {
	f := s.Farm()
	if f == nil {
		if s.Usable() {
			act = 1
		}
		return act, bck
	}
	for _, s := range f.Servers() {
		if !s.Usable() {
			continue
		}
		if s.Backup {
			bck++
		} else {
			act++
		}
	}
	return act, bck
}

// stateMessage is HAProxy's srv_update_status line with srv_append_status.
func stateMessage(o *Options, s *upstream.Server, what string, op upstream.OpState, res Result, act, bck int) string {
	var b strings.Builder
	if s.Backup {
		b.WriteString("Backup ")
	}
	fmt.Fprintf(&b, "Server %s/%s is %s", o.Backend, s.Name, what)
	if !o.LogHealthChecks {
		// With log-health-checks HAProxy passes no check here: the
		// details were in the check's own line.
		appendStatus(&b, res)
	}
	onBackup := ""
	if bck > 0 && act == 0 {
		onBackup = " Running on backup."
	}
	if op == upstream.OpDown {
		fmt.Fprintf(&b, ". %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.",
			act, bck, onBackup, s.Cur(), 0, 0)
	} else {
		fmt.Fprintf(&b, ". %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.",
			act, bck, onBackup, 0, 0)
	}
	return b.String()
}

// appendStatus is HAProxy's srv_append_status for a check result.
func appendStatus(b *strings.Builder, res Result) {
	fmt.Fprintf(b, ", reason: %s", res.Status.Description())
	if res.Status.HasCode() {
		fmt.Fprintf(b, ", code: %d", res.Code)
	}
	if res.Info != "" {
		b.WriteString(`, info: "`)
		asciiEncode(b, res.Info)
		b.WriteString(`"`)
	}
	if res.Duration >= 0 {
		fmt.Fprintf(b, ", check duration: %dms", res.Duration.Milliseconds())
	}
}

// checkMessage is the line "option log-health-checks" adds for a check
// result (HAProxy's set_server_check_status): the result, its details and
// the health as rise or fall progress. c.mu is held.
func (c *Checker) checkMessage(res Result, rr result) string {
	var b strings.Builder
	b.WriteString("Health check for ")
	if c.srv.Backup {
		b.WriteString("backup ")
	}
	fmt.Fprintf(&b, "server %s/%s ", c.o.Backend, c.srv.Name)
	if rr == resCondPass {
		b.WriteString("conditionally ")
	}
	if rr == resPassed || rr == resCondPass {
		b.WriteString("succeeded")
	} else {
		b.WriteString("failed")
	}
	appendStatus(&b, res)
	h, rise, fall := c.health, c.rise, c.fall
	switch {
	case h < rise:
		fmt.Fprintf(&b, ", status: %d/%d DOWN.", h, rise)
	case c.srv.Weight() == 0:
		fmt.Fprintf(&b, ", status: %d/%d DRAIN.", h-rise+1, fall)
	default:
		fmt.Fprintf(&b, ", status: %d/%d UP.", h-rise+1, fall)
	}
	return b.String()
}

// asciiEncode writes s with HAProxy's chunk_asciiencode: control bytes,
// non-ASCII bytes and the quote become <XX>.
func asciiEncode(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x20 || ch >= 0x7f || ch == '"' {
			fmt.Fprintf(b, "<%02X>", ch)
			continue
		}
		b.WriteByte(ch)
	}
}

// slowStart ramps the weight of a server that just came back up, from a
// fraction to its full weight over "slowstart", as HAProxy does (which
// never applies it at startup). An operator's "set weight" during the ramp
// ends it.
func (c *Checker) slowStart() {
	full := c.srv.Weight()
	if full <= 0 {
		return
	}
	start := time.Now()
	step := max(c.o.SlowStart/20, 100*time.Millisecond)
	set := -1
	for {
		el := time.Since(start)
		w := full
		if el < c.o.SlowStart {
			w = max(1, int((int64(full)*int64(el)+int64(c.o.SlowStart)-1)/int64(c.o.SlowStart)))
		}
		if set >= 0 && c.srv.Weight() != set {
			return // changed by someone else
		}
		if c.srv.Operational() == upstream.OpDown {
			_ = c.srv.SetWeight(full)
			return
		}
		_ = c.srv.SetWeight(w)
		set = w
		if w == full {
			return
		}
		select {
		case <-c.stop:
			_ = c.srv.SetWeight(full)
			return
		case <-time.After(step):
		}
	}
}

// RestoreHealth sets the check health counter, for a state saved by an
// earlier process (server-state-file); the server's state is set by the
// caller. Call it before Start.
func (c *Checker) RestoreHealth(h int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health = max(0, min(h, c.rise+c.fall-1))
	c.srv.SetCheckHealth(c.health)
}

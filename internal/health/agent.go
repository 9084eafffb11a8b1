package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// AgentOptions configure one server's agent check ("agent-check").
type AgentOptions struct {
	Backend, ProxyType string
	Server             *upstream.Server
	// Main is the server's health check, nil without "check": the agent
	// moves its health, and its successes wait for the agent's.
	Main *Checker
	Addr netip.Addr // "agent-addr"; invalid: the server's address
	Port int        // "agent-port"
	Send []byte     // "agent-send"
	// Timing: Inter is "agent-inter" (the server's "inter" by default).
	Timing Timing
	// SetAdmin applies "ready", "drain" and "maint" as the runtime API's
	// "set server state" does (logging the change); nil sets it directly.
	SetAdmin        func(upstream.AdminState)
	Log             func(level logging.Level, msg string)
	Alert           func(level logging.Level, msg string) // as Options.Alert
	LogHealthChecks bool
}

// Agent runs HAProxy's agent check for one server: every agent-inter it
// connects to the agent, sends agent-send, reads one line and applies its
// words (tcpcheck_agent_expect_reply). An agent that cannot be reached, or
// answers no line, changes nothing.
type Agent struct {
	o   AgentOptions
	srv *upstream.Server
	// health is the agent's own counter: rise and fall are 1, so 1 once it
	// said "up" (or never said "down"), 0 after "down"/"stopped"/"fail".
	health atomic.Int32

	mu      sync.Mutex
	last    Result
	running bool

	stop     chan struct{}
	done     chan struct{}
	started  atomic.Bool
	stopOnce sync.Once
}

// NewAgent builds the agent check of o.Server; the agent starts healthy,
// as HAProxy's (health = rise).
func NewAgent(o AgentOptions) *Agent {
	if o.Timing.Inter <= 0 {
		o.Timing.Inter = DefaultInter
	}
	if o.ProxyType == "" {
		o.ProxyType = "backend"
	}
	a := &Agent{o: o, srv: o.Server, last: Result{Status: StatusINI, Duration: -1},
		stop: make(chan struct{}), done: make(chan struct{})}
	a.health.Store(1)
	o.Server.SetAgentHealth(1)
	o.Server.SetAgent(a)
	if o.Main != nil {
		o.Main.agent = a
	}
	return a
}

// AgentState is what the stats show of an agent check.
type AgentState struct {
	Last    Result
	Running bool
	Health  int
}

// State returns the latest result.
func (a *Agent) State() AgentState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return AgentState{Last: a.last, Running: a.running, Health: int(a.health.Load())}
}

// Start runs the agent checks on their own goroutine until Stop.
func (a *Agent) Start() {
	if a.started.CompareAndSwap(false, true) {
		go a.loop()
	}
}

// Stop ends the agent checks and waits for the goroutine.
func (a *Agent) Stop() {
	a.stopOnce.Do(func() { close(a.stop) })
	if a.started.Load() {
		<-a.done
	}
}

func (a *Agent) loop() {
	defer close(a.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.stop
		cancel()
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.checkOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			t.Reset(a.o.Timing.Inter)
		}
	}
}

func (a *Agent) checkOnce(ctx context.Context) {
	if a.srv.ResolutionMaint() {
		return
	}
	a.mu.Lock()
	a.running = true
	a.last.Info = "" // HAProxy clears the description when a check starts
	a.mu.Unlock()
	start := time.Now()
	line, res, ok := a.exchange(ctx)
	if ctx.Err() != nil {
		return
	}
	if ok {
		res = a.apply(line)
	}
	res.Duration = time.Since(start)
	a.mu.Lock()
	a.running = false
	if ok || res.Status != StatusUNK {
		a.last = res
	}
	a.mu.Unlock()
}

// exchange connects, sends and reads the agent's line. ok is false when
// there is no line to apply: res then holds a connection failure (which
// HAProxy counts for no state change), or UNK for an incomplete line.
func (a *Agent) exchange(ctx context.Context) (line string, res Result, ok bool) {
	srvAddr := a.srv.Addr()
	addr := srvAddr.Addr()
	if a.o.Addr.IsValid() {
		addr = a.o.Addr
	}
	tm := a.o.Timing
	deadline := time.Now().Add(tm.connectTimeout())
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", netip.AddrPortFrom(addr, uint16(a.o.Port)).String())
	if err != nil {
		if dctx.Err() != nil || isTimeout(err) {
			return "", Result{Status: StatusL4TOUT}, false
		}
		return "", Result{Status: StatusL4CON, Info: errText(err)}, false
	}
	defer conn.Close()
	if tm.Check > 0 {
		deadline = time.Now().Add(tm.Check)
	} else {
		deadline = time.Now().Add(tm.Inter)
	}
	_ = conn.SetDeadline(deadline)
	if len(a.o.Send) > 0 {
		if _, err := conn.Write(a.o.Send); err != nil {
			return "", Result{Status: StatusL4CON, Info: errText(err)}, false
		}
	}
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for len(buf) < maxRead {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if i := bytes.IndexAny(buf, "\r\n\x00"); i >= 0 {
			return string(buf[:i]), Result{}, true
		}
		if err != nil {
			if isTimeout(err) {
				return "", Result{Status: StatusL7TOUT}, false
			}
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				// HAProxy keeps the previous status: "Ignoring incomplete
				// line from agent".
				return "", Result{}, false
			}
			if len(buf) == 0 {
				return "", Result{Status: StatusL7RSP, Info: "Empty response"}, false
			}
			return "", Result{}, false
		}
	}
	return "", Result{}, false
}

// apply reads the agent's words as HAProxy 2.6 does: separated by spaces,
// tabs or commas, any order, the last of each kind winning; "#" starts a
// description. The admin state is applied first, then the weight, then
// maxconn, then the health.
func (a *Agent) apply(line string) Result {
	var hs, as, ps, cs, errw, desc string
	rest := line
	for rest != "" {
		c := rest[0]
		if c == ' ' || c == '\t' || c == ',' {
			rest = rest[1:]
			continue
		}
		if c == '#' {
			desc = strings.TrimLeft(rest[1:], " \t")
			break
		}
		end := strings.IndexAny(rest[1:], " \t,")
		word := rest
		if end >= 0 {
			word, rest = rest[:end+1], rest[end+2:]
		} else {
			rest = ""
		}
		switch w := strings.ToLower(word); {
		case w == "up" || w == "down" || w == "stopped" || w == "fail":
			hs = word
		case w == "ready" || w == "drain" || w == "maint":
			as = w
		case word[0] >= '0' && word[0] <= '9' && strings.Contains(word, "%"):
			ps = word
		case strings.HasPrefix(w, "maxconn:"):
			cs = word[len("maxconn:"):]
		default:
			if errw == "" {
				errw = word
			}
		}
	}
	desc = strings.TrimLeft(desc, " \n")
	if as != "" {
		to := map[string]upstream.AdminState{"ready": upstream.AdminReady, "drain": upstream.AdminDrain, "maint": upstream.AdminMaint}[as]
		if a.o.SetAdmin != nil {
			a.o.SetAdmin(to)
		} else {
			a.srv.SetAdmin(to)
		}
	}
	var wrn string
	if ps != "" {
		if err := a.srv.ChangeWeight(ps); err != nil {
			wrn = err.Error()
		}
	}
	if cs != "" {
		if msg := a.changeMaxConn(cs); wrn == "" {
			wrn = msg
		}
	}
	res := Result{Status: StatusCHECKED}
	switch {
	case hs != "":
		up := strings.EqualFold(hs, "up")
		res.Status = StatusL7STS
		if up {
			res.Status = StatusL7OK
		}
		msg := desc
		if msg == "" || up {
			if errw != "" {
				msg = errw
			} else if wrn != "" {
				msg = wrn
			}
		}
		res.Info = "via agent : " + hs
		if msg != "" {
			res.Info += " (" + msg + ")"
		}
		a.health.Store(map[bool]int32{true: 1, false: 0}[up])
		a.srv.SetAgentHealth(map[bool]int{true: 1, false: 0}[up])
		if a.o.Main != nil {
			a.o.Main.fromAgent(up, res)
		} else {
			a.transitionAlone(up, res)
		}
	case errw != "":
		res.Info = "agent reports an error : " + errw
	case wrn != "":
		res.Info = "agent warns : " + wrn
	}
	return res
}

// changeMaxConn is server_parse_maxconn_change_request; it returns
// HAProxy's message for a word it refuses.
func (a *Agent) changeMaxConn(v string) string {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(v[:i])
	switch {
	case err != nil || n < 0:
		return "maxconn string empty or preceded by garbage"
	case i != len(v):
		return "Trailing garbage in maxconn string"
	}
	a.srv.SetMaxConn(n)
	return ""
}

// transitionAlone moves a server that has no health check: "up" brings it
// up unless it is in maintenance or stopping (check_notify_success),
// the others take it down (check_notify_failure).
func (a *Agent) transitionAlone(up bool, res Result) {
	o := Options{Backend: a.o.Backend, ProxyType: a.o.ProxyType, Server: a.srv, Log: a.o.Log, Alert: a.o.Alert, LogHealthChecks: a.o.LogHealthChecks}
	if up {
		if a.srv.Operational() == upstream.OpNoLB {
			return
		}
		changeState(&o, a.srv, upstream.OpUp, res)
		return
	}
	changeState(&o, a.srv, upstream.OpDown, res)
}

// fromAgent applies an agent's health word to a server with a health
// check: "up" sets the check's health to its maximum and brings the server
// up, the others set it to 0 and take the server down.
func (c *Checker) fromAgent(up bool, res Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if up {
		c.health = c.rise + c.fall - 1
		c.srv.SetCheckHealth(c.health)
		if c.srv.Operational() == upstream.OpNoLB {
			return
		}
		c.transition(upstream.OpUp, res)
		return
	}
	c.health = 0
	c.srv.SetCheckHealth(0)
	c.transition(upstream.OpDown, res)
}

// agentDown reports whether the server's agent said it is down: the
// health check's successes then leave the server down.
func (c *Checker) agentDown() bool {
	return c.agent != nil && c.agent.health.Load() < 1
}

package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A tiny Chrome DevTools Protocol (CDP) client over this package's RFC 6455
// client: enough to drive a real headless Chromium in tests (navigate,
// evaluate JavaScript, count events such as Page.loadEventFired).

// Chromium is a headless Chromium started by StartChromium.
type Chromium struct {
	Proc    *Process
	Profile string // the throw-away --user-data-dir
	Addr    string // "127.0.0.1:PORT" of the DevTools HTTP and WebSocket endpoint
}

// ChromiumArgs are the flags StartChromium runs Chromium with, before the
// profile and port flags: headless, no sandbox (tests may run as root), and
// none of the background traffic a test does not want.
func ChromiumArgs() []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"}
}

// StartChromium starts Debian's chromium (installed by scripts/test.sh; the
// test fails without it) with a fresh profile and --remote-debugging-port=0,
// and waits for the port it picked, which it writes to DevToolsActivePort.
func StartChromium(t testing.TB) *Chromium {
	t.Helper()
	bin := RequireBinary(t, "chromium")
	profile := t.TempDir()
	args := append(ChromiumArgs(), "--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	c := &Chromium{Proc: StartProcess(t, "chromium", bin, args...), Profile: profile}
	var port string
	Eventually(t, 30*time.Second, func() bool {
		if c.Proc.Exited() {
			t.Fatalf("chromium exited (code %d):\n%s", c.Proc.ExitCode(), c.Proc.String())
		}
		b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port, _, _ = strings.Cut(string(b), "\n")
		return port != ""
	}, "chromium wrote no DevToolsActivePort")
	c.Addr = "127.0.0.1:" + strings.TrimSpace(port)
	return c
}

// NewPage opens a new tab on about:blank and connects to it; the
// connection closes with the test.
func (c *Chromium) NewPage(t testing.TB) *CDPConn {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+c.Addr+"/json/new?about:blank", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 15 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("devtools /json/new: %v", err)
	}
	defer resp.Body.Close()
	var target struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&target); err != nil || target.WebSocketDebuggerURL == "" {
		t.Fatalf("devtools /json/new: status %d, %v", resp.StatusCode, err)
	}
	cdp, err := DialCDP(target.WebSocketDebuggerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cdp.Close() })
	return cdp
}

// CDPConn is one DevTools WebSocket connection (usually to a page target).
// Calls may be made from any goroutine; a reader goroutine matches answers
// to calls and counts events.
type CDPConn struct {
	ws      *WSConn
	Timeout time.Duration // per call; 15s by default

	wmu sync.Mutex // serializes frame writes

	mu      sync.Mutex
	next    int
	pending map[int]chan cdpReply
	events  map[string][]json.RawMessage
	changed chan struct{} // closed and replaced on every event
	err     error         // set once the reader stops
	done    chan struct{}
}

type cdpReply struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// DialCDP connects to a DevTools WebSocket URL ("ws://127.0.0.1:PORT/devtools/page/ID").
func DialCDP(wsURL string) (*CDPConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("cdp: %s: only ws:// is supported", wsURL)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return nil, err
	}
	ws, err := WebSocketHandshake(conn, u.Host, u.RequestURI(), nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("cdp: %w", err)
	}
	c := &CDPConn{ws: ws, Timeout: 15 * time.Second, pending: map[int]chan cdpReply{},
		events: map[string][]json.RawMessage{}, changed: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c, nil
}

// read dispatches messages until the connection fails or closes.
func (c *CDPConn) read() {
	var msg []byte
	err := func() error {
		for {
			f, err := c.ws.ReadFrame()
			if err != nil {
				return err
			}
			switch f.Opcode {
			case WSPing:
				c.wmu.Lock()
				err := c.ws.WriteFrame(WSPong, f.Payload)
				c.wmu.Unlock()
				if err != nil {
					return err
				}
				continue
			case WSPong:
				continue
			case WSClose:
				return errors.New("cdp: connection closed by the browser")
			}
			msg = append(msg, f.Payload...)
			if !f.Fin {
				continue
			}
			var r cdpReply
			if err := json.Unmarshal(msg, &r); err != nil {
				return fmt.Errorf("cdp: bad message %.200q: %w", msg, err)
			}
			msg = nil
			c.mu.Lock()
			if r.Method != "" {
				c.events[r.Method] = append(c.events[r.Method], r.Params)
				close(c.changed)
				c.changed = make(chan struct{})
			} else if ch, ok := c.pending[r.ID]; ok {
				delete(c.pending, r.ID)
				ch <- r // buffered
			}
			c.mu.Unlock()
		}
	}()
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

// Call sends method with params (nil: none) and decodes the answer's result
// into result (nil: ignored). A CDP error answer is returned as an error.
func (c *CDPConn) Call(method string, params, result any) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.next++
	id := c.next
	ch := make(chan cdpReply, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() { c.mu.Lock(); delete(c.pending, id); c.mu.Unlock() }

	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	b, err := json.Marshal(req)
	if err != nil {
		forget()
		return err
	}
	c.wmu.Lock()
	_ = c.ws.Conn.SetWriteDeadline(time.Now().Add(c.Timeout))
	err = c.ws.WriteText(string(b))
	c.wmu.Unlock()
	if err != nil {
		forget()
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("cdp %s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(r.Result, result)
	case <-c.done:
		forget()
		return fmt.Errorf("cdp %s: %w", method, c.Err())
	case <-timer.C:
		forget()
		return fmt.Errorf("cdp %s: no answer after %v", method, c.Timeout)
	}
}

// Err is why the connection stopped, or nil while it runs.
func (c *CDPConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Evaluate runs a JavaScript expression in the page (promises awaited) and
// decodes its value, returned by value, into out (nil: ignored). A thrown
// exception is an error. It fails while a navigation replaces the
// document: callers poll.
func (c *CDPConn) Evaluate(expr string, out any) error {
	var r struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := c.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		msg := e.Text
		if e.Exception != nil && e.Exception.Description != "" {
			msg = e.Exception.Description
		}
		return fmt.Errorf("cdp evaluate %.80q: %s", expr, msg)
	}
	if out == nil || r.Result.Type == "undefined" {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Navigate loads url in the page; the answer comes when navigation starts.
func (c *CDPConn) Navigate(url string) error {
	var r struct {
		ErrorText string `json:"errorText"`
	}
	if err := c.Call("Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return err
	}
	if r.ErrorText != "" {
		return fmt.Errorf("cdp navigate %s: %s", url, r.ErrorText)
	}
	return nil
}

// Events returns the params of every event named method received so far,
// oldest first (a domain's events arrive once it is enabled, for example
// with "Page.enable").
func (c *CDPConn) Events(method string) []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.events[method]...)
}

// WaitEvents waits until at least n events named method were received and
// returns them, or fails after timeout.
func (c *CDPConn) WaitEvents(method string, n int, timeout time.Duration) ([]json.RawMessage, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		evs, changed, err := c.events[method], c.changed, c.err
		c.mu.Unlock()
		if len(evs) >= n {
			return append([]json.RawMessage(nil), evs...), nil
		}
		if err != nil {
			return nil, fmt.Errorf("cdp waiting for %s: %w", method, err)
		}
		select {
		case <-changed:
		case <-c.done:
		case <-timer.C:
			return nil, fmt.Errorf("cdp: %d %s events after %v, want %d", len(evs), method, timeout, n)
		}
	}
}

// Close closes the connection and waits for the reader to stop.
func (c *CDPConn) Close() error {
	c.wmu.Lock()
	_ = c.ws.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.ws.WriteFrame(WSClose, []byte{0x03, 0xe8})
	c.wmu.Unlock()
	err := c.ws.Conn.Close()
	<-c.done
	return err
}

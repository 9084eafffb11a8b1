package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// browser is a real headless Chromium driven over the DevTools protocol
// (CDP): one page target, commands sent one at a time over testenv's
// RFC 6455 client. Events are not enabled; tests poll the page instead.
type browser struct {
	t    testing.TB
	ws   *testenv.WSConn
	next int
}

// startBrowser starts Chromium with a throw-away profile and attaches to a
// new page; flags are added to its command line. It never downloads a
// browser: the test command installs Debian's chromium.
func startBrowser(t testing.TB, flags ...string) *browser {
	t.Helper()
	bin := testenv.RequireBinary(t, "chromium")
	profile := t.TempDir()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile, "--remote-debugging-port=0"}, flags...)
	testenv.StartProcess(t, "chromium", bin, append(args, "about:blank")...)
	// Chromium writes the port it picked into DevToolsActivePort.
	var port string
	testenv.Eventually(t, 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err != nil {
			return false
		}
		port, _, _ = strings.Cut(string(b), "\n")
		return port != ""
	}, "chromium did not open its DevTools port")
	addr := "127.0.0.1:" + port

	req, _ := http.NewRequest("PUT", "http://"+addr+"/json/new?about:blank", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("devtools /json/new: %v", err)
	}
	var target struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	err = json.NewDecoder(resp.Body).Decode(&target)
	resp.Body.Close()
	if err != nil || target.WebSocketDebuggerURL == "" {
		t.Fatalf("devtools /json/new: status %d, %v", resp.StatusCode, err)
	}
	path := target.WebSocketDebuggerURL[strings.Index(target.WebSocketDebuggerURL, "/devtools/"):]
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ws, err := testenv.WebSocketHandshake(conn, addr, path, nil)
	if err != nil {
		t.Fatalf("devtools websocket: %v", err)
	}
	return &browser{t: t, ws: ws}
}

// call sends one CDP command and waits for its answer, skipping events.
func (b *browser) call(method string, params any, result any) error {
	b.next++
	id := b.next
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	b.ws.Conn.SetDeadline(time.Now().Add(15 * time.Second))
	defer b.ws.Conn.SetDeadline(time.Time{})
	if err := b.ws.WriteText(string(msg)); err != nil {
		return err
	}
	for {
		payload, err := b.readMessage()
		if err != nil {
			return err
		}
		var reply struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(payload, &reply); err != nil {
			return err
		}
		if reply.ID != id {
			continue // an event, or a late answer
		}
		if reply.Error != nil {
			return fmt.Errorf("%s: %s", method, reply.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(reply.Result, result)
	}
}

// readMessage reads one whole message, joining continuation frames.
func (b *browser) readMessage() ([]byte, error) {
	var msg []byte
	for {
		f, err := b.ws.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f.Opcode {
		case testenv.WSPing:
			if err := b.ws.WriteFrame(testenv.WSPong, f.Payload); err != nil {
				return nil, err
			}
			continue
		case testenv.WSClose:
			return nil, fmt.Errorf("devtools closed the connection")
		}
		msg = append(msg, f.Payload...)
		if f.Fin {
			return msg, nil
		}
	}
}

// navigate loads url in the page (the answer comes when navigation starts).
func (b *browser) navigate(url string) {
	b.t.Helper()
	if err := b.call("Page.navigate", map[string]any{"url": url}, nil); err != nil {
		b.t.Fatalf("navigate %s: %v", url, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value into out.
// It fails while a navigation replaces the page; callers poll.
func (b *browser) eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("%s: %s", expr, r.ExceptionDetails.Text)
	}
	return json.Unmarshal(r.Result.Value, out)
}

// page is what a test looks at: where the browser is and what it shows.
type page struct {
	URL   string `json:"url"`
	Ready string `json:"ready"`
	Text  string `json:"text"`
	Login bool   `json:"login"`
}

// waitPage polls the page until cond holds on a fully loaded document.
func (b *browser) waitPage(what string, cond func(page) bool) page {
	b.t.Helper()
	var last page
	testenv.Eventually(b.t, 30*time.Second, func() bool {
		var p page
		err := b.eval(`({url: location.href, ready: document.readyState,
			text: document.body ? document.body.innerText : "",
			login: !!document.querySelector("form#login")})`, &p)
		if err != nil {
			return false
		}
		last = p
		return p.Ready == "complete" && cond(p)
	}, "browser never reached %s; last page %s:\n%s", what, lazy(func() string { return last.URL }), lazy(func() string { return last.Text }))
	return last
}

type lazy func() string

func (f lazy) String() string { return f() }

// echoFromPage decodes the gateway's echo that the browser shows as text.
func echoFromPage(t testing.TB, text string) testenv.Echo {
	t.Helper()
	var e testenv.Echo
	if err := json.Unmarshal([]byte(text), &e); err != nil {
		t.Fatalf("page is not the gateway's echo: %v\n%s", err, text)
	}
	return e
}

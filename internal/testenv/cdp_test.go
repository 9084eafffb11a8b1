package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fakeDevTools is a DevTools endpoint that answers Runtime.evaluate of
// "1+1" with 2, "throw" with an exception and anything else with a CDP
// error; before each answer it sends a ping and a Page.loadEventFired
// event split over two frames.
func fakeDevTools(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveFakeDevTools(c)
		}
	}()
	return "ws://" + l.Addr().String() + "/devtools/page/ABC"
}

func serveFakeDevTools(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.URL.Path != "/devtools/page/ABC" {
		io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		return
	}
	fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		WebSocketAccept(req.Header.Get("Sec-WebSocket-Key")))
	seq := 0
	for {
		f, err := ReadWSFrame(br)
		if err != nil {
			return
		}
		switch f.Opcode {
		case WSClose:
			WriteWSFrame(c, WSClose, nil, false)
			return
		case WSPong:
			continue
		}
		var m struct {
			ID     int    `json:"id"`
			Method string `json:"method"`
			Params struct {
				Expression string `json:"expression"`
			} `json:"params"`
		}
		if json.Unmarshal(f.Payload, &m) != nil {
			return
		}
		WriteWSFrame(c, WSPing, []byte("p"), false)
		seq++
		ev := fmt.Sprintf(`{"method":"Page.loadEventFired","params":{"timestamp":%d}}`, seq)
		// Text frame without FIN, then the continuation with FIN.
		c.Write(append([]byte{WSText, byte(10)}, ev[:10]...))
		c.Write(append([]byte{0x80 | WSContinuation, byte(len(ev) - 10)}, ev[10:]...))
		var answer string
		switch {
		case m.Method == "Runtime.evaluate" && m.Params.Expression == "1+1":
			answer = `{"id":%d,"result":{"result":{"type":"number","value":2}}}`
		case m.Method == "Runtime.evaluate" && m.Params.Expression == "throw":
			answer = `{"id":%d,"result":{"result":{"type":"object"},"exceptionDetails":{"text":"Uncaught","exception":{"description":"Error: boom"}}}}`
		default:
			answer = `{"id":%d,"error":{"code":-32601,"message":"'` + m.Method + `' wasn't found"}}`
		}
		WriteWSFrame(c, WSText, []byte(fmt.Sprintf(answer, m.ID)), false)
	}
}

func TestCDPClient(t *testing.T) {
	c, err := DialCDP(fakeDevTools(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int
	if err := c.Evaluate("1+1", &n); err != nil || n != 2 {
		t.Fatalf("Evaluate(1+1) = %d, %v", n, err)
	}
	if err := c.Evaluate("throw", nil); err == nil || !strings.Contains(err.Error(), "Error: boom") {
		t.Errorf("exception: %v", err)
	}
	if err := c.Call("No.such", nil, nil); err == nil || !strings.Contains(err.Error(), "wasn't found (-32601)") {
		t.Errorf("CDP error: %v", err)
	}
	evs, err := c.WaitEvents("Page.loadEventFired", 3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(evs[2]) != `{"timestamp":3}` {
		t.Errorf("third event %s", evs[2])
	}
	if _, err := c.WaitEvents("Page.frameNavigated", 1, 50*time.Millisecond); err == nil {
		t.Error("waited for an event that never came")
	}
	if len(c.Events("Page.loadEventFired")) != 3 {
		t.Errorf("events: %d", len(c.Events("Page.loadEventFired")))
	}

	// Calls from several goroutines get their own answers.
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var v int
			err := c.Evaluate("1+1", &v)
			if err == nil && v != 2 {
				err = fmt.Errorf("got %d", v)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if err := c.Call("Runtime.evaluate", nil, nil); err == nil {
		t.Error("call after close succeeded")
	}
}

func TestDialCDPErrors(t *testing.T) {
	if _, err := DialCDP("wss://127.0.0.1:1/x"); err == nil {
		t.Error("wss accepted")
	}
	u := fakeDevTools(t)
	if _, err := DialCDP(strings.Replace(u, "ABC", "nope", 1)); err == nil {
		t.Error("handshake on a wrong path succeeded")
	}
}

// TestChromium drives the real browser: a page loads, its DOM evaluates,
// and load events are counted.
func TestChromium(t *testing.T) {
	ch := StartChromium(t)
	p := ch.NewPage(t)
	if err := p.Call("Page.enable", nil, nil); err != nil {
		t.Fatal(err)
	}
	html := `<title>t</title><p id=a>hello <b>cdp</b></p>`
	if err := p.Navigate("data:text/html," + url.PathEscape(html)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitEvents("Page.loadEventFired", 1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Text  string `json:"text"`
		Title string `json:"title"`
	}
	if err := p.Evaluate(`({text: document.getElementById("a").textContent, title: document.title})`, &got); err != nil {
		t.Fatal(err)
	}
	if got.Text != "hello cdp" || got.Title != "t" {
		t.Errorf("page: %+v", got)
	}
	var sum int
	if err := p.Evaluate(`new Promise(r => setTimeout(() => r(40 + 2), 10))`, &sum); err != nil || sum != 42 {
		t.Errorf("awaited promise: %d, %v", sum, err)
	}
	if err := p.Evaluate(`document.querySelector("#missing").click()`, nil); err == nil || !strings.Contains(err.Error(), "TypeError") {
		t.Errorf("exception: %v", err)
	}
}

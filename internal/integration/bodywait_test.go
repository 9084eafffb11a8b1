package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBodyWaitMatchesHAProxy: option http-buffer-request and http-request
// wait-for-body let the rules read the request body (req.body,
// req.body_len, req.body_size, req.body_param) for routing and denial,
// the body still reaches the server whole, an Expect: 100-continue is
// answered by the proxy, and a body that does not come in time is a 408
// (the option) or leaves the rules with what came (wait-for-body); side by
// side with HAProxy 2.6, over HTTP/1.1 and HTTP/2.
func TestBodyWaitMatchesHAProxy(t *testing.T) {
	results := map[string][]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		echo := testenv.StartEchoServer(t).Addr
		fe, h2c, wfb, slow := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    option http-buffer-request
    http-request set-header X-Len %%[req.body_len]
    http-request set-header X-Size %%[req.body_size]
    http-request set-header X-User %%[req.body_param(user)]
    http-request set-header X-First %%[req.body_param]
    http-request deny deny_status 403 if { req.body_param(action) -m str delete }
    use_backend routed if { req.body -m sub routeme }
    default_backend be

frontend wfb
    bind 127.0.0.1:%d
    http-request wait-for-body time 300ms at-least 1k
    http-request set-header X-Len %%[req.body_len]
    default_backend be

frontend slow
    bind 127.0.0.1:%d
    timeout http-request 1s
    option http-buffer-request
    default_backend be

backend be
    http-request set-header X-Be be
    server s1 %s

backend routed
    http-request set-header X-Be routed
    server s1 %s
`, fe, h2c, wfb, slow, echo, echo)
		stop := testenv.StartSide(t, name, cfg)
		var out []string
		post := func(label string, port int, body string, chunked bool) {
			req, _ := http.NewRequest("POST", "http://"+testenv.LocalAddr(port)+"/p", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(strings.NewReader(body))
			}
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			out = append(out, label+": "+echoView(resp, err))
		}
		post("form", fe, "user=alice&action=view", false)
		post("chunked", fe, "x=1&user=carol", true)
		post("denied", fe, "user=mallory&action=delete", false)
		post("routed", fe, "please routeme", false)
		post("empty", fe, "", false)
		big := strings.Repeat("b", 100000)
		post("big", fe, big, false)
		out = append(out, "expect 100-continue: "+expectContinue(t, testenv.LocalAddr(fe), "user=dave"))
		h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		req, _ := http.NewRequest("POST", "http://"+testenv.LocalAddr(h2c)+"/p", strings.NewReader("user=bob"))
		resp, err := h2.Do(req)
		out = append(out, "h2: "+echoView(resp, err))
		// wait-for-body gives up after its 300ms with what came.
		out = append(out, "wait-for-body, partial: "+partialBody(t, testenv.LocalAddr(wfb), "abcd", "efgh", 2*time.Second))
		// The option's wait is bounded by timeout http-request: 408.
		out = append(out, "option, body late: "+partialBody(t, testenv.LocalAddr(slow), "ab", "cdefgh", 4*time.Second))
		stop()
		results[name] = out
	}
	h, g := results["haproxy"], results["gatehouse"]
	if strings.Join(h, "\n") != strings.Join(g, "\n") {
		t.Errorf("differs:\n  haproxy:   %s\n  gatehouse: %s", strings.Join(h, "\n             "), strings.Join(g, "\n             "))
	}
	for _, l := range g {
		if strings.HasPrefix(l, "big: ") && !strings.Contains(l, "len<size") {
			t.Errorf("a body larger than the buffer: %s", l)
		}
	}
}

// echoView renders what the echo server saw of a request and the status.
func echoView(resp *http.Response, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return strconv.Itoa(resp.StatusCode)
	}
	var e testenv.Echo
	if err := json.Unmarshal(b, &e); err != nil {
		return "not echo: " + string(b)
	}
	h := func(k string) string { return strings.Join(e.Headers[k], ",") }
	lens := fmt.Sprintf("len=%s size=%s", h("X-Len"), h("X-Size"))
	if n, _ := strconv.Atoi(h("X-Len")); n > 16384 {
		lens = "len=" + h("X-Len") + "!"
	} else if n < int(e.BodyLen) && e.BodyLen > 16384 {
		lens = "len<size size=" + h("X-Size") // how much fits the buffer differs
	}
	return fmt.Sprintf("200 be=%s %s user=%q first=%q body=%d", h("X-Be"), lens, h("X-User"), h("X-First"), e.BodyLen)
}

// expectContinue sends a head with Expect: 100-continue and sends the
// body once the 100 came; it renders the interim status and the final
// answer's first line.
func expectContinue(t *testing.T, addr, body string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", len(body))
	br := bufio.NewReader(c)
	first, err := br.ReadString('\n')
	if err != nil {
		return "no interim answer: " + err.Error()
	}
	if !strings.HasPrefix(first, "HTTP/1.1 100") {
		return "first answer " + strings.TrimSpace(first)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
	}
	io.WriteString(c, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "100, then " + err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	var e testenv.Echo
	_ = json.Unmarshal(b, &e)
	return fmt.Sprintf("100, then %d user=%q expect=%q", resp.StatusCode, strings.Join(e.Headers["X-User"], ","), strings.Join(e.Headers["Expect"], ","))
}

// partialBody sends a head announcing len(first+rest) bytes and first,
// then rest after pause, and renders the answer.
func partialBody(t *testing.T, addr, first, rest string, pause time.Duration) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(first)+len(rest), first)
	answered := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c)
		answered <- string(b)
	}()
	var got string
	select {
	case got = <-answered:
	case <-time.After(pause):
		io.WriteString(c, rest)
		select {
		case got = <-answered:
		case <-time.After(15 * time.Second):
			return "no answer"
		}
	}
	line, _, _ := strings.Cut(got, "\r\n")
	if _, body, ok := strings.Cut(got, "\r\n\r\n"); ok && strings.HasPrefix(line, "HTTP/1.1 200") {
		var e testenv.Echo
		if json.Unmarshal(bytes.TrimSpace([]byte(body)), &e) == nil {
			return fmt.Sprintf("%s len=%s body=%d", line, strings.Join(e.Headers["X-Len"], ","), e.BodyLen)
		}
	}
	return line
}

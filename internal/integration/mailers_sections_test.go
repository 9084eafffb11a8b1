package integration

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// flapServer is a TCP server the health checks see go down (its listener
// closed: connection refused) and come back (listening again, same port).
type flapServer struct {
	t    *testing.T
	port int
	ln   net.Listener
}

func startFlapServer(t *testing.T) *flapServer {
	f := &flapServer{t: t, port: testenv.FreePort(t)}
	f.up()
	t.Cleanup(func() {
		if f.ln != nil {
			f.ln.Close()
		}
	})
	return f
}

func (f *flapServer) up() {
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		if f.ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", f.port)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("listening again on %d: %v", f.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	go func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}(f.ln)
}

func (f *flapServer) down() {
	f.ln.Close()
	f.ln = nil
}

var mailDate = regexp.MustCompile(`(?m)^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [-+]\d{4} \(.*\)\r$`)
var mailCheckDuration = regexp.MustCompile(`check duration: \d+ms`)

// normalizeMail keeps what must match HAProxy's: the Date header's
// format is checked, its value (and a check's duration) dropped.
func normalizeMail(t *testing.T, who string, m testenv.SMTPMail) string {
	t.Helper()
	if !mailDate.MatchString(m.Data) {
		t.Errorf("%s: no Date header in strftime's \"%%a, %%d %%b %%Y %%T %%z (%%Z)\" format:\n%s", who, m.Data)
	}
	d := mailDate.ReplaceAllString(m.Data, "Date: DATE\r")
	d = mailCheckDuration.ReplaceAllString(d, "check duration: Nms")
	return strings.Join(m.Commands, "\n") + "\n--\n" + d
}

// TestEmailAlertMatchesHAProxy: the same server goes DOWN and comes back
// UP behind HAProxy 2.6 and Gatehouse, each mailing its own SMTP sink with
// "email-alert level notice"; the SMTP dialogues and the messages must be
// the same, but for the date.
func TestEmailAlertMatchesHAProxy(t *testing.T) {
	srv := startFlapServer(t)
	cfg := func(sink string, fport int) string {
		return fmt.Sprintf(`
mailers mta
    mailer sink %s
    timeout mail 10s
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend b
    email-alert mailers mta
    email-alert from gatehouse@example.com
    email-alert to ops@example.com
    email-alert level notice
    email-alert myhostname edge.test
    server s1 127.0.0.1:%d check inter 100ms fall 2 rise 2
frontend f
    bind 127.0.0.1:%d
    default_backend b
`, sink, srv.port, fport)
	}
	hSink, gSink := testenv.StartSMTPSink(t), testenv.StartSMTPSink(t)
	testenv.StartHAProxy(t, cfg(hSink.Addr(), testenv.FreePort(t)))
	testenv.StartGatehouse(t, cfg(gSink.Addr(), testenv.FreePort(t)))
	// Both start with the server UP, as HAProxy does: no mail yet.
	srv.down()
	hDown, gDown := hSink.Next(t, 30*time.Second), gSink.Next(t, 30*time.Second)
	srv.up()
	hUp, gUp := hSink.Next(t, 30*time.Second), gSink.Next(t, 30*time.Second)
	for _, c := range []struct {
		what string
		h, g testenv.SMTPMail
	}{{"down", hDown, gDown}, {"up", hUp, gUp}} {
		h, g := normalizeMail(t, "haproxy", c.h), normalizeMail(t, "gatehouse", c.g)
		if h != g {
			t.Errorf("%s mail differs:\nhaproxy:\n%s\ngatehouse:\n%s", c.what, h, g)
		}
	}
	if want := []string{"HELO edge.test", "MAIL FROM:<gatehouse@example.com>", "RCPT TO:<ops@example.com>", "DATA", "QUIT"}; !slices.Equal(gDown.Commands, want) {
		t.Errorf("gatehouse's dialogue %q, want %q", gDown.Commands, want)
	}
	if !strings.Contains(gDown.Data, "Subject: [HAProxy Alert] Server b/s1 is DOWN") || !strings.Contains(gUp.Data, "Subject: [HAProxy Alert] Server b/s1 is UP") {
		t.Errorf("subjects:\n%s\n%s", gDown.Data, gUp.Data)
	}
	t.Logf("down mail:\n%s", gDown.Data)
}

// TestEmailAlertLevel: at the default level (alert) a server going DOWN
// is mailed and its return (notice) is not, by HAProxy and Gatehouse alike.
func TestEmailAlertLevel(t *testing.T) {
	srv := startFlapServer(t)
	cfg := func(sock, sink string, fport int) string {
		return fmt.Sprintf(`
global
    stats socket %s
mailers mta
    mailer sink %s
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    email-alert mailers mta
    email-alert from gatehouse@example.com
    email-alert to ops@example.com
backend b
    server s1 127.0.0.1:%d check inter 100ms fall 2 rise 2
frontend f
    bind 127.0.0.1:%d
    default_backend b
`, sock, sink, srv.port, fport)
	}
	dir := t.TempDir()
	hSink, gSink := testenv.StartSMTPSink(t), testenv.StartSMTPSink(t)
	testenv.StartHAProxy(t, cfg(dir+"/h.sock", hSink.Addr(), testenv.FreePort(t)))
	testenv.StartGatehouse(t, cfg(dir+"/g.sock", gSink.Addr(), testenv.FreePort(t)))
	srv.down()
	for who, s := range map[string]*testenv.SMTPSink{"haproxy": hSink, "gatehouse": gSink} {
		m := s.Next(t, 30*time.Second)
		if !strings.Contains(m.Data, "Server b/s1 is DOWN") {
			t.Errorf("%s mailed:\n%s", who, m.Data)
		}
	}
	srv.up()
	// The server is back once Gatehouse's stats say so; no mail follows.
	deadline := time.Now().Add(30 * time.Second)
	for _, sock := range []string{dir + "/h.sock", dir + "/g.sock"} {
		for !serverRunning(t, sock) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: server not back UP within 30s", sock)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	hSink.None(t, time.Second)
	gSink.None(t, time.Second)
}

// serverRunning reads b/s1's operational state (2: running) from "show
// servers state".
func serverRunning(t *testing.T, sock string) bool {
	for _, l := range strings.Split(runtimeCmd(t, sock, "show servers state b"), "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[3] == "s1" {
			return f[5] == "2"
		}
	}
	return false
}

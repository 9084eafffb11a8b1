package integration

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// fakeServer accepts connections and runs handle on each, for the
// protocol checks' side-by-side test.
func fakeServer(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

// smtpQuit answers the QUIT that ends an SMTP check.
func smtpQuit(c net.Conn, br *bufio.Reader) {
	if l, _ := br.ReadString('\n'); l == "QUIT\r\n" {
		io.WriteString(c, "221 2.0.0 bye\r\n")
	}
}

// readExactly reads len(want) bytes and reports whether they are want.
func readExactly(br *bufio.Reader, want []byte) bool {
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil {
		return false
	}
	return bytes.Equal(got, want)
}

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProtocolChecksMatchHAProxy: option redis-check, ssl-hello-chk,
// smtpchk, pgsql-check, mysql-check and ldap-check against servers that
// answer well, badly or not at all give the same server state,
// check_status, check_code and last_chk (the check's description) in
// Gatehouse's stats CSV as in HAProxy 2.6's. Each fake server also checks
// the bytes the check sent, byte for byte as HAProxy's source writes them,
// and answers something that fails the check when they differ.
func TestProtocolChecksMatchHAProxy(t *testing.T) {
	redis := testenv.StartRedis(t)
	sslHelloHead := unhexT(t, "16 0300 0079 01 000075 0300")
	sslHelloTail := append([]byte("HAPROXYSSLCHK\nHAPROXYSSLCHK\n"), unhexT(t,
		"00 004E 0001000200030004000500060007000800090 00A000B000C000D000E000F0010001100120013001400150016001700180019001A001B002F003000310032003300340035003600370038003900 3A 01 00")...)
	sslHello := func(br *bufio.Reader) bool {
		return readExactly(br, sslHelloHead) && func() bool { _, err := br.Discard(4); return err == nil }() && readExactly(br, sslHelloTail)
	}
	mysqlHandshake := func() []byte {
		body := append([]byte{0x0a}, "5.7.42-fake\x00"...)
		body = append(body, 1, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0, 0xff, 0xf7, 0x21, 2, 0, 0xff, 0x81, 0x15)
		body = append(body, make([]byte, 10)...)
		body = append(body, "ijklmnopqrst\x00mysql_native_password\x00"...)
		return append([]byte{byte(len(body)), 0, 0, 0}, body...)
	}()
	// HAProxy's 4.1 authentication packet for user "haproxy" and its QUIT.
	mysqlAuth := unhexT(t, "290000 01 00820000 00800001 21"+strings.Repeat("00", 23)+hex.EncodeToString([]byte("haproxy"))+"00 00 010000 00 01")
	pgStartup := unhexT(t, "00000013 00030000 7573657200"+hex.EncodeToString([]byte("gate"))+"00 00")
	ldapBind := unhexT(t, "300C020101600702010304008000")

	servers := []struct{ name, option, addr string }{
		{"redis_ok", "option redis-check", redis.Addr},
		{"redis_noauth", "option redis-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			if readExactly(br, []byte("*1\r\n$4\r\nPING\r\n")) {
				io.WriteString(c, "-NOAUTH Authentication required.\r\n")
				_, _ = io.Copy(io.Discard, br) // redis keeps the connection
			}
		})},
		{"redis_err_close", "option redis-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			if readExactly(br, []byte("*1\r\n$4\r\nPING\r\n")) {
				io.WriteString(c, "-ERR unknown command\r\n")
			}
		})},
		{"redis_silent_close", "option redis-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			readExactly(br, []byte("*1\r\n$4\r\nPING\r\n"))
		})},
		{"ssl_alert", "option ssl-hello-chk", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			if sslHello(br) {
				c.Write([]byte{0x15, 0x03, 0x00, 0x00, 0x02, 0x02, 0x28}) // handshake_failure, as a TLS 1.2+ server answers
			}
		})},
		{"ssl_http", "option ssl-hello-chk", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			sslHello(br)
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		})},
		{"ssl_silent", "option ssl-hello-chk", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			_, _ = io.Copy(io.Discard, br)
		})},
		{"smtp_ok", "option smtpchk", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "220 mail.test ESMTP ready\r\n")
			if l, _ := br.ReadString('\n'); l == "HELO localhost\r\n" {
				io.WriteString(c, "250 mail.test hello\r\n")
				smtpQuit(c, br)
			} else {
				io.WriteString(c, "500 unexpected "+strings.TrimSpace(l)+"\r\n")
			}
		})},
		{"smtp_ehlo", "option smtpchk EHLO gatehouse.test", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "220 mail.test ESMTP\r\n")
			if l, _ := br.ReadString('\n'); l == "EHLO gatehouse.test\r\n" {
				io.WriteString(c, "250-mail.test greets you\r\n")
				time.Sleep(50 * time.Millisecond) // the rest of a multi-line answer comes later
				io.WriteString(c, "250 SIZE 1000\r\n")
				smtpQuit(c, br)
			} else {
				io.WriteString(c, "500 unexpected "+strings.TrimSpace(l)+"\r\n")
			}
		})},
		{"smtp_busy", "option smtpchk", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "554 5.3.2 too busy\r\n")
		})},
		{"smtp_junk", "option smtpchk", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			io.WriteString(c, "hello there\r\n")
		})},
		{"pgsql_ok", "option pgsql-check user gate", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			if readExactly(br, pgStartup) {
				c.Write(unhexT(t, "52 0000000C 00000005 01020304")) // AuthenticationMD5Password
			} else {
				c.Write(unhexT(t, "45 00000010 53 4241440043 313233343500 00")) // 'E' ... "BAD"
			}
		})},
		{"pgsql_error", "option pgsql-check user gate", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			readExactly(br, pgStartup)
			msg := append([]byte("SFATAL\x00C28000\x00Mno pg_hba.conf entry\x00"), 0)
			c.Write(append(append([]byte{'E'}, byte(0), byte(0), byte(0), byte(len(msg)+4)), msg...))
		})},
		{"mysql_ok", "option mysql-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			c.Write(mysqlHandshake)
			_, _ = io.Copy(io.Discard, br)
		})},
		{"mysql_user_ok", "option mysql-check user haproxy", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			c.Write(mysqlHandshake)
			if readExactly(br, mysqlAuth) {
				c.Write(unhexT(t, "0700000200000002000000"))
			}
		})},
		{"mysql_user_denied", "option mysql-check user haproxy post-41", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			c.Write(mysqlHandshake)
			readExactly(br, mysqlAuth)
			msg := append(unhexT(t, "ff1504"), "#28000Access denied for user 'haproxy'@'localhost'"...)
			c.Write(append([]byte{byte(len(msg)), 0, 0, 2}, msg...))
		})},
		{"ldap_ok", "option ldap-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			if readExactly(br, ldapBind) {
				c.Write(unhexT(t, "300c02010161070a010004000400"))
			}
		})},
		{"ldap_invalid_creds", "option ldap-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			readExactly(br, ldapBind)
			c.Write(unhexT(t, "300c02010161070a013104000400"))
		})},
		{"ldap_http", "option ldap-check", fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			readExactly(br, ldapBind)
			io.WriteString(c, "HTTP/1.0 400 Bad Request\r\n\r\n")
		})},
	}

	results := map[string]map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		statsPort := testenv.FreePort(t)
		var cfg strings.Builder
		fmt.Fprintf(&cfg, `defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout check 1s

listen stats
    mode http
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, statsPort)
		for _, s := range servers {
			fmt.Fprintf(&cfg, "\nbackend %s\n    %s\n    server s %s check inter 1s rise 1 fall 1\n", s.name, s.option, s.addr)
		}
		stop := testenv.StartSide(t, name, cfg.String())
		got := map[string]string{}
		var pending string
		testenv.Eventually(t, 30*time.Second, func() bool {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", statsPort))
			if err != nil {
				pending = err.Error()
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cols := statsColumns(string(b))
			for _, s := range servers {
				row := cols[s.name+"/s"]
				st := strings.TrimPrefix(row["check_status"], "* ")
				if st == "" || st == "INI" {
					pending = s.name + " not checked yet"
					return false
				}
				got[s.name] = fmt.Sprintf("%s %s code=%s %q", row["status"], st, row["check_code"], row["last_chk"])
			}
			return true
		}, "%s: checks did not all run: %s", name, &pending)
		stop()
		results[name] = got
	}
	names := make([]string, 0, len(servers))
	for _, s := range servers {
		names = append(names, s.name)
	}
	sort.Strings(names)
	for _, n := range names {
		h, g := results["haproxy"][n], results["gatehouse"][n]
		t.Logf("%-20s haproxy: %s", n, h)
		if h != g {
			t.Errorf("%-20s gatehouse: %s", n, g)
		}
	}
}

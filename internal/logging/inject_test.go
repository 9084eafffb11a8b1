package logging

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// hostile carries every kind of byte that could forge or hide a log line.
const hostile = "a\nforged 200\rb\x00c\x01\x1b[31md\x7fe\tf"

func assertOneCleanLine(t *testing.T, what string, line []byte) {
	t.Helper()
	for i, b := range line {
		if b < 32 || b == 127 {
			t.Errorf("%s: raw control byte %#x at %d in %q", what, b, i, line)
			return
		}
	}
}

// Every place a client's bytes reach a traffic log line is escaped, in
// every preset and in log-format variables and samples.
func TestClientValuesNeverBreakTheLine(t *testing.T) {
	ctx := func() *Context {
		c := docHTTPContext()
		c.Txn.Req.Method = "GET"
		c.Txn.Req.URI = "/p" + hostile + "?q=" + hostile
		c.Txn.Req.Proto = "HTTP/1.1"
		c.ReqCaptures = []string{hostile, "x"}
		c.ResCaptures = []string{hostile}
		c.ReqCookie, c.ResCookie = hostile, hostile
		c.UniqueID = hostile
		return c
	}
	fetches := map[string]string{"req.hdr(x)": hostile, "var(txn.user)": hostile,
		"fc_err": "0", "ssl_fc_err,hex": "0", "ssl_c_err": "0", "ssl_c_ca_err": "0",
		"ssl_fc_is_resumed": "0", "ssl_fc_sni": hostile}
	formats := map[string]string{
		"httplog":  HTTPLogFormat,
		"httpslog": HTTPSLogFormat,
		"clf":      CLFLogFormat,
		"json":     JSONLogFormat,
		"vars":     "%HM %HU %HP %HPO %HQ %HV %ID %hrl %hsl %CC %CS",
		"quoted":   "%{+Q}HU %{+Q}ID %{+Q}r %{+Q}hr %{+Q}[var(txn.user)]",
		"escaped":  "%{+E}[req.hdr(x)] %{+E}ID %{+E,+Q}[var(txn.user)]",
		"samples":  "%[req.hdr(x)] user=%[var(txn.user)] end",
		"json-var": "%{+json}[var(txn.user)] %{+json}HU %{+json}hr %{+json}ID %{+json}r",
	}
	for name, f := range formats {
		line := mustCompile(t, f, fakeExprs(fetches)).Append(nil, ctx())
		assertOneCleanLine(t, name, line)
	}
	// HAProxy's '#XX' where it defines the encoding (request line, captured
	// headers); the same for the values it would copy raw.
	got := string(mustCompile(t, "%HU|%hr|%[var(txn.user)]|%ID", fakeExprs(fetches)).Append(nil, ctx()))
	want := "/pa#0Aforged 200#0Db#00c#01#1B[31md#7Fe#09f?q=a#0Aforged 200#0Db#00c#01#1B[31md#7Fe#09f|" +
		"{a#0Aforged 200#0Db#00c#01#1B[31md#7Fe#09f|x}|" +
		"a#0Aforged 200#0Db#00c#01#1B[31md#7Fe#09f|a#0Aforged 200#0Db#00c#01#1B[31md#7Fe#09f"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// System messages (refused logins, handshake errors) are one line however
// their arguments read.
func TestPrintfEscapesControlCharacters(t *testing.T) {
	var out syncBuffer
	l, err := NewLogger([]*config.Log{{Target: "stdout", Format: "raw"}}, Options{Stdout: &out, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	l.Printf(LevelWarning, "oidc '%s': login refused: %s", "idp", "access_denied "+hostile)
	l.Close()
	got := out.String()
	if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Fatalf("not one line: %q", got)
	}
	assertOneCleanLine(t, "printf", []byte(strings.TrimSuffix(got, "\n")))
	if want := "oidc 'idp': login refused: access_denied a#0Aforged 200#0Db#00c#01#1B[31md#7Fe#09f\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// langTail makes every case a configuration both proxies can start.
const langTail = `
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:1
    http-request return status 200
`

// messageLine picks the level, line and text of a .notice/.warning/.alert
// message out of either proxy's output.
// (A message is one quoted word without quotes of its own here, which
// keeps other diagnostics that happen to quote something out.)
var messageLine = regexp.MustCompile(`\[(NOTICE|WARNING|ALERT)\].*parsing \[[^:\]]+:(\d+)\] ?: ('[^']*'\.)$`)

// checkWithEnv runs BIN -c -f CFG with env added, returning whether the
// configuration was accepted and the .notice/.warning/.alert messages.
func checkWithEnv(t *testing.T, bin, dir, cfg string, env []string) (bool, []string, string) {
	t.Helper()
	file := filepath.Join(dir, "lang.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "-f", file)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s -c: %v", bin, err)
	}
	var msgs []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := messageLine.FindStringSubmatch(l); m != nil {
			msgs = append(msgs, m[1]+" "+m[2]+" "+m[3])
		}
	}
	return err == nil, msgs, string(out)
}

// TestLanguageMatchesHAProxy checks environment expansion, conditional
// blocks and the message directives side by side with HAProxy 2.6: each
// configuration is accepted or refused by both, and prints the same
// messages at the same lines (the messages show what expanded to what).
func TestLanguageMatchesHAProxy(t *testing.T) {
	haproxy := testenv.RequireBinary(t, "haproxy")
	gatehouse := testenv.GatehouseBinary(t)
	env := []string{"LANG_FOO=foo", "LANG_LIST=127.0.0.1:514  local0", "LANG_EMPTY=", "LANG_SSL=yes", "LANG_LOGHOST=127.0.0.1"}
	cases := map[string]string{
		"expansion": `global
    .notice "$LANG_FOO ${LANG_FOO} x${LANG_FOO}y x$LANG_FOO.y"
    .notice '${LANG_FOO} $LANG_FOO'
    .notice ${LANG_FOO}
    .notice "${LANG_NOPE-dflt} ${LANG_EMPTY-dflt} ${LANG_FOO-dflt} [${LANG_NOPE}]"
    .notice "${LANG_NOPE-${LANG_FOO}}"
    .notice "\$LANG_FOO costs \$5"
    .notice "${.FILE} ${.LINE} ${.SECTION} $.LINE"
    log "${LANG_LIST[*]}"
    .notice "${LANG_LIST}"
`,
		"section names": `global
    .notice "${.SECTION}"
defaults named
    .notice "${.SECTION}"
defaults
    .notice "${.SECTION}"
`,
		"lone dollar":           "global\n    .notice \"cost $ 5\"\n",
		"bad word expansion":    "global\n    .notice \"${LANG_FOO[,]}\"\n",
		"shell default form":    "global\n    .notice \"${LANG_FOO:-x}\"\n",
		"word expansion splits": "global\n    .notice \"${LANG_LIST[*]}\"\n",
		"conditions": `global
.if defined(LANG_FOO) && defined(LANG_EMPTY) && !defined(LANG_NOPE)
    .notice "defined"
.endif
.if feature(OPENSSL) && (streq("$LANG_SSL",yes) || streq("$LANG_SSL",only))
    .notice "openssl"
.endif
.if !feature(OPENSSL)
    .alert "SSL support is mandatory"
.endif
.if version_atleast(2.4-dev19) && version_atleast(2.6) && !version_atleast(2.7) && version_before(2.7-dev0)
    .notice "2.6"
.endif
.if version_atleast(abc)
    .notice "unparsable is at least"
.endif
.if version_before(abc)
    .notice "unparsable is before"
.endif
.if streq(,) && strneq(a,b) && streq("a b",'a b') && !streq( a,a)
    .notice "strings"
.endif
.if 0 || 1 && 0
    .notice "precedence"
.elif 01 && -1 && ( 1 ) && !(0)
    .notice "numbers"
.else
    .notice "else"
.endif
.if ""
    .notice "empty"
.elif 0
.else
    .warning "warned"
.endif
.if 0
    bogus keyword
    .if garbage(
    .endif
.endif
`,
		"alert":                 "global\n    .alert \"boom\"\n",
		"two words":             "global\n    .notice \"a\" \"b\"\n",
		"lone else":             ".else\n",
		"lone endif":            ".endif\n",
		"else after else":       ".if 1\n.else\n.else\n.endif\n",
		"endif argument":        ".if 1\n.endif x\n",
		"unterminated":          ".if 1\n",
		"unknown term":          ".if foo\n.endif\n",
		"trailing garbage":      ".if defined(X)x\n.endif\n",
		"missing argument":      ".if streq(a)\n.endif\n",
		"extra argument":        ".if streq(a,b,c)\n.endif\n",
		"unclosed paren":        ".if (1\n.endif\n",
		"dangling or":           ".if 1 ||\n.endif\n",
		"dropped quoting error": ".if 0\n    .notice \"$\"\n.endif\n",
		// Addresses are expanded wherever they come from, quoted or not
		// (HAProxy's env_expand in str2sa_range).
		"address expansion":                             "global\n    log ${LANG_LOGHOST}:514 local0\n    log $LANG_LOGHOST:${LANG_NOPE}515 local0\nlisten l\n    mode http\n    bind ${LANG_LOGHOST}:2,'${LANG_LOGHOST}':3\n    server s ${LANG_LOGHOST}:80\n",
		"address expansion keeps what follows the name": "backend b\n    mode http\n    server s ${LANG_LOGHOST-x}:80\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, dir := body+langTail, t.TempDir() // one path: ${.FILE} expands to it
			hok, hmsgs, hout := checkWithEnv(t, haproxy, dir, cfg, env)
			gok, gmsgs, gout := checkWithEnv(t, gatehouse, dir, cfg, env)
			if hok != gok {
				t.Fatalf("haproxy accepted=%v, gatehouse accepted=%v\nhaproxy:\n%s\ngatehouse:\n%s", hok, gok, hout, gout)
			}
			if strings.Join(hmsgs, "\n") != strings.Join(gmsgs, "\n") {
				t.Fatalf("messages differ\nhaproxy:\n%s\ngatehouse:\n%s", strings.Join(hmsgs, "\n"), strings.Join(gmsgs, "\n"))
			}
		})
	}
}

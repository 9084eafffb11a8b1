package health

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// KindProto is a protocol check (option redis-check, ssl-hello-chk,
// smtpchk, pgsql-check, mysql-check, ldap-check): HAProxy 2.6 runs each as
// a built-in tcp-check rule set (tcpcheck.c), reproduced here step by step
// with its statuses and messages.
const KindProto Kind = KindHTTP + 1

// protoStep is one rule of a protocol check. step is HAProxy's step id
// (the rule's index + 1), shown in "empty response" messages.
type protoStep struct {
	step    int
	connect bool          // "connect default linger": a connection with the server's check settings
	send    func() []byte // data to send
	expect  *protoExpect
}

type stepVerdict uint8

const (
	vContinue stepVerdict = iota
	vWait
	vStop
)

// protoExpect is a tcp-check expect rule with the options the built-in
// sets use (min-recv, ok/error/tout-status, on-success, on-error,
// status-code) or a custom function (MySQL, LDAP).
type protoExpect struct {
	str     []byte         // string match, when set
	re      *regexp.Regexp // rstring, or rbinary on the hex dump when hexRe
	hexRe   bool
	inverse bool
	minRecv int // -1: none (a mismatch waits for more data)

	ok, err, tout      Status // StatusUNK: HAProxy's defaults (L7OK, L7RSP, L7TOUT)
	onError, onSuccess func(buf []byte) string
	code               func(buf []byte) int
	// custom decides by itself (MySQL, LDAP).
	custom func(buf []byte, last bool) (stepVerdict, Result)
}

func (e *protoExpect) errStatus() Status {
	if e.err != StatusUNK {
		return e.err
	}
	return StatusL7RSP
}

func (e *protoExpect) okStatus() Status {
	if e.ok != StatusUNK {
		return e.ok
	}
	return StatusL7OK
}

// protoSpec builds the rule set HAProxy 2.6.12 builds for pc (2.6.0's
// with the SMTP QUIT and the wider PostgreSQL authentication answers
// backported since).
func protoSpec(pc *config.ProtoCheck) *Spec {
	sp := &Spec{Kind: KindProto}
	switch pc.Kind {
	case "redis":
		sp.proto = []protoStep{
			{step: 1, send: fixed("*1\r\n$4\r\nPING\r\n")},
			{step: 2, expect: &protoExpect{str: []byte("+PONG\r\n"), minRecv: -1, err: StatusL7STS,
				onError: func(b []byte) string { return cutCRLF(b) }, onSuccess: text("Redis server is ok")}},
		}
	case "ssl-hello":
		sp.proto = []protoStep{
			{step: 1, send: sslv3Hello},
			{step: 2, expect: &protoExpect{re: regexp.MustCompile("^1[56]"), hexRe: true, minRecv: 5,
				ok: StatusL6OK, err: StatusL6RSP, tout: StatusL6TOUT}},
		}
	case "smtp":
		payloadText := func(b []byte) string { return cutCRLF(bytes.TrimLeft(from(b, 4), " ")) }
		sp.proto = []protoStep{
			{step: 1, connect: true},
			{step: 2, expect: &protoExpect{re: regexp.MustCompile("^[0-9]{3}[ \r]"), minRecv: 4,
				err: StatusL7RSP, onError: func(b []byte) string { return cutCRLF(b) }}},
			{step: 3, expect: &protoExpect{re: regexp.MustCompile("^2[0-9]{2}[ \r]"), minRecv: 4,
				err: StatusL7STS, onError: payloadText, code: smtpCode}},
			{step: 4, send: fixed(pc.SMTP + "\r\n")},
			// The whole (multi-line) answer to EHLO, then a QUIT so the
			// server does not log an aborted session (2.6.12's rules).
			{step: 5, expect: &protoExpect{re: regexp.MustCompile("^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]"), minRecv: -1,
				err: StatusL7STS, onError: payloadText, onSuccess: payloadText, code: smtpCode}},
			{step: 6, send: fixed("QUIT\r\n")},
			{step: 7, expect: &protoExpect{re: regexp.MustCompile("^2[0-9]{2}[- \r]"), minRecv: 4,
				err: StatusL7STS, onError: payloadText, onSuccess: payloadText, code: smtpCode}},
		}
	case "pgsql":
		req := binary.BigEndian.AppendUint32(nil, uint32(15+len(pc.User)))
		req = append(req, 0, 3, 0, 0)
		req = append(req, "user\x00"...)
		req = append(req, pc.User...)
		req = append(req, 0, 0)
		sp.proto = []protoStep{
			{step: 1, connect: true},
			{step: 2, send: fixed(string(req))},
			{step: 3, expect: &protoExpect{re: regexp.MustCompile("^E"), inverse: true, minRecv: 5,
				err: StatusL7RSP, onError: func(b []byte) string { return cString(from(b, 6)) }}},
			{step: 4, expect: &protoExpect{re: regexp.MustCompile("^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)"), hexRe: true, minRecv: 9,
				err: StatusL7STS, onSuccess: text("PostgreSQL server is ok"), onError: text("PostgreSQL unknown error")}},
		}
	case "mysql":
		sp.proto = []protoStep{{step: 1, connect: true}}
		if pc.User != "" {
			sp.proto = append(sp.proto,
				protoStep{step: 2, send: fixed(string(mysqlAuth(pc.User, pc.Pre41)))},
				protoStep{step: 3, expect: &protoExpect{custom: mysqlHandshake}},
				protoStep{step: 4, expect: &protoExpect{custom: mysqlOK}})
		} else {
			sp.proto = append(sp.proto, protoStep{step: 2, expect: &protoExpect{custom: mysqlHandshake}})
		}
	case "ldap":
		sp.proto = []protoStep{
			{step: 1, send: fixed("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00")},
			{step: 2, expect: &protoExpect{re: regexp.MustCompile("^30"), hexRe: true, minRecv: 14,
				onError: text("Not LDAPv3 protocol")}},
			{step: 3, expect: &protoExpect{custom: ldapBindResponse}},
		}
	}
	return sp
}

func fixed(s string) func() []byte { return func() []byte { return []byte(s) } }
func text(s string) func([]byte) string {
	return func([]byte) string { return s }
}

// from is res.payload(off,0): the bytes from off on.
func from(b []byte, off int) []byte {
	if off > len(b) {
		return nil
	}
	return b[off:]
}

// cutCRLF is HAProxy's cut_crlf converter: up to the first CR or LF.
func cutCRLF(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// cString is what HAProxy keeps of a check description: up to a NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// smtpCode is "status-code res.payload(0,3)": the reply's code.
func smtpCode(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	n, err := strconv.Atoi(string(b[:3]))
	if err != nil {
		return 0
	}
	return n
}

// sslv3Hello is HAProxy's SSLv3 CLIENT HELLO: the current time in the
// first four bytes of the random, "HAPROXYSSLCHK\n" twice after it, and
// 39 common cipher suites.
func sslv3Hello() []byte {
	b := []byte{0x16, 0x03, 0x00, 0x00, 0x79, 0x01, 0x00, 0x00, 0x75, 0x03, 0x00}
	b = binary.BigEndian.AppendUint32(b, uint32(time.Now().Unix()))
	b = append(b, "HAPROXYSSLCHK\nHAPROXYSSLCHK\n"...)
	b = append(b, 0x00, 0x00, 0x4e)
	for c := 0x01; c <= 0x1b; c++ {
		b = append(b, 0, byte(c))
	}
	for c := 0x2f; c <= 0x3a; c++ {
		b = append(b, 0, byte(c))
	}
	return append(b, 0x01, 0x00)
}

// mysqlAuth is the client authentication packet HAProxy sends for user
// (4.1+ format, or 4.0 with pre-41), followed by a COM_QUIT packet.
func mysqlAuth(user string, pre41 bool) []byte {
	var body []byte
	if pre41 {
		body = append(body, 0x00, 0x80, 0x00, 0x00, 0x01)
	} else {
		body = append(body, 0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21)
		body = append(body, make([]byte, 23)...)
	}
	body = append(body, user...)
	body = append(body, 0x00, 0x00)
	n := len(user) + 7
	if !pre41 {
		n += 27
	}
	out := []byte{byte(n), byte(n >> 8), byte(n >> 16), 1}
	out = append(out, body...)
	return append(out, 0x01, 0x00, 0x00, 0x00, 0x01)
}

// mysqlPacket is tcpcheck_mysql_expect_packet: the packet at off must be
// complete and not an error packet.
func mysqlPacket(buf []byte, off int, last bool) (stepVerdict, Result) {
	if len(buf) < off+4 {
		if !last {
			return vWait, Result{}
		}
		return vStop, Result{Status: StatusL7RSP}
	}
	plen := int(buf[off]) | int(buf[off+1])<<8 | int(buf[off+2])<<16
	if len(buf) < off+plen+4 {
		if !last {
			return vWait, Result{}
		}
		return vStop, Result{Status: StatusL7RSP}
	}
	if len(buf) > off+4 && buf[off+4] == 0xff {
		res := Result{Status: StatusL7STS}
		if len(buf) >= off+7 {
			res.Code = int(buf[off+5]) | int(buf[off+6])<<8
			res.Info = cString(buf[off+7:])
		}
		return vStop, res
	}
	return vContinue, Result{}
}

func mysqlHandshake(buf []byte, last bool) (stepVerdict, Result) {
	return mysqlPacket(buf, 0, last)
}

func mysqlOK(buf []byte, last bool) (stepVerdict, Result) {
	hs := 4 + (int(buf[0]) | int(buf[1])<<8 | int(buf[2])<<16)
	return mysqlPacket(buf, hs, last)
}

// ldapBindResponse is tcpcheck_ldap_expect_bindrsp: an LDAPv3
// bindResponse to message 1 whose resultCode is 0.
func ldapBindResponse(buf []byte, last bool) (stepVerdict, Result) {
	notLDAP := Result{Status: StatusL7RSP, Info: "Not LDAPv3 protocol"}
	short := func() (stepVerdict, Result) {
		if !last {
			return vWait, Result{}
		}
		return vStop, Result{Status: StatusL7RSP}
	}
	if len(buf) < 2 {
		return short()
	}
	p, nbytes, msglen := 1, 0, 0
	if buf[p]&0x80 != 0 {
		nbytes = int(buf[p] & 0x7f)
		if len(buf) < 1+nbytes {
			return short()
		}
		switch nbytes {
		case 4:
			if len(buf) < p+5 {
				return short()
			}
			msglen = int(binary.BigEndian.Uint32(buf[p+1:]))
		case 2:
			if len(buf) < p+3 {
				return short()
			}
			msglen = int(binary.BigEndian.Uint16(buf[p+1:]))
		default:
			return vStop, notLDAP
		}
	} else {
		msglen = int(buf[p])
	}
	p += 1 + nbytes
	if len(buf) < 2+nbytes+msglen {
		return short()
	}
	if len(buf) < p+4 || !bytes.Equal(buf[p:p+4], []byte{0x02, 0x01, 0x01, 0x61}) {
		return vStop, notLDAP
	}
	p += 4
	if len(buf) < p+1 {
		return vStop, notLDAP
	}
	if buf[p]&0x80 != 0 {
		p += int(buf[p] & 0x7f)
	}
	p++
	if len(buf) < p+3 || buf[p] != 0x0a || buf[p+1] != 0x01 {
		return vStop, notLDAP
	}
	if code := int(buf[p+2]); code != 0 {
		return vStop, Result{Status: StatusL7STS, Code: code, Info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"}
	}
	return vContinue, Result{}
}

// eval is tcpcheck_eval_expect for one rule against what was read.
func (e *protoExpect) eval(buf []byte, last bool) (stepVerdict, Result) {
	last = last || len(buf) >= maxRead
	if e.custom != nil {
		return e.custom(buf, last)
	}
	if !last {
		if e.str != nil && len(buf) < len(e.str) || e.minRecv > 0 && len(buf) < e.minRecv {
			return vWait, Result{}
		}
	}
	var match bool
	switch {
	case e.str != nil:
		match = bytes.Contains(buf, e.str)
	case e.hexRe:
		match = e.re.MatchString(strings.ToUpper(hex.EncodeToString(buf)))
	default:
		match = e.re.Match(buf)
	}
	if !match && !last && e.minRecv < 0 {
		return vWait, Result{}
	}
	if match != e.inverse {
		return vContinue, Result{}
	}
	res := Result{Status: e.errStatus()}
	if e.onError != nil {
		res.Info = e.onError(buf)
	}
	if e.code != nil {
		res.Code = e.code(buf)
	}
	return vStop, res
}

// execProto runs a protocol check as tcpcheck_main runs its rule set: an
// implicit connect first unless the set starts with one; consecutive
// expect rules share what was read, and one that needs more data makes
// the chain start over once more has come.
func (r *run) execProto(ctx context.Context) Result {
	steps := r.sp.proto
	if !steps[0].connect {
		if res, done := r.connect(ctx, &rule{kind: ruleConnect, connect: &connectRule{implicit: true}}); done {
			return res
		}
	}
	var (
		buf      []byte
		last     bool
		mustRead = true
		head     = -1
	)
	for i := 0; i < len(steps); i++ {
		st := &steps[i]
		switch {
		case st.connect:
			if res, done := r.connect(ctx, &rule{kind: ruleConnect, connect: &connectRule{implicit: true}}); done {
				return res
			}
			buf, last, mustRead, head = nil, false, true, -1
		case st.send != nil:
			if _, err := r.conn.Write(st.send()); err != nil {
				if isTimeout(err) {
					return Result{Status: StatusL7TOUT}
				}
				return Result{Status: StatusSOCKERR, Info: errText(err)}
			}
			buf, last, mustRead, head = buf[:0], false, true, -1
		case st.expect != nil:
			if head < 0 {
				head = i
			}
			if mustRead {
				if res, done := r.protoRecv(&buf, &last, &steps[head]); done {
					return res
				}
				mustRead = false
			}
			switch v, res := st.expect.eval(buf, last); v {
			case vStop:
				return protoInfo(res)
			case vWait:
				if res, done := r.protoRecv(&buf, &last, &steps[head]); done {
					return res
				}
				i = head - 1
			}
		}
	}
	// Every rule passed: HAProxy sets the status of the last expect rule,
	// with its on-success text, over what a custom rule had set (so a
	// MySQL or LDAP check that passed has no description).
	e := steps[len(steps)-1].expect
	if e == nil {
		return Result{Status: StatusL7OK}
	}
	res := Result{Status: e.okStatus()}
	if e.onSuccess != nil {
		res.Info = e.onSuccess(buf)
	}
	if e.code != nil {
		res.Code = e.code(buf)
	}
	return protoInfo(res)
}

// protoInfo keeps what HAProxy's check description holds: 127 bytes.
func protoInfo(res Result) Result {
	res.Info = cString([]byte(res.Info))
	if len(res.Info) > 127 {
		res.Info = res.Info[:127]
	}
	return res
}

// protoRecv reads the server's next bytes into buf (tcpcheck_eval_recv):
// a timeout ends the check with the chain head's timeout status, nothing
// at all before the end of the stream with its error status.
func (r *run) protoRecv(buf *[]byte, last *bool, head *protoStep) (Result, bool) {
	if *last {
		return Result{}, false
	}
	tmp := make([]byte, min(4096, maxRead-len(*buf)))
	n, err := r.br.Read(tmp)
	*buf = append(*buf, tmp[:n]...)
	if len(*buf) >= maxRead {
		*last = true
	}
	if err == nil {
		return Result{}, false
	}
	if isTimeout(err) {
		st := StatusL7TOUT
		if head.expect.tout != StatusUNK {
			st = head.expect.tout
		}
		return Result{Status: st}, true
	}
	if len(*buf) == 0 {
		if err == io.EOF {
			return Result{Status: head.expect.errStatus(), Info: fmt.Sprintf("TCPCHK got an empty response at step %d", head.step)}, true
		}
		return Result{Status: StatusSOCKERR, Info: errText(err)}, true
	}
	*last = true
	return Result{}, false
}

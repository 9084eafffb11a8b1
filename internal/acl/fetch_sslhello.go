package acl

import (
	"encoding/hex"
	"strings"

	"github.com/gatehouse/gatehouse/internal/tlsconf"
)

// The ClientHello fetches read what "tune.ssl.capture-buffer-size" kept
// (Txn.Hello): nothing without it, as HAProxy. An optional non-zero
// argument drops RFC 8701 GREASE values.
func sslHelloFetches() []fetchDef {
	const filter = " (cut at tune.ssl.capture-buffer-size; a non-zero argument drops GREASE values)"
	return []fetchDef{
		{name: "ssl_fc_cipherlist_bin", args: "I", out: tBin, need: NeedTLS, fn: helloList(helloCiphers, false), doc: "the ClientHello's cipher list, 2 bytes per suite" + filter},
		{name: "ssl_fc_cipherlist_hex", args: "I", out: tBin, need: NeedTLS, fn: helloList(helloCiphers, true), doc: "the ClientHello's cipher list in upper-case hexadecimal" + filter},
		{name: "ssl_fc_cipherlist_str", args: "I", out: tStr, need: NeedTLS, fn: fetchSSLFCCipherListStr, doc: "the ClientHello's cipher list as OpenSSL's names separated by ',', UNKNOWN(xxxx) for suites OpenSSL 3.0 does not know" + filter},
		{name: "ssl_fc_cipherlist_xxh", out: tInt, need: NeedTLS, fn: fetchSSLFCCipherXXH, doc: "the XXH64 (seed 0) of the ClientHello's whole cipher list, as a signed integer; needs tune.ssl.capture-buffer-size > 0"},
		{name: "ssl_fc_extlist_bin", args: "I", out: tBin, need: NeedTLS, fn: helloList(helloExtensions, false), doc: "the ClientHello's extension types, 2 bytes each, in order; as HAProxy 2.6, a last extension without data is not listed" + filter},
		{name: "ssl_fc_eclist_bin", args: "I", out: tBin, need: NeedTLS, fn: helloList(helloCurves, false), doc: "the ClientHello's supported groups, 2 bytes each" + filter},
		{name: "ssl_fc_ecformats_bin", out: tBin, need: NeedTLS, fn: helloList(helloPointFormats, false), doc: "the ClientHello's EC point formats, 1 byte each (cut at tune.ssl.capture-buffer-size)"},
		{name: "ssl_fc_protocol_hello_id", out: tInt, need: NeedTLS, fn: fetchSSLFCHelloID, doc: "the version field of the ClientHello (771 for TLS 1.2 and 1.3 clients, which name 1.3 in an extension); needs tune.ssl.capture-buffer-size > 0"},
	}
}

func helloCiphers(h *tlsconf.Hello) []byte      { return h.Ciphers }
func helloExtensions(h *tlsconf.Hello) []byte   { return h.Extensions }
func helloCurves(h *tlsconf.Hello) []byte       { return h.Curves }
func helloPointFormats(h *tlsconf.Hello) []byte { return h.PointFormats }

func helloList(list func(*tlsconf.Hello) []byte, asHex bool) fetchFn {
	return func(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
		if !t.TLS || t.Hello == nil {
			return none()
		}
		b := list(t.Hello)
		if a.n > 0 && a.num[0] != 0 {
			b = tlsconf.DropGREASE(b)
		}
		if asHex {
			return sample{typ: tBin, s: strings.ToUpper(hex.EncodeToString(b))}, cursor{}, fVal
		}
		return sample{typ: tBin, s: string(b)}, cursor{}, fVal
	}
}

func fetchSSLFCCipherXXH(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS || t.Hello == nil {
		return none()
	}
	return intSmp(int64(t.Hello.CipherXXH64)), cursor{}, fVal
}

func fetchSSLFCHelloID(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS || t.Hello == nil {
		return none()
	}
	return intSmp(int64(t.Hello.Version)), cursor{}, fVal
}

func fetchSSLFCCipherListStr(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	smp, _, r := helloList(helloCiphers, false)(t, a, c)
	if r != fVal {
		return smp, cursor{}, r
	}
	return strSmp(tlsconf.CipherListString([]byte(smp.s))), cursor{}, fVal
}

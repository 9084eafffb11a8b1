package acl

import "fmt"

func connFetches() []fetchDef {
	return []fetchDef{
		{name: "src", out: tIP, need: NeedConn, fn: fetchSrc, doc: "the client's address (IPv4-mapped IPv6 addresses are unmapped)"},
		{name: "src_port", out: tInt, need: NeedConn, fn: fetchSrcPort, doc: "the client's port"},
		{name: "dst", out: tIP, need: NeedConn, fn: fetchDst, doc: "the address the client connected to"},
		{name: "dst_port", out: tInt, need: NeedConn, fn: fetchDstPort, doc: "the port the client connected to"},
		{name: "ssl_fc", out: tBool, need: NeedTLS, fn: fetchSSLFC, doc: "true when the client connection uses TLS"},
		{name: "ssl_fc_has_sni", out: tBool, need: NeedTLS, fn: fetchSSLFCHasSNI, doc: "true when the client sent a server name"},
		{name: "ssl_fc_sni", out: tStr, need: NeedTLS, fn: fetchSSLFCSNI, doc: "the server name the client sent"},
		{name: "ssl_fc_alpn", out: tStr, need: NeedTLS, fn: fetchSSLFCALPN, doc: "the negotiated ALPN protocol"},
		{name: "ssl_fc_protocol", out: tStr, need: NeedTLS, fn: fetchSSLFCProto, doc: "the TLS version, e.g. \"TLSv1.3\""},
		{name: "fe_name", out: tStr, fn: fetchFEName, doc: "the frontend's name"},
		{name: "be_name", out: tStr, fn: fetchBEName, doc: "the backend's name"},
		{name: "srv_name", out: tStr, fn: fetchSrvName, doc: "the server's name"},
		{name: "unique-id", out: tStr, fn: fetchUniqueID, doc: "the request's unique id"},

		{name: "str", args: "S", out: tStr, fn: fetchConstStr, doc: "a constant string (empty when none is given, as in HAProxy)"},
		{name: "int", args: "i", out: tInt, fn: fetchConstInt, doc: "a constant integer"},
		{name: "bool", args: "s", out: tBool, fn: fetchConstBool, check: checkBoolArg, doc: "a constant boolean: true, false, 1 or 0"},
		{name: "always_true", out: tBool, fn: fetchTrue, doc: "always true"},
		{name: "always_false", out: tBool, fn: fetchFalse, doc: "always false"},
		{name: "wait_end", out: tBool, need: NeedWaitEnd, fn: fetchWaitEnd, doc: "true once the inspection period is over; waits until then"},

		{name: "oidc_claim", args: "s", out: tStr, need: NeedClaims, multi: true, join: true, fn: fetchClaim,
			doc: "an identity claim; arrays give several values, joined with ',' in string context"},
	}
}

// checkBoolArg validates bool()'s argument and stores it in num[0].
func checkBoolArg(a *fetchArgs) error {
	switch a.str[0] {
	case "true", "1":
		a.num[0] = 1
	case "false", "0":
		a.num[0] = 0
	default:
		return fmt.Errorf("expected 'true', 'false', '1' or '0', got '%s'", a.str[0])
	}
	return nil
}

func fetchSrc(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.Src.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return ipSmp(t.Src.Addr().Unmap()), cursor{}, fVal
}

func fetchSrcPort(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.Src.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(t.Src.Port())), cursor{}, fVal
}

func fetchDst(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.Dst.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return ipSmp(t.Dst.Addr().Unmap()), cursor{}, fVal
}

func fetchDstPort(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.Dst.IsValid() {
		return sample{}, cursor{}, fNone
	}
	return intSmp(int64(t.Dst.Port())), cursor{}, fVal
}

func fetchSSLFC(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return boolSmp(t.TLS), cursor{}, fVal
}

func fetchSSLFCHasSNI(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return boolSmp(t.TLS && t.SNI != ""), cursor{}, fVal
}

func strOrNone(s string) (sample, cursor, fres) {
	if s == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(s), cursor{}, fVal
}

func fetchSSLFCSNI(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return sample{}, cursor{}, fNone
	}
	return strOrNone(t.SNI)
}

func fetchSSLFCALPN(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return sample{}, cursor{}, fNone
	}
	return strOrNone(t.ALPN)
}

func fetchSSLFCProto(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if !t.TLS {
		return sample{}, cursor{}, fNone
	}
	return strOrNone(t.TLSVersion)
}

func fetchFEName(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres)  { return strOrNone(t.Frontend) }
func fetchBEName(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres)  { return strOrNone(t.Backend) }
func fetchSrvName(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) { return strOrNone(t.Server) }
func fetchUniqueID(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return strOrNone(t.UniqueID)
}

func fetchConstStr(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return strSmp(a.str[0]), cursor{}, fVal
}

func fetchConstInt(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return intSmp(a.num[0]), cursor{}, fVal
}

func fetchConstBool(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return boolSmp(a.num[0] != 0), cursor{}, fVal
}

func fetchTrue(*Txn, *fetchArgs, cursor) (sample, cursor, fres) { return boolSmp(true), cursor{}, fVal }
func fetchFalse(*Txn, *fetchArgs, cursor) (sample, cursor, fres) {
	return boolSmp(false), cursor{}, fVal
}

func fetchWaitEnd(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.Inspecting {
		return sample{}, cursor{}, fMay
	}
	return boolSmp(true), cursor{}, fVal
}

func fetchClaim(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	if t.Claims == nil {
		return sample{}, c, fNone
	}
	vals := t.Claims(a.str[0])
	if c.i >= len(vals) {
		return sample{}, c, fNone
	}
	return strSmp(vals[c.i]), cursor{c.i + 1, 0}, fVal
}

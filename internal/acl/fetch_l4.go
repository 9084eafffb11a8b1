package acl

func l4Fetches() []fetchDef {
	return []fetchDef{
		{name: "req.len", out: tInt, need: NeedPayload, fn: fetchReqLen, doc: "bytes of payload received so far"},
		{name: "req_len", out: tInt, need: NeedPayload, fn: fetchReqLen, doc: "alias of req.len"},
		{name: "req.payload", args: "ii", out: tBin, need: NeedPayload, fn: fetchPayload, check: checkPayloadArgs,
			doc: "<len> payload bytes at <offset> (len 0: to the end of the buffer)"},
		{name: "req.ssl_hello_type", out: tInt, need: NeedPayload, fn: fetchHelloType,
			doc: "the type of the first TLS handshake message: 1 ClientHello, 2 ServerHello"},
		{name: "req_ssl_hello_type", out: tInt, need: NeedPayload, fn: fetchHelloType, doc: "alias of req.ssl_hello_type"},
		{name: "req.ssl_sni", out: tStr, need: NeedPayload, fn: fetchReqSNI, doc: "the server name of the ClientHello"},
		{name: "req_ssl_sni", out: tStr, need: NeedPayload, fn: fetchReqSNI, doc: "alias of req.ssl_sni"},
		{name: "req.ssl_ver", out: tInt, need: NeedPayload, match: mVer, fn: fetchReqSSLVer,
			doc: "the hello's protocol version, major*65536+minor (TLSv1.2 and 1.3: 3.3)"},
		{name: "req_ssl_ver", out: tInt, need: NeedPayload, match: mVer, fn: fetchReqSSLVer, doc: "alias of req.ssl_ver"},
		{name: "req.ssl_alpn", out: tStr, need: NeedPayload, multi: true, strOcc: 1, fn: fetchReqALPN,
			doc: "the ALPN protocols of the ClientHello; ACLs try each, string context gives the first"},
	}
}

func checkPayloadArgs(a *fetchArgs) error {
	if a.num[0] < 0 || a.num[1] < 0 {
		return errNegative
	}
	return nil
}

// payloadMiss is the answer when a value is not there (yet).
func payloadMiss(t *Txn, st helloStatus) fres {
	if st == hShort && t.Inspecting {
		return fMay
	}
	return fNone
}

func payloadVal(t *Txn) fres {
	if t.Inspecting {
		return fVal | fMay
	}
	return fVal
}

func fetchReqLen(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return intSmp(int64(len(t.Payload))), cursor{}, payloadVal(t)
}

func fetchPayload(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	off, n := a.num[0], a.num[1]
	p := t.Payload
	if n == 0 {
		if off > int64(len(p)) {
			return sample{}, cursor{}, payloadMiss(t, hShort)
		}
		return sample{typ: tBin, s: view(p[off:])}, cursor{}, payloadVal(t)
	}
	if off+n > int64(len(p)) {
		return sample{}, cursor{}, payloadMiss(t, hShort)
	}
	return sample{typ: tBin, s: view(p[off : off+n])}, cursor{}, fVal
}

func fetchHelloType(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	typ, _, buf, st := handshakeMsg(t.Payload, t.fbuf)
	t.fbuf = buf
	if st != hOK {
		return sample{}, cursor{}, payloadMiss(t, st)
	}
	return intSmp(int64(typ)), cursor{}, fVal
}

// hello parses the ClientHello in the payload.
func hello(t *Txn) (clientHello, helloStatus) {
	typ, body, buf, st := handshakeMsg(t.Payload, t.fbuf)
	t.fbuf = buf
	if st != hOK {
		return clientHello{}, st
	}
	if typ != hsClientHello {
		return clientHello{}, hBad
	}
	h, ok := parseClientHello(body)
	if !ok {
		return clientHello{}, hBad
	}
	return h, hOK
}

func fetchReqSNI(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	h, st := hello(t)
	if st != hOK || !h.hasSNI {
		return sample{}, cursor{}, payloadMiss(t, st)
	}
	return strSmp(view(h.sni)), cursor{}, fVal
}

func fetchReqSSLVer(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	v, st := sslVersion(t.Payload)
	if st != hOK {
		return sample{}, cursor{}, payloadMiss(t, st)
	}
	return intSmp(v), cursor{}, fVal
}

func fetchReqALPN(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	h, st := hello(t)
	if st != hOK {
		return sample{}, c, payloadMiss(t, st)
	}
	if a.occ != 0 && c != (cursor{}) {
		return sample{}, c, fNone
	}
	p, next, ok := nextALPN(h.alpn, c.i)
	if !ok {
		return sample{}, cursor{next, 0}, fNone
	}
	return strSmp(view(p)), cursor{next, 0}, fVal
}

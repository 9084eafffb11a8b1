package acl

// rdpFetches read the RDP cookie of a client's connection request (an
// X.224 Connection Request in a TPKT whose user data starts with
// "Cookie: <name>=<value>\r\n", MS-RDPBCGR 2.2.1.1).
func rdpFetches() []fetchDef {
	return []fetchDef{
		{name: "req.rdp_cookie", args: "S", out: tStr, need: NeedPayload, fn: fetchRDPCookie,
			doc: "the value of the RDP cookie <name> (case-insensitive), or of the first cookie without a name, of the client's RDP connection request"},
		{name: "rdp_cookie", args: "S", out: tStr, need: NeedPayload, fn: fetchRDPCookie, doc: "alias of req.rdp_cookie"},
		{name: "req.rdp_cookie_cnt", args: "S", out: tInt, need: NeedPayload, fn: fetchRDPCookieCnt,
			doc: "1 when the client's RDP connection request carries the cookie <name> (any cookie without a name), else 0"},
		{name: "rdp_cookie_cnt", args: "S", out: tInt, need: NeedPayload, fn: fetchRDPCookieCnt, doc: "alias of req.rdp_cookie_cnt"},
	}
}

// RDPStatus says what RDPCookie found.
type RDPStatus uint8

const (
	RDPFound    RDPStatus = iota
	RDPShort              // not enough bytes yet to tell
	RDPNotFound           // not an RDP cookie, or not that one
)

// RDPCookie finds the RDP cookie name (any cookie when name is "") in p
// as HAProxy 2.6's fetch_rdp_cookie_name: it skips the 11 bytes of the
// TPKT and X.224 headers, then expects "Cookie:" (any case), spaces,
// "<name>=" (the name in any case) and a value ended by CRLF.
func RDPCookie(p []byte, name string) ([]byte, RDPStatus) {
	if len(p) <= 11 {
		return nil, RDPShort
	}
	d := p[11:]
	if len(d) <= 7 {
		return nil, RDPShort
	}
	if !equalFoldASCII(d[:7], "Cookie:") {
		return nil, RDPNotFound
	}
	d = d[7:]
	for len(d) > 0 && d[0] == ' ' {
		d = d[1:]
	}
	if name != "" {
		if len(d) <= len(name) {
			return nil, RDPShort
		}
		if d[len(name)] != '=' || !equalFoldASCII(d[:len(name)], name) {
			return nil, RDPNotFound
		}
		d = d[len(name)+1:]
	} else {
		for len(d) > 0 && d[0] != '=' {
			if d[0] == '\r' || d[0] == '\n' {
				return nil, RDPNotFound
			}
			d = d[1:]
		}
		if len(d) < 1 {
			return nil, RDPShort
		}
		d = d[1:]
	}
	n := 0
	for n < len(d) && d[n] != '\r' {
		n++
	}
	if len(d)-n < 2 {
		return nil, RDPShort
	}
	if d[n+1] != '\n' {
		return nil, RDPNotFound
	}
	return d[:n], RDPFound
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func fetchRDPCookie(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	v, st := RDPCookie(t.Payload, a.str[0])
	switch st {
	case RDPShort:
		return sample{}, cursor{}, payloadMiss(t, hShort)
	case RDPNotFound:
		return sample{}, cursor{}, fNone
	}
	return strSmp(view(v)), cursor{}, fVal
}

// fetchRDPCookieCnt answers 1 or 0 once the request can tell, and no
// value while it cannot (HAProxy's smp_fetch_rdp_cookie_cnt).
func fetchRDPCookieCnt(t *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	_, st := RDPCookie(t.Payload, a.str[0])
	switch st {
	case RDPShort:
		return sample{}, cursor{}, payloadMiss(t, hShort)
	case RDPNotFound:
		return intSmp(0), cursor{}, fVal
	}
	return intSmp(1), cursor{}, fVal
}

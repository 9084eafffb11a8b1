package acl

// compFetches are the compression filter's fetches, as HAProxy 2.6 has
// them: decided on the server's head, before the http-response rules.
func compFetches() []fetchDef {
	return []fetchDef{
		{name: "res.comp", out: tBool, need: NeedResp, fn: fetchResComp,
			doc: "true when the response is compressed by the proxy ('compression')"},
		{name: "res.comp_algo", out: tStr, need: NeedResp, fn: fetchResCompAlgo,
			doc: "the algorithm compressing the response (its 'compression algo' name); none when it is not compressed"},
	}
}

func fetchResComp(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return boolSmp(t.CompAlgo != ""), cursor{}, fVal
}

func fetchResCompAlgo(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.CompAlgo == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(t.CompAlgo), cursor{}, fVal
}

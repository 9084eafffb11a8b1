package acl

// compFetches are the compression and cache filters' fetches, as HAProxy
// 2.6 has them: decided on the server's head (or the cache's hit), before
// the http-response rules.
func compFetches() []fetchDef {
	return []fetchDef{
		{name: "res.comp", out: tBool, need: NeedResp, fn: fetchResComp,
			doc: "true when the response is compressed by the proxy ('compression')"},
		{name: "res.comp_algo", out: tStr, need: NeedResp, fn: fetchResCompAlgo,
			doc: "the algorithm compressing the response (its 'compression algo' name); none when it is not compressed"},
		{name: "res.cache_hit", out: tBool, need: NeedResp, fn: fetchResCacheHit,
			doc: "true when the response was built from a cache entry ('http-request cache-use')"},
		{name: "res.cache_name", out: tStr, need: NeedResp, fn: fetchResCacheName,
			doc: "the name of the cache the response came from; none when it did not come from one"},
	}
}

func fetchResCacheHit(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	return boolSmp(t.CacheHit != ""), cursor{}, fVal
}

func fetchResCacheName(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
	if t.CacheHit == "" {
		return sample{}, cursor{}, fNone
	}
	return strSmp(t.CacheHit), cursor{}, fVal
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

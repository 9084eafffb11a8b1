package acl

// Fetches about the proxies' state rather than the request.
func proxyFetches() []fetchDef {
	return []fetchDef{
		{name: "nbsrv", args: "S", out: tInt, fn: fetchNbsrv,
			doc: "the number of usable servers of the named backend, or of the current one (the active servers up, else the backups in use); 0 for an unknown name"},
	}
}

func fetchNbsrv(t *Txn, a *fetchArgs, c cursor) (sample, cursor, fres) {
	name := t.Backend
	if a.n > 0 {
		name = a.str[0]
	} else if name == "" {
		name = t.Frontend // a listen section is its own backend
	}
	n := 0
	if t.UsableServers != nil {
		n = t.UsableServers(name)
	}
	return intSmp(int64(n)), c, fVal
}

package cfgparse

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// sessionStoreKeyword is the oidc section's "session-store": server-side
// sessions in Valkey/Redis.
func sessionStoreKeyword() keyword {
	return keyword{name: "session-store", parse: parseSessionStore,
		syntax: "session-store redis <addr> | sentinel <master> <addr>... | cluster <addr>... [tls] [ca-file <file>] [user <name>] [password file:<path>|env:<NAME>] [db <n>] [prefix <p>]",
		desc: "Keep sessions in Valkey/Redis, shared by every replica: the cookie holds only a ticket (session id and a per-session secret), the store the session sealed with that secret; sessions can be listed and ended (runtime API, sign-out), and one replica refreshes a session for all. " +
			"'sentinel' follows the primary that Sentinel names <master>; 'cluster' spreads keys over a Redis Cluster. Requests that need a session get 503 while the store is unreachable. Default: sessions live in the cookies."}
}

func parseSessionStore(p *parser, args []token) error {
	if p.oidc.SessionStore != nil {
		return fmt.Errorf("'session-store' is already set for this section.")
	}
	if len(args) < 2 || args[1].Text != "redis" {
		return fmt.Errorf("'session-store' expects 'redis' followed by an address (the only store kind).")
	}
	st := &config.SessionStore{Pos: p.pos(), Kind: "redis"}
	rest := args[2:]
	form := ""
	if len(rest) > 0 && (rest[0].Text == "sentinel" || rest[0].Text == "cluster") {
		form, rest = rest[0].Text, rest[1:]
	}
	if form == "sentinel" {
		if len(rest) == 0 || isStoreOption(rest[0].Text) {
			return fmt.Errorf("'session-store redis sentinel' expects the name of the primary, then the sentinels' addresses.")
		}
		st.Master, rest = rest[0].Text, rest[1:]
	}
	st.Cluster = form == "cluster"
	for len(rest) > 0 && !isStoreOption(rest[0].Text) {
		addr := rest[0].Text
		if !validAddr(addr) {
			if len(st.Addrs) > 0 && form == "" {
				return fmt.Errorf("'session-store' : unknown option '%s' (expected tls, ca-file, user, password, db or prefix).", addr)
			}
			return fmt.Errorf("'session-store' : invalid address '%s' (want <host>:<port>).", addr)
		}
		if form == "" && len(st.Addrs) == 1 {
			return fmt.Errorf("'session-store redis' takes one address; use 'sentinel <master> <addr>...' or 'cluster <addr>...' for several.")
		}
		st.Addrs = append(st.Addrs, addr)
		rest = rest[1:]
	}
	if len(st.Addrs) == 0 {
		return fmt.Errorf("'session-store redis%s' expects at least one <host>:<port> address.", strings.TrimSuffix(" "+form, " "))
	}
	for len(rest) > 0 {
		opt := rest[0].Text
		need := func() (string, error) {
			if len(rest) < 2 {
				return "", fmt.Errorf("'session-store' : '%s' expects an argument.", opt)
			}
			v := rest[1].Text
			rest = rest[2:]
			return v, nil
		}
		var v string
		var err error
		switch opt {
		case "tls":
			st.TLS, rest = true, rest[1:]
			continue
		case "ca-file", "user", "password", "db", "prefix":
			if v, err = need(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("'session-store' : unknown option '%s' (expected tls, ca-file, user, password, db or prefix).", opt)
		}
		switch opt {
		case "ca-file":
			st.CAFile = p.filePath(p.cfg.Global.CABase, v)
		case "user":
			st.User = v
		case "password":
			ref, err := secretRef(p, []token{{Text: "password"}, {Text: v}})
			if err != nil {
				return fmt.Errorf("'session-store' : password: secrets must be given as 'file:<path>' or 'env:<NAME>'; an inline secret is refused.")
			}
			st.Password = ref
		case "db":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1<<20 {
				return fmt.Errorf("'session-store' : 'db' expects a database number, not '%s'.", v)
			}
			st.DB = n
		case "prefix":
			st.Prefix = v
		}
	}
	if st.CAFile != "" && !st.TLS {
		return fmt.Errorf("'session-store' : 'ca-file' needs 'tls'.")
	}
	if st.Cluster && st.DB != 0 {
		return fmt.Errorf("'session-store' : a cluster has only database 0; 'db' cannot be used with 'cluster'.")
	}
	p.oidc.SessionStore = st
	return nil
}

func validAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	return err == nil && host != "" && perr == nil && n >= 1 && n <= 65535
}

func isStoreOption(s string) bool {
	switch s {
	case "tls", "ca-file", "user", "password", "db", "prefix":
		return true
	}
	return false
}

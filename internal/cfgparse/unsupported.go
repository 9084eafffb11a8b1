package cfgparse

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// What an HAProxy user does instead of each keyword unimplemented.go
// refuses. WriteUnsupported prints them for docs/migrating-from-haproxy.md;
// its test fails when a refused keyword has no advice, or advice names a
// keyword that is no longer refused (implemented: drop its line here).

type unsupportedList struct {
	key, title, prefix string
	names              []string
}

func unsupportedLists() []unsupportedList {
	return []unsupportedList{
		{"section", "Sections", "", unimplementedSections()},
		{"global", "Global keywords", "", unimplementedGlobal()},
		{"proxy", "Proxy keywords (defaults, frontend, backend, listen)", "", unimplementedProxy()},
		{"option", "Proxy options", "option ", unimplementedOptions()},
		{"http-action", "http-request / http-response actions", "", unimplementedHTTPActions()},
		{"bind", "bind options", "", unimplementedBindOptions()},
		{"server", "server options", "", unimplementedServerOptions()},
	}
}

// unsupportedAdvice maps "<list key>:<keyword>" to what to use instead.
func unsupportedAdvice() map[string]string {
	m := map[string]string{}
	add := func(list, advice string, names ...string) {
		for _, n := range names {
			m[list+":"+n] = advice
		}
	}
	const (
		sysDefault   = "Not needed: the operating system's default applies; remove the line."
		goScheduler  = "Not needed: one process uses every core (Go schedules across them); run more replicas for more capacity."
		tcpChecks    = "Use `option httpchk` or `tcp-check connect|send|expect` sequences (e.g. `tcp-check send PING\\r\\n` and `tcp-check expect string +PONG` for Redis)."
		noTPROXY     = "Not supported (needs TPROXY): pass the client's address with PROXY protocol (`send-proxy-v2`) or `option forwardfor`."
		noNamespace  = "Run Gatehouse inside the network namespace (`ip netns exec`, a pod's network)."
		noSigalgs    = "No equivalent: Go's TLS chooses the signature algorithms; restrict versions and ciphers with `ssl-min-ver`, `ciphers`, `ciphersuites`."
		no0RTT       = "Not supported: Gatehouse never sends early data (0-RTT) to a server."
		noEquivalent = "No equivalent; remove it."
		unixSocket   = "No equivalent for UNIX-socket binds: control access with the permissions of the socket's directory."
	)
	add("section", "Proxy to an HTTP server that speaks FastCGI (e.g. nginx with php-fpm).", "fcgi-app")
	add("section", "Use the access logs (`option httplog`, `log-format`) and the stats and Prometheus counters.", "traces")
	add("section", "Reload the configuration (`SIGHUP`, or `-watch` on the files).", "dynamic-update")

	add("global", goScheduler, "nbproc", "thread-groups", "numa-cpu-mapping")
	add("global", "No equivalent: quic-go sizes its send buffers by the congestion window.", "tune.quic.frontend.conn-tx-buffers.limit")
	add("global", "Use `quic-force-retry` on the QUIC bind: a Retry for every new connection.", "tune.quic.retry-threshold")
	add("global", "Not needed: servers are reached over TCP (HTTP/1.1 or HTTP/2), never QUIC.", "tune.quic.backend.max-idle-timeout")
	add("global", "No Lua: write the logic as rules (ACLs, `set-var`, maps, `return`), or run it as a service behind Gatehouse.", "lua-load", "lua-prepend-path")
	add("global", tcpChecks, "external-check", "insecure-fork-wanted")
	add("global", noEquivalent, "tune.idletimer")
	add("global", "Tune HTTP/2 with the `tune.h2.*` keywords Gatehouse has (docs/config-reference.md, docs/http2.md).", "tune.h2.be.glitches-threshold", "tune.h2.fe.rxbuf", "tune.h2.be.rxbuf", "tune.h2.zero-copy-fwd-send")
	add("global", "Not needed: Go's runtime picks the poller (epoll); remove the line.", "busy-polling", "noepoll", "nokqueue", "nopoll")
	add("global", "Profile with `-cpuprofile FILE` (pprof).", "profiling.tasks")
	add("global", "Not needed: a reload happens inside the one process; nothing old lingers past `hard-stop-after`.", "mworker-max-reloads")
	add("global", "HAProxy 2.6 refuses it too (unknown keyword): remove the line; to watch a run, stay in the foreground (`-db`) and read the logs.", "debug")
	add("global", "The runtime API's defaults apply: a session idles out after 10 s, a socket takes 10 connections.", "stats timeout", "stats maxconn")

	add("proxy", noTPROXY, "transparent")
	add("proxy", "Not needed: one process serves every bind.", "bind-process")
	add("proxy", tcpChecks, "external-check")
	add("proxy", noEquivalent, "max-session-srv-conns", "guid")
	add("proxy", "Not needed: one log line per request, at its end (or at its start with `option logasap`).", "log-steps")
	add("proxy", "Declare the address as a `server`.", "dispatch")

	add("option", "No equivalent: offer HTTP/2 through ALPN (`alpn h2,http/1.1`) or `proto h2` on the bind.", "disable-h2-upgrade")
	add("option", tcpChecks, "external-check", "spop-check")
	add("option", "Use `option forwardfor` (X-Forwarded-For), or write the header: `http-request set-header Forwarded for=%[src]`.", "forwarded")
	add("option", noEquivalent, "http-restrict-req-hdr-names", "idle-close-on-response", "independent-streams")
	add("option", "Not supported: Gatehouse is not a forward proxy; use one (e.g. Squid) for that.", "http_proxy")
	add("option", sysDefault, "use-small-buffers")
	add("option", noTPROXY, "transparent")

	add("http-action", "Resolve server names with a `resolvers` section; there is no per-request resolution.", "do-resolve")
	add("http-action", "No SPOE: run the agent's logic as a service behind Gatehouse.", "send-spoe-group")
	add("http-action", "No equivalent: limit bandwidth in the network (tc) or at the server.", "set-bandwidth-limit")
	add("http-action", "Mark packets with nftables or iptables rules on the host.", "set-mark", "set-fc-mark", "set-tos", "set-fc-tos")
	add("http-action", "No queue priorities: give that traffic a backend of its own with its own `maxconn`.", "set-priority-class", "set-priority-offset", "set-nice")
	add("http-action", "Not needed: early data (0-RTT) is accepted only on QUIC binds with `allow-0rtt`, and then only for GET, HEAD and OPTIONS (with `Early-Data: 1` toward the server); other methods get 425 Too Early, which clients retry after the handshake.", "wait-for-handshake")
	add("http-action", "`http-request tarpit` delays and then answers an error; there is no delay that lets the request go on.", "pause")
	add("http-action", "Choose what is retried with the backend's `retry-on` and `retries`.", "disable-l7-retry", "set-retries")

	add("bind", noTPROXY, "transparent")
	add("bind", sysDefault, "nice")
	add("bind", goScheduler, "process", "thread")
	add("bind", "No certificates made on the fly: give each name a certificate (a `crt` directory or a `crt-list`).", "ca-sign-file", "generate-certificates")
	add("bind", unixSocket, "uid", "gid", "mode", "user", "group")
	add("bind", noNamespace, "namespace")
	add("bind", "For the runtime API, use `stats socket PATH level LEVEL`.", "level")
	add("bind", "No equivalent: runtime API answers carry no severity prefix.", "severity-output")
	add("bind", "Not needed: listening sockets survive reloads inside the process (`stats socket ... expose-fd listeners` is accepted with a notice).", "expose-fd")
	add("bind", "Keep keys unencrypted on a protected mount (a Kubernetes Secret, a 0600 file).", "ssl-passphrase")
	add("bind", noSigalgs, "sigalgs", "client-sigalgs")

	add("server", "Answer redirects with `http-request redirect`.", "redir")
	add("server", noTPROXY, "usesrc")
	add("server", noNamespace, "namespace")
	add("server", "No equivalent: a server's points on a consistent-hash ring come from its `id`.", "hash-key")
	add("server", "No CRL checking of servers: revoke by rotating the servers' CA or certificates (`ca-file`).", "crl-file")
	add("server", noEquivalent, "ssl-reuse", "no-ssl-reuse", "check-proto", "shard", "guid")
	add("server", no0RTT, "allow-0rtt")
	add("server", "No equivalent: `timeout server` bounds a stalled connection.", "tcp-ut")
	add("server", "Use `maxqueue`.", "max-queue")
	add("server", "Use `proxy-v2-options` (ssl, cert-cn, ssl-cipher, cert-sig, cert-key, authority, unique-id, crc32c).", "set-proxy-v2-tlv-fmt")
	add("server", "Only meaningful on the `server` lines of a `ring` section, where it is supported.", "log-proto")
	add("server", "Not needed: WebSocket goes to servers over HTTP/1.1.", "ws")
	add("server", noSigalgs, "sigalgs", "client-sigalgs")
	add("server", "Use `send-proxy-v2 proxy-v2-options ssl`.", "send-proxy-v2-ssl")
	add("server", "Use `send-proxy-v2 proxy-v2-options ssl,cert-cn`.", "send-proxy-v2-ssl-cn")
	add("server", "Not needed: a health check opens a connection of its own.", "check-reuse-pool")
	return m
}

// WriteUnsupported writes, per kind, a table of the HAProxy keywords
// Gatehouse refuses and what to use instead. It fails when one has no
// advice, or advice is left for a keyword no longer refused.
func WriteUnsupported(w io.Writer) error {
	advice := unsupportedAdvice()
	used := map[string]bool{}
	var missing []string
	bw := bufio.NewWriter(w)
	for _, l := range unsupportedLists() {
		fmt.Fprintf(bw, "### %s\n\n| Keyword | Instead |\n| --- | --- |\n", l.title)
		var seen []string
		for _, n := range l.names {
			if slices.Contains(seen, n) {
				continue
			}
			seen = append(seen, n)
			k := l.key + ":" + n
			a, ok := advice[k]
			if !ok {
				missing = append(missing, k)
				continue
			}
			used[k] = true
			row(bw, code(l.prefix+n), a)
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "### Keywords HAProxy itself removed\n\nHAProxy 2.6 refuses these too; Gatehouse gives its message.\n\n| Keyword | Instead |\n| --- | --- |\n")
	for _, m := range []struct {
		prefix string
		words  map[string]string
	}{{"", removedProxyKeywords}, {"option ", removedOptions}} {
		for _, k := range slices.Sorted(maps.Keys(m.words)) {
			row(bw, code(m.prefix+k), m.words[k])
		}
	}
	fmt.Fprintln(bw)
	var stale []string
	for k := range advice {
		if !used[k] {
			stale = append(stale, k)
		}
	}
	slices.Sort(stale)
	if len(missing) > 0 || len(stale) > 0 {
		var msg []string
		if len(missing) > 0 {
			msg = append(msg, "no advice in internal/cfgparse/unsupported.go for the refused keywords "+strings.Join(missing, ", "))
		}
		if len(stale) > 0 {
			msg = append(msg, "advice in internal/cfgparse/unsupported.go for keywords no longer refused (remove it): "+strings.Join(stale, ", "))
		}
		return fmt.Errorf("%s", strings.Join(msg, "; "))
	}
	return bw.Flush()
}

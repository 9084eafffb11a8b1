package cfgparse

// HAProxy keywords that Gatehouse knows but does not implement. Meeting one
// is an error naming it as such, never a silent skip and never a confusing
// "unknown keyword".
//
// Implementing one: remove it here and its advice in unsupported.go, then
// GATEHOUSE_UPDATE_DOCS=1 go test -run TestMigrationIsCurrent ./cmd/gatehouse
// (docs/migrating-from-haproxy.md lists what is refused).

func unimplementedSections() []string {
	return []string{
		"fcgi-app",
		"traces", "dynamic-update",
	}
}

func unimplementedGlobal() []string {
	return []string{
		"nbproc",
		"lua-load", "lua-prepend-path",
		"external-check", "insecure-fork-wanted",
		"tune.quic.frontend.conn-tx-buffers.limit", "tune.quic.retry-threshold", "tune.quic.backend.max-idle-timeout",
		"tune.idletimer", "tune.h2.be.glitches-threshold", "tune.h2.fe.rxbuf",
		"tune.h2.be.rxbuf", "tune.h2.zero-copy-fwd-send",
		"busy-polling", "noepoll", "nokqueue", "nopoll", "profiling.tasks",
		"thread-groups",
		"numa-cpu-mapping", "mworker-max-reloads", "debug", "stats timeout", "stats maxconn",
	}
}

func unimplementedProxy() []string {
	return []string{
		"bind-process", "external-check",
		"max-session-srv-conns", "log-steps", "dispatch", "transparent",
		"guid",
	}
}

func unimplementedOptions() []string {
	return []string{
		"disable-h2-upgrade",
		"external-check", "forwarded",
		"http-restrict-req-hdr-names",
		"http_proxy", "idle-close-on-response", "independent-streams",
		"spop-check",
		"transparent", "use-small-buffers",
	}
}

func unimplementedHTTPActions() []string {
	return []string{
		"do-resolve",
		"send-spoe-group", "set-bandwidth-limit",
		"set-mark",
		"set-nice", "set-priority-class", "set-priority-offset",
		"set-tos",
		"wait-for-handshake", "set-fc-mark",
		"set-fc-tos", "pause", "disable-l7-retry", "set-retries",
	}
}

func unimplementedBindOptions() []string {
	return []string{
		"transparent",
		"nice", "process", "thread",
		"ca-sign-file", "generate-certificates",
		"uid", "gid", "mode", "user", "group", "namespace", "level", "severity-output",
		"expose-fd", "ssl-passphrase", "sigalgs", "client-sigalgs",
	}
}

func unimplementedServerOptions() []string {
	return []string{
		"redir", "usesrc", "namespace",
		"crl-file", "ssl-reuse", "no-ssl-reuse", "allow-0rtt", "check-proto",
		"tcp-ut", "max-queue",
		"set-proxy-v2-tlv-fmt", "shard",
		"log-proto", "ws", "guid", "hash-key", "sigalgs", "client-sigalgs",
		"send-proxy-v2-ssl", "send-proxy-v2-ssl-cn", "check-reuse-pool",
	}
}

// Package tlsconf builds Gatehouse's TLS configurations the way HAProxy does.
//
// Server side (bind ... ssl crt PATH ...): a [Store] holds every certificate
// loaded from the crt files and directories of one bind line and picks one
// per handshake from the client's SNI: exact name first (case-insensitive),
// then a wildcard covering exactly one label, then the default certificate,
// which is the first one loaded. The handshake path reads an immutable index
// through an atomic pointer, so it takes no lock. [Store.Reload] and [Watch]
// rotate certificates without a restart: only new handshakes see new
// certificates, established connections keep theirs.
//
// Crt files follow HAProxy: one PEM holding the certificate, its chain and the
// private key, or the key in a sidecar "FILE.key". A directory loads every
// regular file in alphabetical order except names ending in .key, .ocsp,
// .issuer or .sctl and names starting with a dot (which skips the "..data"
// machinery of a Kubernetes secret volume while its symlinked files load).
//
// Client side (server ... ssl ...): a [ClientTemplate] per server line builds
// and caches one *tls.Config per SNI, sharing one session cache so that
// re-encryption to the gateway resumes sessions.
//
// Versions, suites and curves follow the lines' TLS options (options.go):
// versions as HAProxy computes them from ssl-min-ver/ssl-max-ver/no-*/force-*,
// TLS 1.2 suites from OpenSSL cipher strings evaluated as OpenSSL evaluates
// them (ciphers.go), TLS 1.3 suite lists checked to name Go's three fixed
// suites. Without options: TLS 1.2 minimum (HAProxy's default ssl-min-ver) and
// Go's default suites, ECDHE with AES-GCM or ChaCha20-Poly1305 first. The TLS
// 1.2 suite is chosen in the server's order (the client's with
// prefer-client-ciphers), as OpenSSL chooses it (prefer.go); TLS 1.3 suites
// are Go's choice.
package tlsconf

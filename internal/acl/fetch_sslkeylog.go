package acl

import (
	"errors"
)

// The key log fetches read the connection's own key log (Txn.KeyLog): the
// randoms of every TLS connection and, with "tune.ssl.keylog on", its
// secrets, to build NSS key log lines with log-format. Secrets are
// lower-case hexadecimal strings, as OpenSSL's.
func sslKeyLogFetches() []fetchDef {
	const on = " (needs tune.ssl.keylog on)"
	secret := func(name, label, what string) fetchDef {
		return fetchDef{name: name, out: tStr, need: NeedTLS, fn: keyLogSecret(label), doc: "the " + label + " of a TLS 1.3 connection, in hexadecimal" + what + on}
	}
	return []fetchDef{
		{name: "ssl_fc_client_random", out: tBin, need: NeedTLS, fn: fetchSSLFCRandom(true), doc: "the ClientHello's 32-byte random (binary; use ,hex), on every TLS connection"},
		{name: "ssl_fc_server_random", out: tBin, need: NeedTLS, fn: fetchSSLFCRandom(false), doc: "the ServerHello's 32-byte random (binary; use ,hex)"},
		{name: "ssl_bc_client_random", out: tBin, fn: fetchSSLBCRandom(true), doc: "the 32-byte random of the ClientHello sent to the server (binary; use ,hex)"},
		{name: "ssl_bc_server_random", out: tBin, fn: fetchSSLBCRandom(false), doc: "the 32-byte random of the server's ServerHello (binary; use ,hex)"},
		secret("ssl_fc_client_handshake_traffic_secret", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", ""),
		secret("ssl_fc_server_handshake_traffic_secret", "SERVER_HANDSHAKE_TRAFFIC_SECRET", ""),
		secret("ssl_fc_client_traffic_secret_0", "CLIENT_TRAFFIC_SECRET_0", ""),
		secret("ssl_fc_server_traffic_secret_0", "SERVER_TRAFFIC_SECRET_0", ""),
		secret("ssl_fc_client_early_traffic_secret", "CLIENT_EARLY_TRAFFIC_SECRET", "; never set: it exists with 0-RTT early data only, which Gatehouse's TLS over TCP does not accept"),
		secret("ssl_fc_early_exporter_secret", "EARLY_EXPORTER_SECRET", "; never set: it exists with 0-RTT early data only, which Gatehouse's TLS over TCP does not accept"),
		{name: "ssl_fc_exporter_secret", out: tStr, need: NeedTLS, fn: keyLogSecret("EXPORTER_SECRET"), check: refuseExporterSecret,
			doc: "Refused: Go's TLS does not expose the TLS 1.3 exporter secret (its key log has the traffic secrets only)."},
	}
}

func refuseExporterSecret(*fetchArgs) error {
	return errors.New("the TLS 1.3 exporter secret is not exposed by Go's TLS (its key log writes the handshake and traffic secrets only): remove the EXPORTER_SECRET line from the key log format, Wireshark does not need it to decrypt")
}

func fetchSSLFCRandom(client bool) fetchFn {
	return func(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
		if !t.TLS || t.KeyLog == nil {
			return none()
		}
		r := t.KeyLog.ServerRandom
		if client {
			r = t.KeyLog.ClientRandom
		}
		if len(r) == 0 {
			return none()
		}
		return sample{typ: tBin, s: string(r)}, cursor{}, fVal
	}
}

func keyLogSecret(label string) fetchFn {
	return func(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
		if !t.TLS || t.KeyLog == nil {
			return none()
		}
		return strOrNone(t.KeyLog.Secret(label))
	}
}

func fetchSSLBCRandom(client bool) fetchFn {
	return func(t *Txn, _ *fetchArgs, _ cursor) (sample, cursor, fres) {
		r := t.BcServerRandom
		if client {
			r = t.BcClientRandom
		}
		if len(r) == 0 {
			return none()
		}
		return sample{typ: tBin, s: string(r)}, cursor{}, fVal
	}
}

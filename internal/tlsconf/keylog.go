package tlsconf

import (
	"bytes"
	"crypto/tls"
	"sync/atomic"
)

// keyLogOn is "tune.ssl.keylog on": each TLS connection keeps its randoms
// and TLS 1.3 secrets for the ssl_fc_*_secret and ssl_fc_*_random fetches.
var keyLogOn atomic.Bool

// SetKeyLog sets tune.ssl.keylog for new connections.
func SetKeyLog(on bool) { keyLogOn.Store(on) }

// KeyLogOn reports tune.ssl.keylog.
func KeyLogOn() bool { return keyLogOn.Load() }

// The NSS key log labels HAProxy 2.6 keeps, in fetch-name order.
var keyLogLabels = [...]string{
	"CLIENT_EARLY_TRAFFIC_SECRET",
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	"SERVER_HANDSHAKE_TRAFFIC_SECRET",
	"CLIENT_TRAFFIC_SECRET_0",
	"SERVER_TRAFFIC_SECRET_0",
	"EXPORTER_SECRET",
	"EARLY_EXPORTER_SECRET",
}

// KeyLog holds one connection's key log: its tls.Config's KeyLogWriter,
// so the secrets are the connection's own and go with it.
type KeyLog struct {
	ClientRandom, ServerRandom []byte
	secrets                    [len(keyLogLabels)]string
}

// Write takes one "LABEL CLIENT_RANDOM SECRET" line, as crypto/tls writes
// them, and keeps the secret in lower-case hexadecimal, as OpenSSL's.
func (k *KeyLog) Write(p []byte) (int, error) {
	f := bytes.Fields(p)
	if len(f) == 3 {
		for i, l := range keyLogLabels {
			if string(f[0]) == l && k.secrets[i] == "" { // HAProxy keeps the first
				k.secrets[i] = string(f[2])
			}
		}
	}
	return len(p), nil
}

// Secret is the secret logged under label ("" when none), e.g.
// "CLIENT_TRAFFIC_SECRET_0".
func (k *KeyLog) Secret(label string) string {
	for i, l := range keyLogLabels {
		if l == label {
			return k.secrets[i]
		}
	}
	return ""
}

// WithKeyLog is conf for one connection whose secrets go to k, also through
// the configs its GetConfigForClient picks. Two clones a handshake: the cost
// HAProxy's documentation warns tune.ssl.keylog has.
func WithKeyLog(conf *tls.Config, k *KeyLog) *tls.Config {
	c := conf.Clone()
	c.KeyLogWriter = k
	if pick := c.GetConfigForClient; pick != nil {
		c.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			r, err := pick(h)
			if r != nil {
				r = r.Clone()
				r.KeyLogWriter = k
			}
			return r, err
		}
	}
	return c
}

package tlsconf

import (
	"bytes"
	"crypto/tls"
	"net"
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

// KeyLog holds one connection's randoms and, with tune.ssl.keylog, its key
// log: its tls.Config's KeyLogWriter, so the secrets are the connection's
// own and go with it.
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

// helloRandom scans the complete TLS records of b for a hello of type typ
// (1 ClientHello, 2 ServerHello) that is not a HelloRetryRequest, the
// first message of its record, and returns its random; done when it is
// found or a record other than a handshake or change_cipher_spec shows it
// will not come in clear.
func helloRandom(b []byte, typ byte) (random []byte, done bool) {
	for len(b) >= 5 {
		l := int(b[3])<<8 | int(b[4])
		if len(b) < 5+l {
			return nil, false
		}
		switch m := b[5 : 5+l]; {
		case b[0] == 22 && len(m) >= 4+2+32 && m[0] == typ && [32]byte(m[6:38]) != helloRetryRandom:
			return append([]byte(nil), m[6:38]...), true
		case b[0] != 22 && b[0] != 20:
			return nil, true
		}
		b = b[5+l:]
	}
	return nil, false
}

// RandomsConn records the randoms of a TLS client's handshake, for
// ssl_bc_client_random and ssl_bc_server_random: Go's TLS client writes
// whole records, its ClientHello first.
type RandomsConn struct {
	net.Conn
	Client, Server []byte
	rbuf           []byte
	rdone          bool
}

func (c *RandomsConn) Write(b []byte) (int, error) {
	if c.Client == nil {
		c.Client, _ = helloRandom(b, 1)
	}
	return c.Conn.Write(b)
}

func (c *RandomsConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.rdone && n > 0 {
		c.rbuf = append(c.rbuf, b[:n]...)
		c.Server, c.rdone = helloRandom(c.rbuf, 2)
		if c.rdone || len(c.rbuf) > maxHelloBytes {
			c.rdone, c.rbuf = true, nil
		}
	}
	return n, err
}

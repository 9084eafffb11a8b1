package acl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
)

// The JWT converters of HAProxy 2.6: jwt_header_query and
// jwt_payload_query read a part of a compact token (with json_query's
// path when given); jwt_verify checks its signature only (no claim is
// validated, as HAProxy documents) and answers HAProxy's codes.

const (
	jwtFailure      = 0
	jwtSuccess      = 1
	jwtUnknownAlg   = -1
	jwtUnmanagedAlg = -2
	jwtInvalidToken = -3
	jwtUnknownCert  = -5
)

// jwtConv is jwt_verify's compiled state: the algorithm (or the variable
// holding it) and the key: a secret, or the public key of the PEM file
// named, loaded at start so no request reads the disk.
type jwtConv struct {
	alg    string
	algVar *VarName
	secret string
	pub    crypto.PublicKey
	path   bool // key names a file (its key loaded in pub)
}

func compileJWTConv(c conv, d *convDef) (conv, error) {
	a := c.a
	if d.op == cJWTPart {
		if a.n > 0 && a.str[0] != "" {
			p, err := parseJSONPath(a.str[0])
			if err != nil {
				return c, err
			}
			c.jpath = p
		}
		if a.n > 1 && a.str[1] != "int" {
			return c, fmt.Errorf("output_type only supports \"int\" as argument")
		}
		return c, nil
	}
	j := &jwtConv{alg: a.str[0], secret: a.str[1]}
	if strings.Contains(a.str[0], ".") {
		n, err := ParseVarName(a.str[0])
		if err != nil {
			return c, err
		}
		j.algVar = &n
	}
	// A key naming a readable file is a certificate or public key, loaded
	// now; HAProxy loads every certificate jwt_verify names at start.
	if pemBytes, err := os.ReadFile(a.str[1]); err == nil {
		pub, err := jwtPublicKey(pemBytes)
		if err != nil {
			return c, fmt.Errorf("jwt_verify: '%s': %v", a.str[1], err)
		}
		j.pub, j.path = pub, true
	}
	c.jwt = j
	return c, nil
}

// jwtPublicKey reads the first certificate or public key of a PEM file.
func jwtPublicKey(b []byte) (crypto.PublicKey, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no certificate or public key found")
		}
		switch blk.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			return cert.PublicKey, nil
		case "PUBLIC KEY":
			return x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			return x509.ParsePKCS1PublicKey(blk.Bytes)
		}
	}
}

// jwtDecodePart decodes one base64url part as HAProxy does (ub64dec).
func jwtDecodePart(s string) ([]byte, bool) {
	out, err := base64.RawURLEncoding.DecodeString(strings.ReplaceAll(s, "=", "_"))
	return out, err == nil
}

func (c *conv) jwtPart(typ smpType, b []byte, start int, token string) ([]byte, smpType, bool) {
	parts := strings.Split(token, ".")
	idx := 0
	if c.name == "jwt_payload_query" {
		idx = 1
	}
	if len(parts) < 2 || len(parts) > 3 {
		return b[:start], typ, false
	}
	dec, ok := jwtDecodePart(parts[idx])
	if !ok {
		return b[:start], typ, false
	}
	if c.jpath == nil {
		return append(b[:start], dec...), tStr, true
	}
	s, ok := jsonQuery(dec, c.jpath, c.a.n > 1)
	if !ok {
		return b[:start], typ, false
	}
	return s.appendTo(b[:start]), s.typ, true
}

// jwtVerify checks the token's signature with the configured algorithm
// and key and returns HAProxy's result code; ok is false when the
// algorithm's variable is not set (no value, as HAProxy).
func (c *conv) jwtVerify(t *Txn, token string) (code int64, ok bool) {
	j := c.jwt
	alg := j.alg
	if j.algVar != nil {
		v, ok := t.getVar(j.algVar)
		if !ok {
			return 0, false
		}
		alg = string(v.appendTo(nil))
	}
	return j.verify(alg, token), true
}

func (j *jwtConv) verify(alg, token string) int64 {
	var h crypto.Hash
	switch alg[min(2, len(alg)):] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	family := alg[:min(2, len(alg))]
	switch {
	case alg == "none":
		return jwtFailure
	case h == 0 || family != "HS" && family != "RS" && family != "ES" && family != "PS":
		return jwtUnknownAlg
	case family == "PS":
		return jwtUnmanagedAlg
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return jwtInvalidToken
	}
	sig, ok := jwtDecodePart(parts[2])
	if !ok {
		return jwtInvalidToken
	}
	signed := token[:len(parts[0])+1+len(parts[1])]
	if family == "HS" {
		mac := hmac.New(h.New, []byte(j.secret))
		mac.Write([]byte(signed))
		if hmac.Equal(mac.Sum(nil), sig) {
			return jwtSuccess
		}
		return jwtFailure
	}
	if !j.path {
		return jwtUnknownCert
	}
	hh := h.New()
	hh.Write([]byte(signed))
	digest := hh.Sum(nil)
	switch pub := j.pub.(type) {
	case *rsa.PublicKey:
		if family == "RS" && rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil {
			return jwtSuccess
		}
	case *ecdsa.PublicKey:
		// JWS carries R||S, each as long as the curve's order.
		n := (pub.Curve.Params().BitSize + 7) / 8
		if family == "ES" && len(sig) == 2*n {
			r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
			if ecdsa.Verify(pub, digest, r, s) {
				return jwtSuccess
			}
		}
	}
	return jwtFailure
}

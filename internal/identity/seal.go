package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// MinSecretLen is the least key material a cookie secret must hold.
const MinSecretLen = 32

// sealVersion is the first byte of every sealed value.
const sealVersion = 1

// keyring seals with its first key and opens with any (cookie secret
// rotation: put the new secret first, keep the old ones until their
// sessions end).
type keyring struct {
	keys []ringKey
}

type ringKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// newKeyring derives one AES-256-GCM key per secret with HKDF-SHA256; purpose
// separates keys used for different things from the same secret.
func newKeyring(secrets [][]byte, purpose string) (*keyring, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no cookie secret")
	}
	kr := &keyring{}
	for i, s := range secrets {
		if len(s) < MinSecretLen {
			return nil, fmt.Errorf("cookie secret #%d has %d bytes; at least %d are required", i+1, len(s), MinSecretLen)
		}
		key, err := hkdf.Key(sha256.New, s, nil, "gatehouse "+purpose, 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		var rk ringKey
		sum := sha256.Sum256(key)
		copy(rk.id[:], sum[:4])
		rk.aead = aead
		kr.keys = append(kr.keys, rk)
	}
	return kr, nil
}

// seal encrypts and authenticates plain; ad binds the value to its use (the
// cookie name). The result is URL-safe base64: version, key id, nonce,
// ciphertext.
func (kr *keyring) seal(plain, ad []byte) string {
	k := &kr.keys[0]
	ns := k.aead.NonceSize()
	buf := make([]byte, 1+4+ns, 1+4+ns+len(plain)+k.aead.Overhead())
	buf[0] = sealVersion
	copy(buf[1:5], k.id[:])
	_, _ = rand.Read(buf[5 : 5+ns])
	buf = k.aead.Seal(buf, buf[5:5+ns], plain, ad)
	return base64.RawURLEncoding.EncodeToString(buf)
}

var errOpen = errors.New("sealed value does not authenticate")

// open reverses seal; any change to the value, the key or ad fails.
func (kr *keyring) open(sealed string, ad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < 5 || raw[0] != sealVersion {
		return nil, errOpen
	}
	for i := range kr.keys {
		k := &kr.keys[i]
		if [4]byte(raw[1:5]) != k.id {
			continue
		}
		ns := k.aead.NonceSize()
		if len(raw) < 5+ns+k.aead.Overhead() {
			return nil, errOpen
		}
		plain, err := k.aead.Open(nil, raw[5:5+ns], raw[5+ns:], ad)
		if err != nil {
			return nil, errOpen
		}
		return plain, nil
	}
	return nil, errOpen
}

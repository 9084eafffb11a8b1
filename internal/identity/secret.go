// Package identity is Gatehouse's identity layer: OpenID Connect login with
// encrypted session cookies, bearer JWT verification against the provider's
// JWKS, and short-lived identity tokens the edge signs for the mesh (with the
// JWKS that publishes their keys).
//
// It works on httpmsg requests, not on the proxy: the proxy adapts (see
// internal/app/identity.go). Everything is built per configuration; there is
// no package-level mutable state.
package identity

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// ParseSecretRef parses "file:PATH" or "env:NAME". Anything else (an inline
// secret) is an error: secrets do not belong in configuration files.
func ParseSecretRef(s string, pos config.Pos) (config.SecretRef, error) {
	kind, ref, ok := strings.Cut(s, ":")
	if ok && (kind == "file" || kind == "env") && ref != "" {
		return config.SecretRef{Pos: pos, Kind: kind, Ref: ref}, nil
	}
	return config.SecretRef{}, errors.New("secrets must be given as 'file:<path>' or 'env:<NAME>'; inline secrets are refused")
}

// LoadSecret reads a secret. Trailing newlines of files are dropped (an
// editor's or `echo`'s), other bytes are kept.
func LoadSecret(ref config.SecretRef) ([]byte, error) {
	switch ref.Kind {
	case "file":
		b, err := os.ReadFile(ref.Ref)
		if err != nil {
			return nil, err
		}
		b = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("secret file %s is empty", ref.Ref)
		}
		return b, nil
	case "env":
		v, ok := os.LookupEnv(ref.Ref)
		if !ok || v == "" {
			return nil, fmt.Errorf("environment variable %s is not set", ref.Ref)
		}
		return []byte(v), nil
	}
	return nil, fmt.Errorf("secret %q: want file:<path> or env:<NAME>", ref.String())
}

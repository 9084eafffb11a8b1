package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Reasons a crt file is refused; match them with errors.Is.
var (
	ErrNoCertificate = errors.New("no certificate found")
	ErrNoPrivateKey  = errors.New("no private key found")
	ErrKeyMismatch   = errors.New("private key does not match the certificate")
	ErrEncryptedKey  = errors.New("encrypted private keys are not supported")
	// ErrExpired and ErrNotYetValid only ever appear in warnings: HAProxy
	// serves such certificates, and so do we.
	ErrExpired     = errors.New("certificate has expired")
	ErrNotYetValid = errors.New("certificate is not yet valid")
)

// FileError names the file a load failed on.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("crt '%s': %v", e.File, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Options tune how crt paths are read.
type Options struct {
	// DelExt is HAProxy's global "ssl-load-extra-del-ext": the sidecar key of
	// "site.crt" is "site.key" instead of "site.crt.key". Handy for
	// Kubernetes TLS secrets (tls.crt + tls.key). When set, "FILE.key" is still
	// tried first.
	DelExt bool
	// SkipSelfIssuedCA is HAProxy's global "ssl-skip-self-issued-ca":
	// chains are sent without their self-signed root (see noRootChain).
	SkipSelfIssuedCA bool
}

// skipInDir reports whether a directory entry is not a certificate to load:
// a name starting with a dot, or one of HAProxy's reserved extensions.
func skipInDir(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	switch filepath.Ext(name) {
	case ".key", ".ocsp", ".issuer", ".sctl":
		return true
	}
	return false
}

// loadedCert is one certificate read from a crt file.
type loadedCert struct {
	file    string
	keyFile string // "" when the key is in file
	cert    *tls.Certificate
	names   []string        // lower-case SNI names: SAN DNS names, then CNs
	neg     map[string]bool // crt-list "!name": not served by this line's wildcards
	delta   *lineDelta      // crt-list line options; nil: the bind line's
}

// stamp is what was seen of a file at scan time, to detect changes.
type stamp struct {
	path string
	fi   os.FileInfo // nil: missing
}

func sameStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.path != y.path || (x.fi == nil) != (y.fi == nil) {
			return false
		}
		if x.fi == nil {
			continue
		}
		if !os.SameFile(x.fi, y.fi) || !x.fi.ModTime().Equal(y.fi.ModTime()) || x.fi.Size() != y.fi.Size() {
			return false
		}
	}
	return true
}

// scan resolves paths into the certificate files to load, in load order,
// and stamps every file that matters (certificates and their possible
// sidecar keys). Symlinks are followed.
func scan(paths []string, opts Options) (files []string, stamps []stamp, err error) {
	add := func(file string, fi os.FileInfo) {
		files = append(files, file)
		stamps = append(stamps, stamp{file, fi})
		for _, k := range keyCandidates(file, opts) {
			kfi, _ := os.Stat(k)
			stamps = append(stamps, stamp{k, kfi})
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, &FileError{p, unwrapPathError(err)}
		}
		if !fi.IsDir() {
			add(p, fi)
			continue
		}
		ents, err := os.ReadDir(p) // sorted by name, as HAProxy's alphasort
		if err != nil {
			return nil, nil, &FileError{p, fmt.Errorf("unable to scan directory: %w", unwrapPathError(err))}
		}
		n := len(files)
		for _, e := range ents {
			if skipInDir(e.Name()) {
				continue
			}
			full := filepath.Join(p, e.Name())
			efi, err := os.Stat(full)
			if err != nil {
				if _, lerr := os.Lstat(full); errors.Is(lerr, os.ErrNotExist) {
					continue // removed since the listing
				}
				return nil, nil, &FileError{full, unwrapPathError(err)}
			}
			if !efi.Mode().IsRegular() {
				continue
			}
			add(full, efi)
		}
		if len(files) == n {
			return nil, nil, &FileError{p, fmt.Errorf("%w in directory", ErrNoCertificate)}
		}
	}
	return files, stamps, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// keyCandidates lists the sidecar key files of a crt file, in lookup order.
func keyCandidates(file string, opts Options) []string {
	c := []string{file + ".key"}
	if opts.DelExt {
		if ext := filepath.Ext(file); ext != "" && ext != ".key" {
			c = append(c, strings.TrimSuffix(file, ext)+".key")
		}
	}
	return c
}

// loadCertFile reads one crt file (and its sidecar key when the file has
// none) and checks that the key matches the leaf certificate. Warnings are
// for problems HAProxy tolerates (validity dates).
func loadCertFile(file string, opts Options, now time.Time) (lc *loadedCert, warnings []error, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, &FileError{file, unwrapPathError(err)}
	}
	chain, key, err := parsePEM(data)
	if err != nil {
		return nil, nil, &FileError{file, err}
	}
	if len(chain) == 0 {
		return nil, nil, &FileError{file, ErrNoCertificate}
	}
	lc = &loadedCert{file: file}
	if key == nil {
		cands := keyCandidates(file, opts)
		for _, k := range cands {
			kdata, err := os.ReadFile(k)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, nil, &FileError{k, unwrapPathError(err)}
			}
			_, key, err = parsePEM(kdata)
			if err != nil {
				return nil, nil, &FileError{k, err}
			}
			if key == nil {
				return nil, nil, &FileError{k, ErrNoPrivateKey}
			}
			lc.keyFile = k
			break
		}
		if key == nil {
			return nil, nil, &FileError{file, fmt.Errorf("%w in the file nor in '%s'", ErrNoPrivateKey, strings.Join(cands, "' or '"))}
		}
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, nil, &FileError{file, fmt.Errorf("invalid certificate: %w", err)}
	}
	for i, der := range chain[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, nil, &FileError{file, fmt.Errorf("invalid chain certificate #%d: %w", i+2, err)}
		}
	}
	if !keyMatches(leaf.PublicKey, key) {
		kf := file
		if lc.keyFile != "" {
			kf = lc.keyFile
		}
		return nil, nil, &FileError{file, fmt.Errorf("%w (key from '%s')", ErrKeyMismatch, kf)}
	}
	if now.After(leaf.NotAfter) {
		warnings = append(warnings, &FileError{file, fmt.Errorf("%w (not after %s)", ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))})
	} else if now.Before(leaf.NotBefore) {
		warnings = append(warnings, &FileError{file, fmt.Errorf("%w (not before %s)", ErrNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))})
	}
	if opts.SkipSelfIssuedCA {
		chain = noRootChain(leaf, chain)
	}
	lc.cert = &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}
	lc.names = certNames(leaf)
	return lc, warnings, nil
}

// parsePEM returns the DER certificates in file order and the first private
// key. Other blocks (DH parameters, ...) are ignored.
func parsePEM(data []byte) (chain [][]byte, key crypto.PrivateKey, err error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return chain, key, nil
		}
		switch {
		case b.Type == "CERTIFICATE":
			chain = append(chain, b.Bytes)
		case b.Type == "ENCRYPTED PRIVATE KEY" || (strings.HasSuffix(b.Type, "PRIVATE KEY") && b.Headers["Proc-Type"] != ""):
			return nil, nil, ErrEncryptedKey
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if key != nil {
				continue
			}
			key, err = parseKey(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("invalid %s: %w", strings.ToLower(b.Type), err)
			}
		}
	}
}

func parseKey(der []byte) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		switch k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or SEC 1 key")
}

func keyMatches(pub crypto.PublicKey, key crypto.PrivateKey) bool {
	s, ok := key.(crypto.Signer)
	if !ok {
		return false
	}
	p, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	return ok && p.Equal(s.Public())
}

// certNames are the names a certificate is selected by, as HAProxy indexes
// them: every SAN DNS name, then every subject CN; lower-case, no trailing
// dot, no duplicates.
func certNames(leaf *x509.Certificate) []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == "" || seen[n] {
			return
		}
		seen[n] = true
		names = append(names, n)
	}
	for _, n := range leaf.DNSNames {
		add(n)
	}
	for _, n := range leaf.Subject.Names {
		if n.Type.Equal([]int{2, 5, 4, 3}) { // commonName; Subject.CommonName keeps only one
			if s, ok := n.Value.(string); ok {
				add(s)
			}
		}
	}
	return names
}

// loadCAFile reads a "ca-file": every certificate of a PEM file, or the
// system trust store for HAProxy's "@system-ca".
func loadCAFile(path string) (*x509.CertPool, error) {
	if path == "@system-ca" {
		p, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("unable to load the system CA store: %w", err)
		}
		return p, nil
	}
	certs, err := readCAFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// readCAFile reads the certificates of a PEM CA file.
func readCAFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to load CA file '%s': %w", path, unwrapPathError(err))
	}
	chain, _, err := parsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("unable to load CA file '%s': %w", path, err)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("unable to load CA file '%s': %w", path, ErrNoCertificate)
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("unable to load CA file '%s': invalid certificate: %w", path, err)
		}
	}
	return certs, nil
}

// loadVerifyCAs is the trust store of a bind: the certificates of ca-file
// and of ca-verify-file together, as OpenSSL's store gets both ("" skips
// one).
func loadVerifyCAs(caFile, caVerifyFile string) (*x509.CertPool, error) {
	if caVerifyFile == "" {
		return loadCAFile(caFile)
	}
	pool := x509.NewCertPool()
	if caFile != "" {
		p, err := loadCAFile(caFile)
		if err != nil {
			return nil, err
		}
		pool = p
	}
	if caVerifyFile == "@system-ca" {
		sys, err := loadCAFile(caVerifyFile)
		if err != nil {
			return nil, err
		}
		if caFile == "" {
			return sys, nil
		}
		if caFile != "@system-ca" {
			certs, err := readCAFile(caFile)
			if err != nil {
				return nil, err
			}
			for _, c := range certs {
				sys.AddCert(c)
			}
		}
		return sys, nil
	}
	certs, err := readCAFile(caVerifyFile)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

package tlsconf

import (
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store holds the server certificates of one bind line and selects one per
// handshake by SNI. Its index is immutable and swapped atomically, so
// GetCertificate takes no lock and reloads never disturb handshakes in
// progress.
type Store struct {
	paths []string
	opts  Options

	reload sync.Mutex // serialises Reload
	cur    atomic.Pointer[index]
}

// index is one immutable generation of a Store.
type index struct {
	certs    []*loadedCert                 // load order; certs[0] is the default
	exact    map[string][]*tls.Certificate // name -> candidates, load order
	wild     map[string][]*tls.Certificate // "example.com" for "*.example.com"
	stamps   []stamp
	warnings []error
	loadedAt time.Time
}

// CertInfo describes a loaded certificate (for "show ssl cert"-like output).
type CertInfo struct {
	File      string
	KeyFile   string // "" when the key is in File
	Names     []string
	NotBefore time.Time
	NotAfter  time.Time
	Default   bool
}

// LoadStore loads the certificates of paths (crt files or directories) in
// the given order. The first certificate loaded is the default one.
func LoadStore(paths []string) (*Store, error) {
	return LoadStoreWithOptions(paths, Options{})
}

// LoadStoreWithOptions is LoadStore with HAProxy's global loading options.
func LoadStoreWithOptions(paths []string, opts Options) (*Store, error) {
	s := &Store{paths: append([]string(nil), paths...), opts: opts}
	idx, err := s.build()
	if err != nil {
		return nil, err
	}
	s.cur.Store(idx)
	return s, nil
}

func (s *Store) build() (*index, error) {
	if len(s.paths) == 0 {
		return nil, errors.New("no crt file or directory given")
	}
	now := time.Now()
	// Stamps are taken before reading, so a write racing with this load
	// shows up as a change at the next check.
	files, stamps, err := scan(s.paths, s.opts)
	if err != nil {
		return nil, err
	}
	idx := &index{
		exact:    map[string][]*tls.Certificate{},
		wild:     map[string][]*tls.Certificate{},
		stamps:   stamps,
		loadedAt: now,
	}
	for _, f := range files {
		lc, warns, err := loadCertFile(f, s.opts, now)
		if err != nil {
			return nil, err
		}
		idx.warnings = append(idx.warnings, warns...)
		idx.certs = append(idx.certs, lc)
		for _, n := range lc.names {
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				idx.wild[rest] = append(idx.wild[rest], lc.cert)
			} else {
				idx.exact[n] = append(idx.exact[n], lc.cert)
			}
		}
	}
	return idx, nil
}

// GetCertificate implements tls.Config.GetCertificate: the certificate whose
// name equals the SNI (case-insensitive), else one whose wildcard covers its
// first label, else the default (first loaded). Among several certificates
// for the same name (an RSA and an ECDSA one, say), the first the client
// supports wins.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	idx := s.cur.Load()
	if c := idx.match(hello); c != nil {
		return c, nil
	}
	return idx.certs[0].cert, nil
}

// getStrict is GetCertificate for "strict-sni": no default certificate, so
// a handshake without SNI or whose SNI names no certificate fails.
func (s *Store) getStrict(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.cur.Load().match(hello); c != nil {
		return c, nil
	}
	return nil, errors.New("strict-sni: no certificate for the requested server name")
}

// match is the certificate the SNI selects, nil when none does.
func (idx *index) match(hello *tls.ClientHelloInfo) *tls.Certificate {
	if name := normalizeSNI(hello.ServerName); name != "" {
		if c := pick(idx.exact[name], hello); c != nil {
			return c
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := pick(idx.wild[name[i+1:]], hello); c != nil {
				return c
			}
		}
	}
	return nil
}

func normalizeSNI(n string) string {
	n = strings.TrimSuffix(n, ".")
	for i := 0; i < len(n); i++ {
		if c := n[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(n)
		}
	}
	return n
}

func pick(cands []*tls.Certificate, hello *tls.ClientHelloInfo) *tls.Certificate {
	switch len(cands) {
	case 0:
		return nil
	case 1:
		return cands[0]
	}
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cands[0]
}

// Reload re-reads every path and swaps the new certificates in atomically.
// On error the current certificates stay in service and the error is
// returned.
func (s *Store) Reload() error {
	s.reload.Lock()
	defer s.reload.Unlock()
	idx, err := s.build()
	if err != nil {
		return err
	}
	s.cur.Store(idx)
	return nil
}

// changed reports whether the files on disk differ from those of the
// current generation, with the stamps seen now.
func (s *Store) changed() (bool, []stamp, error) {
	_, stamps, err := scan(s.paths, s.opts)
	if err != nil {
		return false, nil, err
	}
	return !sameStamps(stamps, s.cur.Load().stamps), stamps, nil
}

// Paths returns the crt paths the store loads, in order.
func (s *Store) Paths() []string { return append([]string(nil), s.paths...) }

// Warnings returns the warnings of the current generation (expired or not
// yet valid certificates). They do not prevent loading, as in HAProxy.
func (s *Store) Warnings() []error { return append([]error(nil), s.cur.Load().warnings...) }

// LoadedAt is when the current generation was read.
func (s *Store) LoadedAt() time.Time { return s.cur.Load().loadedAt }

// Certificates describes the loaded certificates in load order.
func (s *Store) Certificates() []CertInfo {
	idx := s.cur.Load()
	out := make([]CertInfo, len(idx.certs))
	for i, lc := range idx.certs {
		out[i] = CertInfo{
			File:      lc.file,
			KeyFile:   lc.keyFile,
			Names:     append([]string(nil), lc.names...),
			NotBefore: lc.cert.Leaf.NotBefore,
			NotAfter:  lc.cert.Leaf.NotAfter,
			Default:   i == 0,
		}
	}
	return out
}

package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Store holds the server certificates of one bind line and selects one per
// handshake by SNI. Its index is immutable and swapped atomically, so
// GetCertificate takes no lock and reloads never disturb handshakes in
// progress.
type Store struct {
	paths []string
	lists []config.CrtList
	bind  *config.Bind // for crt-list lines' options; nil: none allowed
	opts  Options

	reload sync.Mutex // serialises Reload
	cur    atomic.Pointer[index]
}

// index is one immutable generation of a Store.
type index struct {
	certs    []*loadedCert            // load order; certs[0] is the default
	exact    map[string][]*loadedCert // name -> candidates, load order
	wild     map[string][]*loadedCert // "example.com" for "*.example.com"
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
	return loadStore(&Store{paths: append([]string(nil), paths...), opts: opts})
}

// LoadBindStore loads the certificates of a bind line: its "crt" paths and
// "crt-list" files in the order of the line.
func LoadBindStore(b *config.Bind, opts Options) (*Store, error) {
	return loadStore(&Store{paths: append([]string(nil), b.Crts...), lists: append([]config.CrtList(nil), b.CrtLists...), bind: b, opts: opts})
}

func loadStore(s *Store) (*Store, error) {
	idx, err := s.build()
	if err != nil {
		return nil, err
	}
	s.cur.Store(idx)
	return s, nil
}

func (s *Store) build() (*index, error) {
	if len(s.paths) == 0 && len(s.lists) == 0 {
		return nil, errors.New("no crt file or directory given")
	}
	now := time.Now()
	// Stamps are taken before reading, so a write racing with this load
	// shows up as a change at the next check.
	entries, stamps, err := s.collect()
	if err != nil {
		return nil, err
	}
	idx := &index{
		exact:    map[string][]*loadedCert{},
		wild:     map[string][]*loadedCert{},
		stamps:   stamps,
		loadedAt: now,
	}
	for _, e := range entries {
		lc, warns, err := loadCertFile(e.file, s.opts, now)
		if err != nil {
			if e.line != nil {
				return nil, fmt.Errorf("crt-list '%s': %w", e.line.where, err)
			}
			return nil, err
		}
		idx.warnings = append(idx.warnings, warns...)
		idx.certs = append(idx.certs, lc)
		names := lc.names
		if e.line != nil {
			if s.bind == nil && e.line.opts.any {
				return nil, fmt.Errorf("crt-list '%s': options need a bind line", e.line.where)
			}
			if s.bind != nil {
				if lc.delta, err = e.line.opts.delta(s.bind); err != nil {
					return nil, fmt.Errorf("crt-list '%s': %w", e.line.where, err)
				}
			}
			if e.line.filters != nil {
				names = nil
				for _, f := range e.line.filters {
					// As HAProxy: "!name" only excludes name from the
					// wildcards of the same line; "!*" adds nothing.
					if neg, ok := strings.CutPrefix(f, "!"); ok {
						if !strings.HasPrefix(neg, "*") {
							if lc.neg == nil {
								lc.neg = map[string]bool{}
							}
							lc.neg[strings.TrimSuffix(neg, ".")] = true
						}
						continue
					}
					names = append(names, strings.TrimSuffix(f, "."))
				}
			}
		}
		for _, n := range names {
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				idx.wild[rest] = append(idx.wild[rest], lc)
			} else {
				idx.exact[n] = append(idx.exact[n], lc)
			}
		}
	}
	return idx, nil
}

// entry is a certificate file to load, with its crt-list line if any.
type entry struct {
	file string
	line *crtLine
}

// collect lists the certificate files of the line's crt paths and
// crt-lists, in load order, with the stamps of every file that matters.
func (s *Store) collect() ([]entry, []stamp, error) {
	var entries []entry
	var stamps []stamp
	addList := func(l config.CrtList) error {
		fi, err := os.Stat(l.Path)
		if err != nil {
			return &FileError{l.Path, unwrapPathError(err)}
		}
		stamps = append(stamps, stamp{l.Path, fi})
		lines, _, err := readCrtList(l)
		if err != nil {
			return err
		}
		for i := range lines {
			cl := &lines[i]
			cfi, err := os.Stat(cl.file)
			if err != nil {
				return fmt.Errorf("crt-list '%s': %w", cl.where, &FileError{cl.file, unwrapPathError(err)})
			}
			stamps = append(stamps, stamp{cl.file, cfi})
			for _, k := range keyCandidates(cl.file, s.opts) {
				kfi, _ := os.Stat(k)
				stamps = append(stamps, stamp{k, kfi})
			}
			entries = append(entries, entry{cl.file, cl})
		}
		return nil
	}
	li := 0
	for i := 0; i <= len(s.paths); i++ {
		for ; li < len(s.lists) && s.lists[li].After <= i; li++ {
			if err := addList(s.lists[li]); err != nil {
				return nil, nil, err
			}
		}
		if i == len(s.paths) {
			break
		}
		files, st, err := scan(s.paths[i:i+1], s.opts)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			entries = append(entries, entry{file: f})
		}
		stamps = append(stamps, st...)
	}
	return entries, stamps, nil
}

// GetCertificate implements tls.Config.GetCertificate: the certificate whose
// name equals the SNI (case-insensitive), else one whose wildcard covers its
// first label, else the default (first loaded). Among several certificates
// for the same name (an RSA and an ECDSA one, say), the first the client
// supports wins.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	idx := s.cur.Load()
	if c := idx.match(hello); c != nil {
		return c.cert, nil
	}
	return idx.certs[0].cert, nil
}

// getStrict is GetCertificate for "strict-sni": no default certificate, so
// a handshake without SNI or whose SNI names no certificate fails.
func (s *Store) getStrict(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.cur.Load().match(hello); c != nil {
		return c.cert, nil
	}
	return nil, errors.New("strict-sni: no certificate for the requested server name")
}

// match is the certificate the SNI selects, nil when none does. A
// wildcard is skipped for a name its crt-list line excludes ("!name").
func (idx *index) match(hello *tls.ClientHelloInfo) *loadedCert {
	if name := normalizeSNI(hello.ServerName); name != "" {
		if c := pick(idx.exact[name], hello, ""); c != nil {
			return c
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := pick(idx.wild[name[i+1:]], hello, name); c != nil {
				return c
			}
		}
	}
	return nil
}

// lookup is the certificate a handshake gets: the SNI's, else the default
// one (nil with strict, where the handshake fails).
func (s *Store) lookup(hello *tls.ClientHelloInfo, strict bool) *loadedCert {
	idx := s.cur.Load()
	if c := idx.match(hello); c != nil || strict {
		return c
	}
	return idx.certs[0]
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

func pick(cands []*loadedCert, hello *tls.ClientHelloInfo, excluded string) *loadedCert {
	var first *loadedCert
	for _, c := range cands {
		if excluded != "" && c.neg[excluded] {
			continue
		}
		if first == nil {
			first = c
		}
		if hello.SupportsCertificate(c.cert) == nil {
			return c
		}
	}
	return first
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
	_, stamps, err := s.collect()
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

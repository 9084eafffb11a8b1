package tlsconf

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// A crt-list line: "<crtfile> [[<sslbindconf> ...]] [[!]<snifilter> ...]".
type crtLine struct {
	file    string
	filters []string // nil: the certificate's own names
	opts    lineOpts
	where   string // "FILE:LINE", for messages
}

// lineOpts are the per-line options ("sslbindconf") Gatehouse implements;
// they override the bind line's for the certificate of that line.
type lineOpts struct {
	tls     config.TLSOptions // Ciphers, CipherSuites, Curves, ECDHE, MinVer, MaxVer
	alpn    []string
	alpnSet bool
	verify  string
	caFile  string
	any     bool
}

// lineDelta is a line's options, checked and ready to apply to the bind's
// configuration when its certificate is selected.
type lineDelta struct {
	minV, maxV uint16
	suites     []uint16
	curves     []tls.CurveID
	alpn       []string
	alpnSet    bool
	authSet    bool
	clientAuth tls.ClientAuthType
	clientCAs  *x509.CertPool
}

// readCrtList reads a crt-list file.
func readCrtList(l config.CrtList) ([]crtLine, []byte, error) {
	data, err := os.ReadFile(l.Path)
	if err != nil {
		return nil, nil, &FileError{l.Path, fmt.Errorf("unable to read crt-list: %w", unwrapPathError(err))}
	}
	var lines []crtLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		where := fmt.Sprintf("%s:%d", l.Path, n)
		cl, err := parseCrtLine(text, l)
		if err != nil {
			return nil, nil, fmt.Errorf("crt-list '%s': %w", where, err)
		}
		cl.where = where
		lines = append(lines, cl)
	}
	if len(lines) == 0 {
		return nil, nil, &FileError{l.Path, fmt.Errorf("%w in crt-list", ErrNoCertificate)}
	}
	return lines, data, nil
}

func parseCrtLine(text string, l config.CrtList) (crtLine, error) {
	f := strings.Fields(text)
	cl := crtLine{file: f[0]}
	if l.Base != "" && !filepath.IsAbs(cl.file) {
		cl.file = filepath.Join(l.Base, cl.file)
	}
	rest := f[1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
		var conf []string
		closed := false
		for len(rest) > 0 && !closed {
			w := rest[0]
			rest = rest[1:]
			if strings.HasSuffix(w, "]") {
				w, closed = strings.TrimSuffix(w, "]"), true
			}
			if w = strings.TrimPrefix(w, "["); w != "" || len(conf) > 0 {
				if w != "" {
					conf = append(conf, w)
				}
			}
		}
		if !closed {
			return cl, fmt.Errorf("missing ']' after the options")
		}
		if err := cl.opts.parse(conf, l); err != nil {
			return cl, err
		}
	}
	for _, w := range rest {
		cl.filters = append(cl.filters, strings.ToLower(w))
	}
	return cl, nil
}

func (o *lineOpts) parse(words []string, l config.CrtList) error {
	for i := 0; i < len(words); i++ {
		kw := words[i]
		arg := func() (string, error) {
			if i+1 >= len(words) {
				return "", fmt.Errorf("'%s' expects an argument", kw)
			}
			i++
			return words[i], nil
		}
		var v string
		var err error
		switch kw {
		case "alpn", "ciphers", "ciphersuites", "curves", "ecdhe", "ssl-min-ver", "ssl-max-ver", "verify", "ca-file":
			if v, err = arg(); err != nil {
				return err
			}
		case "npn":
			return fmt.Errorf("'npn' : NPN is obsolete and Go's TLS does not implement it; use 'alpn'")
		default:
			return fmt.Errorf("'%s' is not supported in a crt-list line (Gatehouse supports alpn, ciphers, ciphersuites, curves, ecdhe, ssl-min-ver, ssl-max-ver, verify, ca-file)", kw)
		}
		o.any = true
		switch kw {
		case "alpn":
			o.alpn, o.alpnSet = strings.Split(v, ","), true
		case "ciphers":
			o.tls.Ciphers = v
		case "ciphersuites":
			o.tls.CipherSuites = v
		case "curves":
			o.tls.Curves = v
		case "ecdhe":
			o.tls.ECDHE = v
		case "ssl-min-ver", "ssl-max-ver":
			n := 0
			for j, name := range config.TLSVersionNames {
				if j > 0 && name == v {
					n = j
				}
			}
			if n == 0 {
				return fmt.Errorf("'%s' : unknown ssl/tls version", v)
			}
			if kw == "ssl-min-ver" {
				o.tls.MinVer = n
			} else {
				o.tls.MaxVer = n
			}
		case "verify":
			if v != "none" && v != "optional" && v != "required" {
				return fmt.Errorf("'verify' : unknown verify method '%s', only 'none', 'optional', and 'required' are supported", v)
			}
			o.verify = v
		case "ca-file":
			if l.CABase != "" && !filepath.IsAbs(v) {
				v = filepath.Join(l.CABase, v)
			}
			o.caFile = v
		}
	}
	return nil
}

// delta checks a line's options against the bind line's and prepares them.
func (o *lineOpts) delta(bind *config.Bind) (*lineDelta, error) {
	if !o.any {
		return nil, nil
	}
	d := &lineDelta{alpn: o.alpn, alpnSet: o.alpnSet}
	var c tls.Config
	merged := o.tls
	merged.NoVersions, merged.NoTLSTickets = bind.TLS.NoVersions, bind.TLS.NoTLSTickets
	if merged.MinVer == 0 && merged.MaxVer == 0 {
		merged.MinVer, merged.MaxVer = bind.TLS.MinVer, bind.TLS.MaxVer
	} else if merged.MinVer == 0 {
		merged.MinVer = bind.TLS.MinVer
	} else if merged.MaxVer == 0 {
		merged.MaxVer = bind.TLS.MaxVer
	}
	if err := applyOptions(&c, merged, config.TLSv12); err != nil {
		return nil, err
	}
	d.minV, d.maxV, d.suites, d.curves = c.MinVersion, c.MaxVersion, c.CipherSuites, c.CurvePreferences
	if o.verify != "" || o.caFile != "" {
		if bind.CAVerifyFile != "" || bind.NoCANames {
			// Go verifies against the names it sends; the bind's own
			// verifier would not see the line's CAs.
			return nil, fmt.Errorf("'verify' and 'ca-file' on a line are not supported by Gatehouse when the bind line has 'ca-verify-file' or 'no-ca-names'")
		}
		verify, caFile := o.verify, o.caFile
		if verify == "" {
			verify = bind.Verify
		}
		if caFile == "" {
			caFile = bind.CAFile
		}
		d.authSet = true
		switch verify {
		case "", "none":
			d.clientAuth = tls.NoClientCert
		default:
			if caFile == "" {
				return nil, fmt.Errorf("verify is enabled but no CA file specified")
			}
			pool, err := loadCAFile(caFile)
			if err != nil {
				return nil, err
			}
			d.clientCAs = pool
			d.clientAuth = tls.VerifyClientCertIfGiven
			if verify == "required" {
				d.clientAuth = tls.RequireAndVerifyClientCert
			}
		}
	}
	return d, nil
}

// apply returns base with the line's options, serving cert.
func (d *lineDelta) apply(base *tls.Config, cert *tls.Certificate) *tls.Config {
	c := base.Clone()
	c.MinVersion, c.MaxVersion = d.minV, d.maxV
	if d.suites != nil {
		c.CipherSuites = d.suites
	}
	if d.curves != nil {
		c.CurvePreferences = d.curves
	}
	if d.alpnSet {
		c.NextProtos = d.alpn
	}
	if d.authSet {
		c.ClientAuth, c.ClientCAs = d.clientAuth, d.clientCAs
	}
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
	c.GetConfigForClient = nil
	return c
}

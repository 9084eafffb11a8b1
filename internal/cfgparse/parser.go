package cfgparse

import (
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// parser holds the state of one load: the configuration being built, the
// diagnostics, the current file, line and section.
type parser struct {
	opt  Options
	cfg  *config.Config
	errs Diagnostics

	file string
	line int
	sec  *sectionDef // nil: out of section
	ps   *proxyState // current proxy or defaults section; nil in global
	// The identity section being parsed, if any (see kw_identity.go).
	oidc       *config.OIDC
	idTok      *config.IdentityToken
	res        *config.Resolvers  // the resolvers section being parsed
	ul         *config.Userlist   // the userlist users and groups are added to; nil: ignored
	httpErrors *config.HTTPErrors // the http-errors section being parsed
	// The peers section being parsed (section_peers.go), whether it had
	// a bind line or a peer line (they do not mix), and which of its
	// peers came from "peer" lines rather than "server" ones.
	peers                        *config.Peers
	peersBindLine, peersPeerLine bool
	peerKinds                    map[*config.Peer]bool
	// The acme and crt-store sections being parsed (section_acme.go,
	// section_crtstore.go), the directory each acme section's relative
	// paths start from, and the bind crt arguments naming a crt-store
	// certificate.
	acme     *config.ACME
	acmeDirs map[*config.ACME]string
	crtStore *config.CrtStore
	crtRefs  []*config.CrtLoad
	mailers  *config.Mailers    // the mailers section being parsed (section_mailers.go)
	ring     *config.Ring       // the ring section being parsed (section_ring.go)
	logFwd   *config.LogForward // the log-forward section being parsed
	program  *config.Program    // the program section being parsed

	// negated is set while the current line started with "no".
	negated bool

	secName string      // what ${.SECTION} expands to
	conds   []condLevel // open .if blocks of the current file
	aborted bool        // a malformed conditional block stopped the load

	sections []sectionDef
	lastDef  *proxyState            // the defaults section proxies inherit implicitly
	namedDef map[string]*proxyState // named defaults sections by name
	proxies  []*proxyState          // frontends, backends, listens in order

	env *envView // the environment "${VAR}" sees, after setenv & co.

	// default-path: its mode and origin, and the directory relative
	// paths of the current file start from ("" the start directory).
	defPathMode, defPathOrigin, fileDir string
}

func newParser(opt Options) *parser {
	p := &parser{
		opt:      opt,
		cfg:      &config.Config{},
		namedDef: map[string]*proxyState{},
	}
	p.sections = sectionTable()
	p.env = newEnvView(opt.LookupEnv)
	p.opt.LookupEnv = p.env.lookup
	return p
}

func (p *parser) pos() config.Pos { return config.Pos{File: p.file, Line: p.line} }

// errorf records an error at the current line.
func (p *parser) errorf(format string, args ...any) {
	p.errs = append(p.errs, config.Errorf(p.pos(), format, args...))
}

// abortf records an error after which nothing more is read, as HAProxy
// aborts on a malformed conditional block.
func (p *parser) abortf(format string, args ...any) {
	p.errorf(format, args...)
	p.aborted = true
}

// infof records an informational message (level "NOTICE" or "DIAG"): shown
// like a warning, never an error.
func (p *parser) infof(level, format string, args ...any) {
	d := config.Errorf(p.pos(), format, args...)
	d.Warning, d.Level = true, level
	p.cfg.Warnings = append(p.cfg.Warnings, d)
}

// warnf records a warning at the current line.
func (p *parser) warnf(format string, args ...any) {
	p.warnAt(p.pos(), format, args...)
}

func (p *parser) warnAt(pos config.Pos, format string, args ...any) {
	d := config.Errorf(pos, format, args...)
	d.Warning = true
	p.cfg.Warnings = append(p.cfg.Warnings, d)
}

// errWarning is returned by a keyword parser that only warns: the keyword
// is ignored and the message becomes a warning instead of an error.
type errWarning struct{ msg string }

func (e errWarning) Error() string { return e.msg }

func warning(format string, args ...any) error {
	return errWarning{fmt.Sprintf(format, args...)}
}

// report records what a keyword parser returned.
func (p *parser) report(err error) {
	if err == nil {
		return
	}
	// Several problems of one line (errors.Join) are reported one by one.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			p.report(e)
		}
		return
	}
	var w errWarning
	if errors.As(err, &w) {
		p.warnf("%s", w.msg)
		return
	}
	p.errorf("%v", err)
}

// dispatch handles one tokenized line: a section header or a keyword of the
// current section.
func (p *parser) dispatch(toks []token) {
	p.negated = false
	if sec := p.findSection(toks[0].Text); sec != nil {
		p.openSection(sec, toks)
		return
	}
	if p.sec == nil {
		msg := fmt.Sprintf("unknown keyword '%s' out of section", toks[0].Text)
		if best := bestMatch(toks[0].Text, p.sectionNames()); best != "" {
			msg += fmt.Sprintf("; did you mean '%s' maybe ?", best)
		} else {
			msg += "."
		}
		p.errorf("%s", msg)
		return
	}
	if p.sec.skip {
		return // an unimplemented section; its header was already reported
	}
	if toks[0].Text == "no" && len(toks) > 1 {
		if !contains([]string{"option", "log", "strict-limits", "set-dumpable"}, toks[1].Text) {
			p.errorf("negation ('no') is only supported for 'option', 'log', 'strict-limits' and 'set-dumpable', not for '%s'", toks[1].Text)
			return
		}
		p.negated = true
		toks = toks[1:]
	}
	p.runKeyword(p.sec.kws, toks, 0)
}

// sectionNames lists the section keywords, for suggestions.
func (p *parser) sectionNames() []string {
	names := make([]string, len(p.sections))
	for i, s := range p.sections {
		names[i] = s.name
	}
	return names
}

func (p *parser) findSection(name string) *sectionDef {
	for i := range p.sections {
		if p.sections[i].name == name {
			return &p.sections[i]
		}
	}
	return nil
}

package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// finish runs the checks that need the whole configuration, as HAProxy's
// check_config_validity does after the last file.
func (p *parser) finish() {
	p.finishPeers()
	p.finishRings()
	p.finishLogForwards()
	p.finishPrograms()
	p.finishACME()
	for _, ps := range p.proxies {
		px := ps.px
		px.HTTPRequest = append(px.HTTPRequest, ps.redirects...)
		if px.MonitorURI != "" && px.Cap&config.CapFE != 0 && px.Mode != config.ModeHTTP {
			p.cfg.Warnings = append(p.cfg.Warnings, config.Diag{Warning: true,
				Msg: "monitor-uri will be ignored for " + proxyType(px.Cap) + " '" + px.Name + "' (needs 'mode http')."})
		}
		p.checkBackendRefs(px)
		p.checkLogMode(ps)
		p.checkSpliceMode(ps)
		p.checkHashBalanceFactor(ps)
		p.checkHealthChecks(ps)
		p.checkServerVerify(px)
		p.checkCaptureIDs(px)
		p.checkCookieCaptureLen(px)
		p.checkStickRefs(px)
		p.checkStickRules(px)
		p.checkPersist(px)
		p.checkEmailAlert(px)
		if missingTimeouts(px) {
			p.warnAt(px.Pos, "missing timeouts for %s '%s'.\n"+
				"   | While not properly invalid, you will certainly encounter various problems\n"+
				"   | with such a configuration. To fix this, please ensure that all following\n"+
				"   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
				proxyType(px.Cap), px.Name)
		}
	}
	p.finishErrorPages()
	p.checkTracks()
	p.finishIdentity()
	p.finishUserlists()
	p.finishCaches()
	p.finishDNS()
	p.checkListeners()
}

// checkListeners refuses a configuration that would listen on nothing, as
// HAProxy refuses to start with one ("No enabled listener found"): started
// or reloaded with it, Gatehouse would serve nothing at all, so a reload to
// it keeps the previous configuration instead. The binds of a disabled
// proxy do not count: they are not bound. A "stats socket" is a
// listener too, as it is in HAProxy. A frontend without a bind line gets
// HAProxy's warning.
func (p *parser) checkListeners() {
	// Like HAProxy, only a configuration without other errors gets this
	// far: a bind line refused above is not a missing one.
	if len(p.errs) > 0 {
		return
	}
	listeners := len(p.cfg.Global.StatsSockets)
	for _, lf := range p.cfg.LogForwards { // a syslog relay listens too
		listeners += len(lf.Binds) + len(lf.DgramBinds)
	}
	for _, ps := range p.proxies {
		px := ps.px
		if px.Cap&config.CapFE == 0 {
			continue
		}
		if len(px.Binds) == 0 {
			p.warnAt(px.Pos, "%s '%s' has no 'bind' directive. Please declare it as a backend if this was intended.", proxyType(px.Cap), px.Name)
		}
		if !px.Disabled { // a disabled proxy binds nothing
			listeners += len(px.Binds)
		}
	}
	if listeners == 0 {
		p.errs = append(p.errs, config.Diag{Msg: "No enabled listener found (check for 'bind' directives) !"})
	}
}

// findBackend returns the proxy with backend capability named name.
func (p *parser) findBackend(name string) *config.Proxy {
	for _, ps := range p.proxies {
		if ps.px.Name == name && ps.px.Cap&config.CapBE != 0 {
			return ps.px
		}
	}
	return nil
}

func (p *parser) checkBackendRefs(px *config.Proxy) {
	if px.Cap&config.CapFE == 0 {
		return
	}
	check := func(name string, pos config.Pos, rule string) {
		if strings.Contains(name, "%[") {
			return // resolved per request
		}
		be := p.findBackend(name)
		switch {
		case be == nil:
			p.errs = append(p.errs, config.Errorf(pos, "Proxy '%s': unable to find required %s: '%s'.", px.Name, rule, name))
		case be == px:
			p.errs = append(p.errs, config.Errorf(pos, "Proxy '%s': loop detected for %s: '%s'.", px.Name, rule, name))
		case be.Mode != px.Mode:
			p.errs = append(p.errs, config.Errorf(pos, "%s %s '%s' (%s) tries to use incompatible %s %s '%s' (%s) in a '%s' rule (see 'mode').",
				px.Mode, proxyType(px.Cap), px.Name, px.Pos, be.Mode, proxyType(be.Cap), be.Name, be.Pos, rule))
		}
	}
	if px.DefaultBackend != "" {
		check(px.DefaultBackend, px.DefaultBEPos, "default_backend")
	}
	for _, ub := range px.UseBackends {
		check(ub.Name, ub.Pos, "use_backend")
	}
}

// checkLogMode falls back from HTTP logs to TCP logs in tcp mode, with
// HAProxy's warning.
func (p *parser) checkLogMode(ps *proxyState) {
	px := ps.px
	if px.Mode != config.ModeTCP || px.Cap&config.CapFE == 0 {
		return
	}
	if px.HTTPLog {
		p.warnAt(ps.httplogPos, "'option httplog' not usable with %s '%s' (needs 'mode http'). Falling back to 'option tcplog'.", proxyType(px.Cap), px.Name)
		px.HTTPLog, px.HTTPLogCLF, px.TCPLog = false, false, true
	}
	if px.HTTPSLog {
		p.warnAt(px.Pos, "'option httpslog' not usable with %s '%s' (needs 'mode http'). Falling back to 'option tcplog'.", proxyType(px.Cap), px.Name)
		px.HTTPSLog, px.TCPLog = false, true
	}
}

// checkSpliceMode warns that splice options do nothing in mode http,
// where bodies always pass through Gatehouse's buffers (HAProxy splices
// them too): the option is kept out of effect, never silently.
func (p *parser) checkSpliceMode(ps *proxyState) {
	px := ps.px
	if px.Mode == config.ModeHTTP && (px.SpliceRequest || px.SpliceResponse) {
		p.warnAt(px.Pos, "'option splice-*' has no effect on %s '%s' (mode http): Gatehouse splices only mode tcp tunnels.", proxyType(px.Cap), px.Name)
		px.SpliceRequest, px.SpliceResponse = false, false
	}
}

// checkTracks resolves every "track" as HAProxy's srv_apply_track does:
// the proxy (default: the server's own) and server must exist, the
// tracked server must have checks, an agent or a track of its own, and a
// chain must not loop.
func (p *parser) checkTracks() {
	type ref struct {
		px  *config.Proxy
		srv *config.Server
	}
	find := func(px *config.Proxy, spec string) (ref, string) {
		be, name, ok := strings.Cut(spec, "/")
		if !ok {
			be, name = px.Name, spec
		}
		var tp *config.Proxy
		for _, o := range p.cfg.Proxies {
			if o.Name == be && o.Cap&config.CapBE != 0 && o.Section != "defaults" {
				tp = o
				break
			}
		}
		if tp == nil {
			return ref{}, fmt.Sprintf("unable to find required proxy '%s' for tracking.", be)
		}
		for _, s := range tp.Servers {
			if s.Name == name {
				return ref{tp, s}, ""
			}
		}
		return ref{}, fmt.Sprintf("unable to find required server '%s' for tracking.", name)
	}
	for _, px := range p.cfg.Proxies {
		if px.Section == "defaults" {
			continue
		}
		for _, s := range px.Servers {
			if s.Track == "" {
				continue
			}
			t, msg := find(px, s.Track)
			if msg == "" {
				// Walk the chain from the tracked server: back to s is a loop.
				cur := t
				for i := 0; cur.srv.Track != "" && i < 1000; i++ {
					if cur.srv == s {
						break
					}
					next, m := find(cur.px, cur.srv.Track)
					if m != "" {
						break // reported on that server's own line
					}
					cur = next
				}
				switch {
				case cur.srv == s:
					msg = fmt.Sprintf("unable to track %s/%s as it belongs to a tracking chain looping back to %s/%s.", t.px.Name, t.srv.Name, px.Name, s.Name)
				case !t.srv.Check && !t.srv.Agent && t.srv.Track == "":
					msg = fmt.Sprintf("unable to use %s/%s for tracking as it does not have any check nor agent enabled.", t.px.Name, t.srv.Name)
				}
			}
			if msg != "" {
				p.errs = append(p.errs, config.Errorf(s.Pos, "'server %s/%s' : %s", px.Name, s.Name, msg))
			}
		}
	}
}

// checkHashBalanceFactor warns where hash-balance-factor has no effect:
// HAProxy bounds loads only on the consistent hashing ring.
func (p *parser) checkHashBalanceFactor(ps *proxyState) {
	px := ps.px
	h := px.Balance.Hash
	if ps.isDefaults || px.Cap&config.CapBE == 0 || h.BalanceFactor == 0 {
		return
	}
	switch px.Balance.Algo {
	case "source", "uri", "url_param", "hdr", "hash":
		if h.Consistent {
			return
		}
	}
	p.warnAt(px.Pos, "'hash-balance-factor' has no effect on %s '%s': it bounds loads only with 'hash-type consistent' and balance source, uri, url_param, hdr or hash.", proxyType(px.Cap), px.Name)
}

// checkHealthChecks drops check rules that no option enables, with a
// warning, so that a check is never configured half-way without notice.
func (p *parser) checkHealthChecks(ps *proxyState) {
	px := ps.px
	if px.HTTPCheck != nil && !ps.httpchkSet {
		p.warnAt(px.HTTPCheck.Pos, "'http-check' rules of %s '%s' are ignored because 'option httpchk' is not set.", proxyType(px.Cap), px.Name)
		px.HTTPCheck = nil
	}
	if px.TCPCheck != nil && !ps.tcpcheckSet {
		p.warnAt(px.TCPCheck.Pos, "'tcp-check' rules of %s '%s' are ignored because 'option tcp-check' is not set.", proxyType(px.Cap), px.Name)
		px.TCPCheck = nil
	}
	if px.HTTPCheck != nil && px.Mode == config.ModeTCP && ps.httpchkSet && px.TCPCheck != nil {
		p.errs = append(p.errs, config.Errorf(px.Pos, "%s '%s' enables both 'option httpchk' and 'option tcp-check'; only one check type may be used.", proxyType(px.Cap), px.Name))
	}
}

// checkServerVerify refuses TLS servers whose certificate would be
// verified by default without a CA file, as HAProxy does.
func (p *parser) checkServerVerify(px *config.Proxy) {
	if p.cfg.Global.SSLServerVerify == "none" {
		return
	}
	for _, s := range px.Servers {
		if s.SSL && s.Verify == "" && s.CAFile == "" {
			p.errs = append(p.errs, config.Errorf(s.Pos, "Proxy '%s', server '%s' [%s:%d] verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.",
				px.Name, s.Name, s.Pos.File, s.Pos.Line))
		}
	}
}

// missingTimeouts is HAProxy's condition for its "missing timeouts" warning.
func missingTimeouts(px *config.Proxy) bool {
	t := px.Timeouts
	fe := px.Cap&config.CapFE != 0 && t.Client == 0
	be := px.Cap&config.CapBE != 0 && len(px.Servers) > 0 &&
		(t.Connect == 0 || (t.Server == 0 && (px.Mode == config.ModeHTTP || t.Tunnel == 0)))
	return fe || be
}

// checkCookieCaptureLen cuts a "capture cookie" length to
// tune.http.cookielen (default 63), with HAProxy's warning.
func (p *parser) checkCookieCaptureLen(px *config.Proxy) {
	cc := px.CaptureCookie
	if cc == nil {
		return
	}
	limit := 63
	if n := p.cfg.Global.TuneCookieLen; n != nil && *n >= 0 {
		limit = *n
	}
	if cc.Len > limit {
		p.cfg.Warnings = append(p.cfg.Warnings, config.Diag{Warning: true,
			Msg: fmt.Sprintf("truncating capture length to %d bytes for %s '%s'.", limit, proxyType(px.Cap), px.Name)})
		cc.Len = limit
	}
}

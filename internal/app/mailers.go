package app

import (
	"os"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/mailers"
)

// emailAlert builds the sender of p's "email-alert" lines and returns its
// Alert, for the health checks to call on state changes; nil without
// email alerts. The sender lives as long as the graph: a reload lets it
// finish the mails already queued.
func (b *builder) emailAlert(p *config.Proxy) (func(logging.Level, string), error) {
	ea := p.EmailAlert
	if ea == nil {
		return nil, nil
	}
	var sec *config.Mailers
	for _, m := range b.cfg.Mailers {
		if m.Name == ea.Mailers {
			sec = m
		}
	}
	if sec == nil { // cfgparse refuses it; a hand-built config may not
		return nil, config.Errorf(ea.Pos, "proxy '%s': unable to find mailers '%s'.", p.Name, ea.Mailers)
	}
	lvl := logging.LevelAlert
	if ea.Level != "" {
		var ok bool
		if lvl, ok = logging.ParseLevel(ea.Level); !ok {
			return nil, config.Errorf(ea.Pos, "proxy '%s': unknown email-alert level '%s'.", p.Name, ea.Level)
		}
	}
	host := ea.MyHostname
	if host == "" {
		// HAProxy's default is the host name too (its global "hostname").
		h, err := os.Hostname()
		if err != nil || h == "" {
			return nil, config.Errorf(ea.Pos, "proxy '%s': email-alert needs 'myhostname': cannot read the host name: %v", p.Name, err)
		}
		host = h
	}
	// Failures go to the proxy's own log targets, else the process's.
	logf, err := b.healthLog(p)
	if err != nil {
		return nil, err
	}
	if logf == nil && b.sys != nil {
		sys := b.sys
		logf = func(l logging.Level, m string) { sys.Log(l, []byte(m)) }
	}
	o := mailers.Options{Proxy: p.Name, Timeout: sec.TimeoutMail, From: ea.From, To: ea.To,
		MyHostname: host, Level: lvl, Log: logf}
	for _, m := range sec.Mailers {
		o.Mailers = append(o.Mailers, mailers.Mailer{Name: m.Name, Addr: m.Addr})
	}
	s := mailers.New(o)
	b.g.retirers = append(b.g.retirers, s.Close)
	b.g.stoppers = append(b.g.stoppers, s.Abort)
	return s.Alert, nil
}

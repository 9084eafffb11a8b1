package app

import "github.com/gatehouse/gatehouse/internal/config"

// notYetWired rejects configuration the parser understands but whose
// runtime is not part of this build, so nothing is silently ignored.
// Each feature removes its line when its runtime is wired in.
func notYetWired(cfg *config.Config) []error {
	var errs []error
	for _, p := range cfg.Proxies {
		for _, b := range p.Binds {
			if b.Proto != "" && p.Mode == config.ModeTCP {
				errs = append(errs, config.Errorf(b.Pos, "'bind %s': 'proto %s' needs mode http (mode tcp relays bytes)", b.Addr, b.Proto))
			}
		}
		for _, s := range p.Servers {
			if s.Proto != "" && p.Mode == config.ModeTCP {
				errs = append(errs, config.Errorf(s.Pos, "server '%s/%s': 'proto %s' needs mode http (mode tcp relays bytes)", p.Name, s.Name, s.Proto))
			}
		}
	}
	return errs
}

func hasH2(alpn []string) bool {
	for _, p := range alpn {
		if p == "h2" {
			return true
		}
	}
	return false
}

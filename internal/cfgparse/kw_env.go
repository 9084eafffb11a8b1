package cfgparse

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
)

// envView is the environment as the configuration sees it: the base
// lookup changed by setenv/presetenv/resetenv/unsetenv so far. The parser
// never changes the process environment; cmd/gatehouse replays the
// recorded operations at start (process.ApplyEnv), so parsing a
// configuration (-c, tests, a failed reload) has no side effect.
type envView struct {
	base  func(string) (string, bool)
	vals  map[string]string // set by setenv/presetenv
	gone  map[string]bool   // removed by unsetenv or resetenv
	reset bool              // after resetenv: base names not in keep are gone
	keep  map[string]bool
}

func newEnvView(base func(string) (string, bool)) *envView {
	return &envView{base: base, vals: map[string]string{}, gone: map[string]bool{}}
}

func (e *envView) lookup(name string) (string, bool) {
	if v, ok := e.vals[name]; ok {
		return v, true
	}
	if e.gone[name] || (e.reset && !e.keep[name]) {
		return "", false
	}
	return e.base(name)
}

func (e *envView) apply(op config.EnvOp) {
	switch op.Op {
	case "setenv":
		e.vals[op.Names[0]] = op.Value
	case "presetenv":
		if _, ok := e.lookup(op.Names[0]); !ok {
			e.vals[op.Names[0]] = op.Value
		}
	case "unsetenv":
		for _, n := range op.Names {
			delete(e.vals, n)
			e.gone[n] = true
		}
	case "resetenv":
		keep := map[string]bool{}
		for _, n := range op.Names {
			keep[n] = true
		}
		for n := range e.vals {
			if !keep[n] {
				delete(e.vals, n)
			}
		}
		if e.reset { // a second reset keeps only what both keep
			for n := range keep {
				if !e.keep[n] {
					delete(keep, n)
				}
			}
		}
		e.reset, e.keep = true, keep
	}
}

func parseEnv(p *parser, args []token) error {
	kw := args[0].Text
	op := config.EnvOp{Op: kw}
	switch kw {
	case "setenv", "presetenv":
		if len(args) != 3 {
			return fmt.Errorf("'%s' expects a name and a value.", kw)
		}
		op.Names, op.Value = []string{args[1].Text}, args[2].Text
	case "unsetenv":
		if len(args) < 2 {
			return fmt.Errorf("'%s' expects at least one variable name.", kw)
		}
		fallthrough
	default:
		for _, a := range args[1:] {
			op.Names = append(op.Names, a.Text)
		}
	}
	for _, n := range op.Names {
		if n == "" {
			return fmt.Errorf("'%s' : an environment variable name cannot be empty", kw)
		}
	}
	p.env.apply(op)
	p.cfg.Global.Process.Env = append(p.cfg.Global.Process.Env, op)
	return nil
}

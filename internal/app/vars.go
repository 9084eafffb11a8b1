package app

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// buildProcVars makes the runtime's proc variables and runs the global
// set-var and set-var-fmt lines in order, as HAProxy does while parsing:
// a reload starts again from them, like a new HAProxy process.
func (b *builder) buildProcVars() error {
	procVars := &acl.SharedVars{}
	if l := b.cfg.Global.VarsMaxSize; l != nil && *l != (config.VarsMaxSize{}) {
		procVars.SetBudget(&acl.VarBudget{Global: l.Global, Proc: l.Proc, Sess: l.Sess, Txn: l.Txn, ReqRes: l.ReqRes})
	}
	b.g.Proc.Vars = procVars
	t := &acl.Txn{Vars: &acl.Vars{Proc: procVars}}
	for _, va := range b.cfg.Global.SetVars {
		expr := ""
		if va.Kind == "set-var" {
			expr = va.Expr
		}
		a, err := acl.CompileVarAction(va.Name, nil, expr, false, va.Pos)
		if err != nil {
			if _, ok := err.(config.Diag); ok {
				return err
			}
			return config.Errorf(va.Pos, "'%s %s' : %v", va.Kind, va.Name, err)
		}
		if !a.Name().IsProc() {
			return config.Errorf(va.Pos, "'%s': cannot set variable '%s', only scope 'proc' is permitted in the global section.", va.Kind, va.Name)
		}
		if e := a.Expr(); e != nil && e.Uses() != 0 {
			// Only constants and variables exist while parsing.
			return config.Errorf(va.Pos, "'%s %s' : sample expression '%s' extracts information from '%s', none of which is available here", va.Kind, va.Name, e, e.Uses())
		}
		if va.Kind == "set-var" {
			a.Run(t)
			continue
		}
		f, err := proxy.VarFormat(va.Expr, va.Pos)
		if err != nil {
			return err
		}
		c := logging.NewContext()
		c.Txn, c.PID, c.AcceptTime = t, b.g.Proc.PID, time.Now()
		a.SetString(t, string(f.Append(nil, c)))
	}
	return nil
}

// tcpVarRule compiles a tcp-request set-var, set-var-fmt or unset-var rule.
func tcpVarRule(r *config.TCPAction, ctx acl.Context) (*l4.VarRule, error) {
	a, err := proxy.CompileVarAction(r.Var, "tcp-request "+r.Layer, ctx)
	if err != nil {
		return nil, err
	}
	vr := &l4.VarRule{Action: a}
	if r.Var.Kind == "set-var-fmt" {
		if vr.Format, err = proxy.VarFormat(r.Var.Expr, r.Pos); err != nil {
			return nil, err
		}
	}
	return vr, nil
}

// ProcVar reads a proc variable for the runtime API's "get var".
func (t *graphTarget) ProcVar(name string) (typ, value string, ok bool) {
	n, err := acl.ParseVarName(name)
	if err != nil || !n.IsProc() || t.ops.g.Proc.Vars == nil {
		return "", "", false
	}
	return t.ops.g.Proc.Vars.Show(n)
}

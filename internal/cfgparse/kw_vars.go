package cfgparse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Variables: the set-var, set-var-fmt and unset-var actions of every rule
// set, and the global set-var and set-var-fmt lines. Names, conditions and
// expressions are checked when they are compiled (acl.CompileVarAction).

const varCondList = "ifexists, ifnotexists, ifempty, ifnotempty, ifset, ifnotset, ifgt, iflt"

func varHTTPActions() []httpAction {
	return []httpAction{
		{name: "set-var", after: true, syntax: "set-var(<scope>.<name>[,<cond>...]) <expr>", req: true, resp: true,
			desc: "Store the value of a sample expression, with its type, in a variable of scope proc, sess, txn, req or res when the conditions (" +
				varCondList + ") hold; req variables end when the request leaves for the server (or a reply is made), res ones with the response.",
			parse: parseHTTPVarAction},
		{name: "set-var-fmt", after: true, syntax: "set-var-fmt(<scope>.<name>[,<cond>...]) <fmt>", req: true, resp: true,
			desc: "Store the string a log-format gives in a variable, as set-var.", parse: parseHTTPVarAction},
		{name: "unset-var", after: true, syntax: "unset-var(<scope>.<name>)", req: true, resp: true,
			desc: "Remove a variable (a proc one stays, unset).", parse: parseHTTPVarAction},
	}
}

func isVarAction(name string) bool {
	return name == "set-var" || name == "set-var-fmt" || name == "unset-var"
}

// matchVarAction tells whether the rule's word names action (HAProxy
// matches these by prefix: "set-var(txn.x)").
func matchVarAction(action, word string) bool {
	if !isVarAction(action) || !strings.HasPrefix(word, action) {
		return false
	}
	rest := word[len(action):]
	return rest == "" || rest[0] == '('
}

func parseHTTPVarAction(p *parser, a *config.HTTPAction, args []token) error {
	va, err := parseVarWord(a.Action, args)
	if err != nil {
		return err
	}
	va.Pos = a.Pos
	a.Var, a.Action = va, va.Kind
	return nil
}

// parseVarWord reads "set-var(<name>[,<cond>...])", "set-var-fmt(...)" or
// "unset-var(<name>)" and the words after it, as HAProxy's parse_store.
func parseVarWord(word string, args []token) (*config.VarAction, error) {
	va := &config.VarAction{}
	rest := word
	for _, k := range []string{"set-var-fmt", "set-var", "unset-var"} {
		if strings.HasPrefix(word, k) {
			va.Kind, rest = k, word[len(k):]
			break
		}
	}
	const expects = "Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'"
	if !strings.HasPrefix(rest, "(") {
		return nil, fmt.Errorf("invalid or incomplete action '%s'. %s", word, expects)
	}
	if !strings.HasSuffix(rest, ")") || len(rest) < 2 {
		return nil, fmt.Errorf("incomplete argument after action '%s'. %s", word, expects)
	}
	parts := strings.Split(rest[1:len(rest)-1], ",")
	va.Name = parts[0]
	for _, c := range parts[1:] {
		if c != "" {
			va.Conds = append(va.Conds, c)
		}
	}
	if va.Kind == "unset-var" {
		if len(va.Conds) > 0 {
			return nil, fmt.Errorf(`unset-var does not expect parameters after the variable name. Only "set-var" and "set-var-fmt" manage conditions`)
		}
		if len(args) != 0 {
			return nil, fmt.Errorf("expects no argument, got %d", len(args))
		}
		return va, nil
	}
	what := "<expr>"
	if va.Kind == "set-var-fmt" {
		what = "<fmt>"
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("expects exactly 1 argument (%s), got %d", what, len(args))
	}
	va.Expr = args[0].Text
	return va, nil
}

func varGlobalKeywords() []keyword {
	return []keyword{
		{name: "set-var", where: wGlobal, syntax: "set-var proc.<name> <expr>",
			desc: "Set a process-wide variable when the configuration is loaded (and at each reload) from an expression of constants and proc variables set before.", parse: parseGlobalSetVar},
		varsMaxSize("global", "Bytes all variables together may hold (HAProxy's count: 80 per variable plus its string or binary bytes); a set-var past it fails. 0: no limit.",
			func(v *config.VarsMaxSize) *int64 { return &v.Global }),
		varsMaxSize("proc", "As tune.vars.global-max-size: the proc scope's count includes every other scope's.",
			func(v *config.VarsMaxSize) *int64 { return &v.Proc }),
		varsMaxSize("sess", "Bytes the variables of one client connection may hold: its sess variables and those of its transactions and requests. A set-var past it fails. 0: no limit.",
			func(v *config.VarsMaxSize) *int64 { return &v.Sess }),
		varsMaxSize("txn", "Bytes the variables of one transaction may hold: its txn, req and res variables. A set-var past it fails. 0: no limit.",
			func(v *config.VarsMaxSize) *int64 { return &v.Txn }),
		varsMaxSize("reqres", "Bytes one request's req variables, then its response's res variables, may hold. A set-var past it fails. 0: no limit.",
			func(v *config.VarsMaxSize) *int64 { return &v.ReqRes }),
		varsMaxSize("check", "Bytes a health check's check variables may hold. No Gatehouse rule sets check variables, so none is ever refused by it.",
			func(v *config.VarsMaxSize) *int64 { return &v.Check }),
		{name: "set-var-fmt", where: wGlobal, syntax: "set-var-fmt proc.<name> <fmt>",
			desc: "Set a process-wide variable from a log-format string when the configuration is loaded.", parse: parseGlobalSetVar},
	}
}

func parseGlobalSetVar(p *parser, args []token) error {
	kw := args[0].Text
	if len(args) < 3 || args[1].Text == "" || args[2].Text == "" {
		what := "a sample expression"
		if kw == "set-var-fmt" {
			what = "a format string"
		}
		return fmt.Errorf("'%s' requires a process-wide variable name ('proc.<name>') and %s.", kw, what)
	}
	if len(args) > 3 {
		return fmt.Errorf("'%s' expects a variable name and one argument; quote an argument with spaces.", kw)
	}
	if !strings.HasPrefix(args[1].Text, "proc.") {
		return fmt.Errorf("'%s': cannot set variable '%s', only scope 'proc' is permitted in the global section.", kw, args[1].Text)
	}
	va := &config.VarAction{Pos: p.pos(), Kind: kw, Name: args[1].Text, Expr: args[2].Text}
	p.cfg.Global.SetVars = append(p.cfg.Global.SetVars, va)
	return nil
}

// varsMaxSize is one tune.vars.<scope>-max-size keyword, read as HAProxy
// reads it: strtol base 10 into an unsigned int (no value is 0, a negative
// one wraps), nothing may follow the digits, extra words are ignored.
func varsMaxSize(scope, desc string, field func(*config.VarsMaxSize) *int64) keyword {
	name := "tune.vars." + scope + "-max-size"
	return keyword{name: name, where: wGlobal, syntax: name + " <size>", desc: desc,
		parse: func(p *parser, args []token) error {
			v := ""
			if len(args) > 1 {
				v = args[1].Text
			}
			n, err := int64(0), error(nil)
			if v != "" {
				n, err = strconv.ParseInt(v, 10, 64)
			}
			if err != nil {
				return fmt.Errorf("%s: '%s' is an invalid size", name, v)
			}
			if p.cfg.Global.VarsMaxSize == nil {
				p.cfg.Global.VarsMaxSize = &config.VarsMaxSize{}
			}
			*field(p.cfg.Global.VarsMaxSize) = int64(uint32(n))
			return nil
		}}
}

package config

// VarAction is "set-var(<name>[,<cond>...]) <expr>", "set-var-fmt(<name>
// [,<cond>...]) <fmt>" or "unset-var(<name>)": a rule action, or a global
// set-var/set-var-fmt line (proc variables, set when the runtime is built).
type VarAction struct {
	Pos   Pos
	Kind  string   // "set-var", "set-var-fmt" or "unset-var"
	Name  string   // "<scope>.<name>", checked when compiled
	Conds []string `json:",omitempty"`
	Expr  string   `json:",omitempty"` // set-var: a sample expression; set-var-fmt: a log-format
}

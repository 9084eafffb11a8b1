package config

import "time"

// Cookie is a backend's persistence cookie: "cookie <name> [rewrite|insert|
// prefix] [indirect] [nocache] [postonly] [preserve] [httponly] [secure]
// [domain <d>]* [maxidle <t>] [maxlife <t>] [dynamic] [attr <a>]*".
type Cookie struct {
	Pos  Pos
	Name string
	// Mode is "rewrite", "insert", "prefix" or "" (passive: the client's
	// cookie chooses the server, nothing is written).
	Mode     string `json:",omitempty"`
	Indirect bool   `json:",omitempty"`
	NoCache  bool   `json:",omitempty"`
	PostOnly bool   `json:",omitempty"`
	Preserve bool   `json:",omitempty"`
	HTTPOnly bool   `json:",omitempty"`
	Secure   bool   `json:",omitempty"`
	Dynamic  bool   `json:",omitempty"`
	// Domains are the "domain" values in order; Attrs the "attr" ones.
	Domains []string `json:",omitempty"`
	Attrs   []string `json:",omitempty"`
	// MaxIdle, MaxLife: whole seconds; 0 when unset.
	MaxIdle time.Duration `json:",omitempty"`
	MaxLife time.Duration `json:",omitempty"`
}

// PersistRule is "force-persist|ignore-persist if|unless <condition>".
type PersistRule struct {
	Pos   Pos
	Force bool // force-persist; else ignore-persist
	Cond  *Cond
}

// UseServer is "use-server <server> if|unless <condition>"; Name may be a
// log-format expression (%[...]) giving the name at run time.
type UseServer struct {
	Pos  Pos
	Name string
	Cond *Cond
}

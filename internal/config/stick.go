package config

import "time"

// StickTable is a proxy's "stick-table" line.
type StickTable struct {
	Pos Pos
	// Name is set for a peers section's "table" line ("<section>/<name>");
	// a proxy's table has the proxy's name.
	Name string `json:",omitempty"`
	// Peers names the peers section the table is shared with.
	Peers string `json:",omitempty"`
	// KeyLenSet: "len" was given (a string key's size on the peers
	// protocol is then len+1, as HAProxy's).
	KeyLenSet bool   `json:",omitempty"`
	Type      string // ip, ipv6, integer, string, binary
	KeyLen    int    `json:",omitempty"` // string and binary keys
	Size      int
	Expire    time.Duration `json:",omitempty"`
	NoPurge   bool          `json:",omitempty"`
	Store     []StickStore  `json:",omitempty"`
	// SrvKey is "srvkey name|addr": what server_key holds ("" is name).
	SrvKey string `json:",omitempty"`
}

// StickRule is "stick match|on|store-request|store-response <pattern>
// [table <table>] [{if|unless} <cond>]": Match looks the pattern's key up
// to choose the server, Store records the server for the key (at the
// response, Response: the pattern reads the response). "on" is both.
type StickRule struct {
	Pos      Pos
	Match    bool   `json:",omitempty"`
	Store    bool   `json:",omitempty"`
	Response bool   `json:",omitempty"`
	Expr     string // sample expression
	Table    string `json:",omitempty"` // "": the proxy's own
	Cond     *Cond  `json:",omitempty"`
}

// StickStore is one data type a table stores; Period for rates, Count
// for the arrays gpt(<nb>), gpc(<nb>), gpc_rate(<nb>,<period>).
type StickStore struct {
	Type   string
	Period time.Duration `json:",omitempty"`
	Count  int           `json:",omitempty"`
}

// StickAction is the argument of a stick-table rule action: track-scN
// (Key, Table), sc-inc-gpc0/1 and sc-set-gpt0 (Value) on counter Slot,
// sc-inc-gpc, sc-add-gpc and sc-set-gpt (Value) on element Idx.
type StickAction struct {
	Slot  int
	Idx   int    `json:",omitempty"` // sc-inc-gpc, sc-add-gpc, sc-set-gpt: the array element
	Key   string `json:",omitempty"` // sample expression
	Table string `json:",omitempty"` // "" is the proxy's own table
	Value string `json:",omitempty"` // sc-set-gpt0, sc-set-gpt, sc-add-gpc: an integer or a sample expression
	// InResponse: an http-response rule (track-sc does not count a request).
	InResponse bool `json:",omitempty"`
}

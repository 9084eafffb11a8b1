package config

import "time"

// StickTable is a proxy's "stick-table" line.
type StickTable struct {
	Pos     Pos
	Type    string // ip, ipv6, integer, string, binary
	KeyLen  int    `json:",omitempty"` // string and binary keys
	Size    int
	Expire  time.Duration `json:",omitempty"`
	NoPurge bool          `json:",omitempty"`
	Store   []StickStore  `json:",omitempty"`
}

// StickStore is one data type a table stores; Period for rates.
type StickStore struct {
	Type   string
	Period time.Duration `json:",omitempty"`
}

// StickAction is the argument of a stick-table rule action: track-scN
// (Key, Table), sc-inc-gpc0/1 and sc-set-gpt0 (Value) on counter Slot.
type StickAction struct {
	Slot  int
	Key   string `json:",omitempty"` // sample expression
	Table string `json:",omitempty"` // "" is the proxy's own table
	Value string `json:",omitempty"` // sc-set-gpt0: an integer or a sample expression
	// InResponse: an http-response rule (track-sc does not count a request).
	InResponse bool `json:",omitempty"`
}

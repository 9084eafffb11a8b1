package config

import "time"

// Ring is a "ring" section (HAProxy's configuration.txt 3.9): a buffer of
// log events filled by "log ring@<name>" targets, read by the runtime
// API's "show events <name>" and forwarded to its servers over TCP.
type Ring struct {
	Pos            Pos
	Name           string
	Description    string        `json:",omitempty"`
	Format         string        `json:",omitempty"` // a log format; "": raw, HAProxy's default for rings
	MaxLen         int           `json:",omitempty"` // 0: 16384 (BUFSIZE)
	Size           int           `json:",omitempty"` // 0: 16384 (BUFSIZE)
	TimeoutConnect time.Duration `json:",omitempty"`
	TimeoutServer  time.Duration `json:",omitempty"`
	Servers        []RingServer  `json:",omitempty"`
}

// RingServer is a ring's "server <name> <ip>:<port> [log-proto legacy|octet-count]".
type RingServer struct {
	Pos        Pos
	Name       string
	Addr       string // host:port
	OctetCount bool   // log-proto octet-count
}

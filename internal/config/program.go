package config

// Program is a "program" section (HAProxy's configuration.txt 3.7): a
// command Gatehouse starts beside itself and stops when it exits.
type Program struct {
	Pos     Pos
	Name    string
	Command []string // the command and its arguments
	User    string   `json:",omitempty"`
	Group   string   `json:",omitempty"`
	UID     int      `json:",omitempty"` // resolved from User; -1: unchanged
	GID     int      `json:",omitempty"` // resolved from Group; -1: unchanged
	// NoStartOnReload ("no option start-on-reload"): a reload keeps the
	// running instance instead of starting a new one.
	NoStartOnReload bool `json:",omitempty"`
}

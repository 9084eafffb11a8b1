package config

import "time"

// LogForward is a "log-forward" section (HAProxy's configuration.txt
// 3.10): a syslog relay from its binds to its log targets.
type LogForward struct {
	Pos           Pos
	Name          string
	Binds         []string // "bind" addresses (TCP), host:port
	DgramBinds    []string // "dgram-bind" addresses (UDP), host:port
	Logs          []*Log
	LogGlobal     bool          `json:",omitempty"` // "log global": the global targets too
	MaxConn       int           `json:",omitempty"` // 0: 10
	TimeoutClient time.Duration `json:",omitempty"` // 0: never
}

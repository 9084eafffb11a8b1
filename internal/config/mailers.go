package config

import "time"

// Mailers is a "mailers" section (HAProxy's configuration.txt 3.6): the SMTP
// servers that proxies' "email-alert mailers" send their alerts to.
type Mailers struct {
	Pos     Pos
	Name    string
	Mailers []Mailer
	// TimeoutMail ("timeout mail"): how long one mail's exchange with a
	// mailer may take; 0: HAProxy's default, 10s.
	TimeoutMail time.Duration `json:",omitempty"`
}

// Mailer is "mailer <name> <ip>:<port>".
type Mailer struct {
	Pos  Pos
	Name string
	Addr string // "ip:port", as net.Dial takes it
}

// EmailAlert is a proxy's "email-alert" lines: on a server state change at
// Level or more severe, a mail to To from From through every mailer of the
// Mailers section. Set: some email-alert line was given (HAProxy warns
// when Mailers, From or To is then missing and ignores the rest).
type EmailAlert struct {
	Pos        Pos
	Mailers    string
	From       string
	To         string
	Level      string // a syslog level name; "": alert
	MyHostname string // the HELO name; "": the host name
}

package logging

// Level is a syslog severity; lower is more severe.
type Level uint8

// Syslog levels, as HAProxy names them in "log" lines.
const (
	LevelEmerg Level = iota
	LevelAlert
	LevelCrit
	LevelErr
	LevelWarning
	LevelNotice
	LevelInfo
	LevelDebug
)

// Which level HAProxy uses for what:
//
//	info     traffic logs (httplog, tcplog, log-format lines)
//	err      traffic logs of failed sessions with "option log-separate-errors"
//	notice   proxy start/stop, servers going up, "Proxy X started."
//	warning  "Server X is DOWN" when others remain, configuration warnings
//	alert    "backend X has no server available!", servers going down
//	         leaving a backend without server
//	emerg    the process cannot continue

const levelNames = "emerg  alert  crit   err    warningnotice info   debug  "

// String returns the syslog name ("info", "err", ...).
func (l Level) String() string {
	if l > LevelDebug {
		return "unknown"
	}
	n := levelNames[int(l)*7 : int(l)*7+7]
	for len(n) > 0 && n[len(n)-1] == ' ' {
		n = n[:len(n)-1]
	}
	return n
}

// ParseLevel parses a syslog level name.
func ParseLevel(s string) (Level, bool) {
	for l := LevelEmerg; l <= LevelDebug; l++ {
		if l.String() == s {
			return l, true
		}
	}
	return 0, false
}

// Facility is a syslog facility number (0..23).
type Facility uint8

// facilityNames lists the 24 facilities HAProxy accepts, by number.
func facilityNames() [24]string {
	return [24]string{
		"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
	}
}

// String returns the facility name.
func (f Facility) String() string {
	if int(f) < 24 {
		return facilityNames()[f]
	}
	return "unknown"
}

// ParseFacility parses one of the 24 syslog facility names.
func ParseFacility(s string) (Facility, bool) {
	for i, n := range facilityNames() {
		if n == s {
			return Facility(i), true
		}
	}
	return 0, false
}

// LogFormat is a target's message framing ("log ... format NAME").
type LogFormat uint8

const (
	FormatRFC3164  LogFormat = iota // <PRI>Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG (default)
	FormatLocal                     // rfc3164 without the host name
	FormatRFC5424                   // <PRI>1 ISOTIME HOST TAG PID - SD MSG
	FormatShort                     // <LEVEL>MSG
	FormatPriority                  // <PRI>MSG
	FormatTimed                     // <LEVEL>ISOTIME MSG
	FormatISO                       // ISOTIME MSG
	FormatRaw                       // MSG
)

// ParseLogFormat parses a "format" name; "" is rfc3164.
func ParseLogFormat(s string) (LogFormat, bool) {
	switch s {
	case "", "rfc3164":
		return FormatRFC3164, true
	case "local":
		return FormatLocal, true
	case "rfc5424":
		return FormatRFC5424, true
	case "short":
		return FormatShort, true
	case "priority":
		return FormatPriority, true
	case "timed":
		return FormatTimed, true
	case "iso":
		return FormatISO, true
	case "raw":
		return FormatRaw, true
	}
	return 0, false
}

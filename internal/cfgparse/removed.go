package cfgparse

import "strings"

// What to use instead of keywords Gatehouse refuses. HAProxy 2.6 refuses
// the removed ones itself, with the advice kept here word for word; for the
// ones it still has but Gatehouse does not implement, the hint names what
// Gatehouse offers for the same need.

// removedProxyKeywords are proxy keywords HAProxy removed before 2.6.
var removedProxyKeywords = map[string]string{
	"block":       "The 'block' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' which uses the exact same syntax.",
	"reqadd":      "The 'reqadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request add-header' instead.",
	"reqrep":      "The 'reqrep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-path', 'http-request replace-uri' or 'http-request replace-header' instead.",
	"reqirep":     "The 'reqirep' directive is not supported anymore since HAProxy 2.1. Use 'http-request replace-header' instead.",
	"reqdel":      "The 'reqdel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead.",
	"reqidel":     "The 'reqidel' directive is not supported anymore since HAProxy 2.1. Use 'http-request del-header' instead.",
	"reqdeny":     "The 'reqdeny' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' instead.",
	"reqideny":    "The 'reqideny' directive is not supported anymore since HAProxy 2.1. Use 'http-request deny' instead.",
	"reqallow":    "The 'reqallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead.",
	"reqiallow":   "The 'reqiallow' directive is not supported anymore since HAProxy 2.1. Use 'http-request allow' instead.",
	"reqtarpit":   "The 'reqtarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead.",
	"reqitarpit":  "The 'reqitarpit' directive is not supported anymore since HAProxy 2.1. Use 'http-request tarpit' instead.",
	"reqpass":     "The 'reqpass' directive is not supported anymore since HAProxy 2.1; remove it.",
	"reqipass":    "The 'reqipass' directive is not supported anymore since HAProxy 2.1; remove it.",
	"reqsetbe":    "The 'reqsetbe' directive is not supported anymore since HAProxy 2.1. Use 'use_backend' instead.",
	"reqisetbe":   "The 'reqisetbe' directive is not supported anymore since HAProxy 2.1. Use 'use_backend' instead.",
	"rspadd":      "The 'rspadd' directive is not supported anymore since HAProxy 2.1. Use 'http-response add-header' instead.",
	"rsprep":      "The 'rsprep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead.",
	"rspirep":     "The 'rspirep' directive is not supported anymore since HAProxy 2.1. Use 'http-response replace-header' instead.",
	"rspdel":      "The 'rspdel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' instead.",
	"rspidel":     "The 'rspidel' directive is not supported anymore since HAProxy 2.1. Use 'http-response del-header' instead.",
	"rspdeny":     "The 'rspdeny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead.",
	"rspideny":    "The 'rspideny' directive is not supported anymore since HAProxy 2.1. Use 'http-response deny' instead.",
	"redispatch":  "keyword 'redispatch' directive is not supported anymore since HAProxy 2.1. Use 'option redispatch'.",
	"clitimeout":  "the 'clitimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout client'.",
	"contimeout":  "the 'contimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout connect'.",
	"srvtimeout":  "the 'srvtimeout' directive is not supported anymore since HAProxy 2.1. Use 'timeout server'.",
	"monitor-net": "'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if { src <net> }' instead.",
	"appsession":  "'appsession' is not supported anymore since HAProxy 1.6; use a 'cookie' based persistence or 'stick' rules.",
}

// removedOptions are "option" words HAProxy removed before 2.6.
var removedOptions = map[string]string{
	"forceclose":          "option 'forceclose' is not supported any more since HAProxy 2.0, please just remove it, or use 'option httpclose' if absolutely needed.",
	"http-tunnel":         "option 'http-tunnel' is not supported any more since HAProxy 2.1, please just remove it, it shouldn't be needed.",
	"independant-streams": "option 'independant-streams' is spelled 'independent-streams'.",
}

// unimplementedHints says what Gatehouse offers instead of a HAProxy
// keyword it does not implement, where something does the same job.
var unimplementedHints = map[string]string{
	"dispatch":    "declare the address with a 'server' line",
	"transparent": "transparent proxying needs TPROXY; declare the servers with 'server' lines",
	"usesrc":      "transparent proxying needs TPROXY, which Gatehouse does not use",
	"errorloc":    "use 'http-request redirect' or 'errorfile'",
	"errorloc302": "use 'http-request redirect' or 'errorfile'",
	"errorloc303": "use 'http-request redirect code 303' or 'errorfile'",
	"http-error":  "use 'errorfile', or 'http-request return' for a chosen answer",
	"errorfiles":  "use 'errorfile' lines",
	"lua-load":    "Gatehouse has no Lua; its identity sections ('oidc', 'identity-token') cover authentication",
	"npn":         "NPN is obsolete; use 'alpn'",
	"nbproc":      "Gatehouse is one process; remove it ('nbthread' is accepted)",
}

// unimplementedMsg is the error for a HAProxy keyword Gatehouse does not
// implement, with a hint when there is one.
func unimplementedMsg(what, name string) string {
	msg := "'" + what + "' is a HAProxy keyword that Gatehouse does not implement"
	if h := unimplementedHints[name]; h != "" {
		msg += "; " + h
	}
	return msg
}

// removedMsg returns HAProxy's advice for a keyword it removed, if any.
func removedMsg(prefix, name string) (string, bool) {
	switch strings.TrimSpace(prefix) {
	case "":
		m, ok := removedProxyKeywords[name]
		return m, ok
	case "option":
		m, ok := removedOptions[name]
		return m, ok
	}
	return "", false
}

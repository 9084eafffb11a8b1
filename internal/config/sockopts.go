package config

import "net/netip"

// Source is "source <addr>[:<port>[-<high>]] [interface <name>]" on a
// proxy or a server line: the address (and port, or port range) an
// outgoing connection binds to before connecting, and the device it is
// bound to (SO_BINDTODEVICE).
type Source struct {
	Pos  Pos
	Addr netip.Addr
	// PortLow..PortHigh: the source port; both 0: the system picks one.
	// A range (PortHigh > PortLow) is a server-only form.
	PortLow, PortHigh int    `json:",omitempty"`
	Interface         string `json:",omitempty"`
}

// SockProxy are a proxy's socket and wire options (sockopts keywords):
// "option nolinger", "option tcp-smart-connect", "option http-no-delay",
// "option allbackups", "option checkcache", "source", "option
// h1-case-adjust-bogus-*".
type SockProxy struct {
	// NoLinger: client (frontend) or server (backend) connections close
	// with a reset (SO_LINGER 0).
	NoLinger bool `json:",omitempty"`
	// SmartConnect: TCP_QUICKACK off before connecting to a server, so
	// the request rides on the handshake's last ACK.
	SmartConnect bool `json:",omitempty"`
	// HTTPNoDelay: response data is sent as soon as it is received.
	HTTPNoDelay bool `json:",omitempty"`
	// AllBackups: with no active server up, every usable backup server
	// shares the load (else only the first one).
	AllBackups bool `json:",omitempty"`
	// CheckCache: responses a shared cache could store with the server's
	// Set-Cookie are blocked (502).
	CheckCache bool `json:",omitempty"`
	// Source: the backend's default source for server connections.
	Source *Source `json:",omitempty"`
	// H1CaseClient, H1CaseServer: "option h1-case-adjust-bogus-client"
	// (frontend) and "-server" (backend): header names written to HTTP/1
	// clients, servers, take the case Global.H1Case gives them.
	H1CaseClient bool `json:",omitempty"`
	H1CaseServer bool `json:",omitempty"`
	// AcceptInvalidReq, AcceptInvalidResp: "option
	// accept-invalid-http-request" (frontend) and "-response" (backend).
	AcceptInvalidReq  bool `json:",omitempty"`
	AcceptInvalidResp bool `json:",omitempty"`
	// UseProxyHeader: "option http-use-proxy-header" (frontend).
	UseProxyHeader bool `json:",omitempty"`
}

// H1Case is the global "h1-case-adjust <from> <to>" entries and the last
// "h1-case-adjust-file": header names (lower case) and the case they are
// written in toward HTTP/1 peers of proxies with "option
// h1-case-adjust-bogus-client|server".
type H1Case struct {
	Pairs map[string]string `json:",omitempty"`
	// File ("h1-case-adjust-file", the last one) and its entries.
	File      string            `json:",omitempty"`
	FilePos   Pos               `json:",omitzero"`
	FilePairs map[string]string `json:",omitempty"`
}

package config

// Peers is a "peers" section: the processes that share stick tables over
// HAProxy's peers protocol, and the tables declared in it.
type Peers struct {
	Pos      Pos
	Name     string
	Disabled bool `json:",omitempty"`
	// Bind is where the local peer listens: a "bind" line, or the
	// address of the "peer" line naming the local peer.
	Bind    string `json:",omitempty"`
	BindPos Pos    `json:",omitempty"`
	// BindConf holds the TLS parameters of the 'bind' and 'default-bind'
	// lines (HAProxy keeps one bind_conf for both); nil without any.
	BindConf *Bind `json:",omitempty"`
	// DefaultServer is the 'default-server' template of the peers.
	DefaultServer Server `json:"-"`
	Peers         []*Peer
	// Tables are the section's "table" lines, named "<section>/<name>"
	// where they are referenced (track-sc, the runtime API).
	Tables []*StickTable `json:",omitempty"`
}

// Peer is a "peer" or "server" line of a peers section.
type Peer struct {
	Pos  Pos
	Name string
	Addr string `json:",omitempty"` // host:port; "" for a local "server" line
	// Server holds the line's TLS parameters (ssl, verify, ca-file, crt,
	// versions, ciphers), from 'default-server' and the line.
	Server *Server `json:",omitempty"`
}

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
	Peers   []*Peer
	// Tables are the section's "table" lines, named "<section>/<name>"
	// where they are referenced (track-sc, the runtime API).
	Tables []*StickTable `json:",omitempty"`
}

// Peer is a "peer" or "server" line of a peers section.
type Peer struct {
	Pos  Pos
	Name string
	Addr string `json:",omitempty"` // host:port; "" for a local "server" line
}

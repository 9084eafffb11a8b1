package runtimeapi

import (
	"bufio"
	"io"
)

// PeersTarget is implemented by a Target that shares stick tables with
// peers.
type PeersTarget interface {
	// ShowPeers writes "show peers [<section>]"; an unknown section is an
	// error returned verbatim.
	ShowPeers(w io.Writer, section string) error
}

// cmdShowPeers is "show peers [dict|-] [<section>]". 'dict' asks HAProxy
// for its server_key dictionaries, which Gatehouse's peers do not keep:
// said so rather than ignored.
func cmdShowPeers(ss *session, w *bufio.Writer, args []string) {
	a := args[2:]
	if len(a) > 0 && a[0] == "dict" {
		w.WriteString("Gatehouse's peers keep no dictionary (server_key is not exchanged); use 'show peers [<section>]'\n")
		return
	}
	if len(a) > 0 && a[0] == "-" {
		a = a[1:]
	}
	section := ""
	if len(a) > 0 {
		section = a[0]
	}
	pt, ok := ss.target.(PeersTarget)
	if !ok {
		if section != "" {
			w.WriteString("No such peers\n")
		}
		return
	}
	if err := pt.ShowPeers(w, section); err != nil {
		w.WriteString(err.Error())
	}
}

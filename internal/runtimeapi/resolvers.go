package runtimeapi

import (
	"bufio"
	"io"
)

// ResolversTarget is implemented by a Target that runs DNS resolvers.
type ResolversTarget interface {
	// ShowResolvers writes "show resolvers [<section>]"; an unknown
	// section is an error returned verbatim.
	ShowResolvers(w io.Writer, section string) error
}

// AdmResolutionMaint is HAProxy's SRV_ADMF_RMAINT: the server is in MAINT
// because DNS gives it no address.
const AdmResolutionMaint = 0x20

// AdmHostnameMaint is HAProxy's SRV_ADMF_HMAINT, which HAProxy 2.6 sets on
// a server-template slot once an SRV record gave it a target.
const AdmHostnameMaint = 0x40

func cmdShowResolvers(ss *session, w *bufio.Writer, args []string) {
	section := ""
	if len(args) > 2 {
		section = args[2]
	}
	rt, ok := ss.target.(ResolversTarget)
	if !ok {
		w.WriteString("No resolvers found\n")
		return
	}
	if err := rt.ShowResolvers(w, section); err != nil {
		w.WriteString(err.Error())
	}
}

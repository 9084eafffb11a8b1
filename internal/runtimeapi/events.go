package runtimeapi

import (
	"bufio"
	"io"
)

// EventsTarget is implemented by a Target with "ring" sections.
type EventsTarget interface {
	// ShowSinks writes one line per ring, as "show events" lists sinks.
	ShowSinks(w io.Writer)
	// ShowEvents writes the events of ring name (none with seekEnd, the
	// "-n" option); false when there is no such ring.
	ShowEvents(w io.Writer, name string, seekEnd bool) bool
}

// cmdShowEvents is "show events [<sink>] [-w] [-n]" (HAProxy's sink.c).
// "-w" (wait for new events) is refused: a session that waits would hold
// one of the socket's few connections open.
func cmdShowEvents(ss *session, w *bufio.Writer, args []string) {
	et, _ := ss.target.(EventsTarget)
	if len(args) == 2 {
		w.WriteString("Supported events sinks are listed below. Add -w(wait), -n(new). Any key to stop\n")
		if et != nil {
			et.ShowSinks(w)
		}
		return
	}
	seekEnd := false
	for _, o := range args[3:] {
		switch o {
		case "-n":
			seekEnd = true
		case "-w", "-wn", "-nw":
			w.WriteString("Gatehouse does not implement 'show events -w' (waiting for new events); poll 'show events <sink>' instead.\n")
			return
		default:
			w.WriteString("unknown option\n")
			return
		}
	}
	if et == nil || !et.ShowEvents(w, args[2], seekEnd) {
		w.WriteString("No such event sink\n")
	}
}

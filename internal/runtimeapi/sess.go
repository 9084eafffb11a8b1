package runtimeapi

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Stream is a request in progress, as "show sess" lists it.
type Stream struct {
	ID       uintptr
	Src      netip.AddrPort
	Frontend string
	Backend  string // "": none chosen yet
	Server   string // "": none chosen yet
	Started  time.Time
}

// StreamLister is a Target that can list its requests in progress.
type StreamLister interface {
	Streams() []Stream
}

// sessLine is one line of "show sess".
type sessLine struct {
	id                      uintptr
	proto, src, fe, be, srv string
	started                 time.Time
}

// cmdShowSess is "show sess [id]": one line per stream in HAProxy's form
// (address, proto, src, fe, be, srv, age), the API's own sessions
// included as HAProxy lists its CLI streams. HAProxy's scheduler and
// buffer fields (calls, rate, rq[...], ...) have no counterpart and are
// left out. "all", like a word that is no number, lists them all.
func cmdShowSess(ss *session, w *bufio.Writer, args []string) {
	now := time.Now()
	var lines []sessLine
	if sl, ok := ss.target.(StreamLister); ok {
		for _, st := range sl.Streams() {
			proto := "tcpv6"
			if st.Src.Addr().Unmap().Is4() {
				proto = "tcpv4"
			}
			l := sessLine{id: st.ID, proto: proto, src: st.Src.String(), fe: st.Frontend, be: "<NONE>", srv: "<none>", started: st.Started}
			if st.Backend != "" {
				l.be = st.Backend
			}
			if st.Server != "" {
				l.srv = st.Server
			}
			lines = append(lines, l)
		}
	}
	ss.srv.mu.Lock()
	for c, at := range ss.srv.conns {
		l := sessLine{id: connID(c), proto: "unix_stream", src: "unix:1", fe: "GLOBAL", be: "<NONE>", srv: "<none>", started: at}
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			// A TCP socket ("stats socket ipv4@..."): its client, as HAProxy lists it.
			l.proto, l.src = "tcpv6", a.AddrPort().String()
			if a.AddrPort().Addr().Unmap().Is4() {
				l.proto, l.src = "tcpv4", netip.AddrPortFrom(a.AddrPort().Addr().Unmap(), a.AddrPort().Port()).String()
			}
		}
		lines = append(lines, l)
	}
	ss.srv.mu.Unlock()
	sort.Slice(lines, func(i, j int) bool { return lines[i].started.Before(lines[j].started) })

	var want uintptr
	if len(args) > 2 && args[2] != "all" {
		v, _ := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(args[2]), "0x"), 16, 64)
		want = uintptr(v)
	}
	found := false
	for _, l := range lines {
		if want != 0 && l.id != want {
			continue
		}
		found = true
		age := max(now.Sub(l.started), 0)
		fmt.Fprintf(w, "%#x: proto=%s src=%s fe=%s be=%s srv=%s age=%s\n", l.id, l.proto, l.src, l.fe, l.be, l.srv, humanTime(int64(age/time.Second)))
	}
	if want != 0 && !found {
		w.WriteString("Session not found.\n")
	}
}

// humanTime writes seconds as HAProxy's human_time does: the first two
// non-zero units of d, h, m, s ("0s", "42s", "2m3s", "1h", "3d5m").
func humanTime(t int64) string {
	var b strings.Builder
	cnt := 2
	if t >= 86400 {
		fmt.Fprintf(&b, "%dd", t/86400)
		cnt--
	}
	if h := t % 86400 / 3600; cnt > 0 && h != 0 {
		fmt.Fprintf(&b, "%dh", h)
		cnt--
	}
	if m := t % 3600 / 60; cnt > 0 && m != 0 {
		fmt.Fprintf(&b, "%dm", m)
		cnt--
	}
	if cnt > 0 && t%60 != 0 || t == 0 {
		fmt.Fprintf(&b, "%ds", t%60)
	}
	return b.String()
}

// connID identifies an API session by its connection, as HAProxy names
// a stream by its address.
func connID(c net.Conn) uintptr {
	return reflect.ValueOf(c).Pointer()
}

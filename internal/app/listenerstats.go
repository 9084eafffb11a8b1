package app

import (
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
)

// listenerStat is one listener's stats row ("option socket-stats").
type listenerStat struct {
	name, addr string
	id         int
	maxConn    int // "bind ... maxconn"; 0: the frontend's
	c          *counters.Proxy
}

// listenerCounters gives the bound address its own counters when the
// frontend has "option socket-stats", named as HAProxy names listeners:
// the bind's name, else "sock-" and its id (bindIDs); nil without the
// option.
func (pr *proxyRuntime) listenerCounters(bind *config.Bind, id int) *counters.Proxy {
	if !pr.cfg.SocketStats {
		return nil
	}
	name := bind.Name
	if name == "" {
		name = "sock-" + strconv.Itoa(id)
	}
	c := &counters.Proxy{}
	pr.listeners = append(pr.listeners, listenerStat{name: name, addr: bindAddr(bind), id: id, maxConn: bind.MaxConn, c: c})
	return c
}

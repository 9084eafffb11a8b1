package upstream

import (
	"fmt"
	"github.com/gatehouse/gatehouse/internal/hashfn"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

type hashKind uint8

const (
	hashSource hashKind = iota
	hashURI
	hashHdr
	hashParam // balance url_param
	hashExpr  // balance hash <expr>
)

// hashBalancer is "balance source", "balance uri" and "balance hdr(NAME)".
// With HAProxy's default "hash-type map-based", the key's hash modulo the
// total weight indexes the static weighted map: weight changes while a
// server is up are ignored, and a server going down or up remaps most keys.
// With "hash-type consistent" the hash finds the nearest point of a ring
// where each server has 16 points per unit of weight (HAProxy's chash
// tree): a server leaving moves only its own keys, and weights are dynamic.
//
// A key whose server is at maxconn gets nil (the request waits in the queue
// for that server, as HAProxy queues on the hashed server) rather than
// another server. A missing hdr header, or a source that is not an IP
// address, falls back to round-robin over the map (or the ring).
type hashBalancer struct {
	lbBase
	kind       hashKind
	hdrName    string
	param      string // url_param's parameter name
	domainOnly bool
	whole      bool
	pathOnly   bool
	uriLen     int
	uriDepth   int
	fn         func(string) uint32 // hash-type function (sdbm by default)
	avalanche  bool
	factor     int // hash-balance-factor (consistent only); 0: off
	_          [64]byte
	next       atomic.Uint64 // round-robin fallback
}

// setHashType applies "hash-type" and "hash-balance-factor" as HAProxy's
// parser does: "consistent" without a function is sdbm with avalanche.
func (h *hashBalancer) setHashType(ht config.HashType) error {
	fn, ok := hashfn.ByName(ht.Func)
	if !ok {
		return fmt.Errorf("hash-type: unknown hash function '%s' (supported: %s)", ht.Func, strings.Join(hashfn.Names(), ", "))
	}
	h.fn = fn
	h.avalanche = ht.Avalanche || ht.Consistent && ht.Func == ""
	if ht.Consistent {
		h.chash = true
		h.noSeq = true
		h.factor = ht.BalanceFactor
	} else {
		h.static = true
	}
	return nil
}

func (h *hashBalancer) sticky() bool { return true }

// HeaderName is the header "balance hdr(NAME)" hashes, "" for other kinds.
func (h *hashBalancer) HeaderName() string { return h.hdrName }

func (h *hashBalancer) Pick(key Key, exclude *Server) *Server {
	set := h.load()
	if h.chash {
		return h.pickRing(set, key, exclude)
	}
	tot := uint32(len(set.seq))
	if tot == 0 {
		return nil
	}
	hv, ok := h.hash(key)
	if !ok {
		return pickSeq(set, &h.next, exclude)
	}
	if len(set.live) == 1 {
		hv = 0 // HAProxy does not hash when a single server is left
	}
	i := hv % tot
	s := set.seq[i]
	if s != exclude {
		if s.TryAcquire() {
			return s
		}
		return nil
	}
	// Redispatch away from the hashed server: the next distinct server in
	// map order that has a slot, the hashed one as a last resort.
	for j := uint32(1); j < tot; j++ {
		c := set.seq[(i+j)%tot]
		if c != exclude && c.TryAcquire() {
			return c
		}
	}
	if s.TryAcquire() {
		return s
	}
	return nil
}

// target is the server key hashes to, full or not; nil when the key has
// no hash (the round-robin fallback).
func (h *hashBalancer) target(key Key) *Server {
	set := h.load()
	hv, ok := h.hash(key)
	if !ok || len(set.live) == 0 {
		return nil
	}
	if len(set.live) == 1 {
		hv = 0
	}
	if h.chash {
		return h.ringLookup(set, hv, nil)
	}
	return set.seq[hv%uint32(len(set.seq))]
}

// hash is HAProxy's get_server_sh/uh/hh before the lookup: the source
// address is XORed, the URI or header hashed with the hash-type function,
// then mixed with full_hash when "avalanche" is set.
func (h *hashBalancer) hash(key Key) (uint32, bool) {
	var v uint32
	switch h.kind {
	case hashSource:
		var ok bool
		if v, ok = sourceHash(key); !ok {
			return 0, false
		}
	case hashURI:
		v = h.fn(h.uriPart(key.URI))
	case hashExpr:
		if !key.HasSample {
			return 0, false
		}
		v = h.fn(key.Sample)
	case hashParam:
		pv, ok := queryParam(key.URI, h.param)
		if !ok {
			return 0, false
		}
		v = h.fn(pv)
	default:
		hv := key.Hdr
		if hv == "" {
			return 0, false
		}
		if h.domainOnly {
			hv = mainDomain(hv)
		}
		v = h.fn(hv)
	}
	if h.avalanche {
		v = hashfn.FullHash(v)
	}
	return v, true
}

// sourceHash XORs the address' 32-bit words (HAProxy's get_server_sh
// without avalanche).
func sourceHash(key Key) (uint32, bool) {
	a := key.Src.Unmap()
	switch {
	case a.Is4():
		b := a.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	case a.Is6():
		b := a.As16()
		var h uint32
		for i := 0; i < 16; i += 4 {
			h ^= uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
		}
		return h, true
	}
	return 0, false
}

// uriPart selects what "balance uri" hashes: the URI up to '?' unless
// "whole", at most "len" characters, at most "depth" directories (up to
// the slash after them); with "path-only" the scheme and authority of an
// absolute URI are skipped.
func (h *hashBalancer) uriPart(uri string) string {
	if h.pathOnly {
		uri = pathOf(uri)
	}
	if h.uriLen > 0 && h.uriLen < len(uri) {
		uri = uri[:h.uriLen]
	}
	slashes := 0
	for i := 0; i < len(uri); i++ {
		switch uri[i] {
		case '/':
			slashes++
			if h.uriDepth > 0 && slashes == h.uriDepth+1 { // HAProxy keeps depth+1: "depth 2" hashes "/a/b"
				return uri[:i]
			}
		case '?':
			if !h.whole {
				return uri[:i]
			}
		}
	}
	return uri
}

// queryParam finds the first "name=value" of the query string, as
// HAProxy's get_server_ph: the value runs to the next '&'; names are
// compared as written (no decoding).
func queryParam(uri, name string) (string, bool) {
	q := strings.IndexByte(uri, '?')
	if q < 0 {
		return "", false
	}
	params := uri[q+1:]
	for len(params) > len(name) {
		if params[len(name)] == '=' && params[:len(name)] == name {
			v := params[len(name)+1:]
			if i := strings.IndexByte(v, '&'); i >= 0 {
				v = v[:i]
			}
			return v, true
		}
		i := strings.IndexByte(params, '&')
		if i < 0 {
			return "", false
		}
		params = params[i+1:]
	}
	return "", false
}

// pathOf returns the path and query of a request-target as
// httpmsg.ParseTarget splits it: an absolute-form target without its scheme
// and authority, origin-form as it is.
func pathOf(uri string) string {
	tg := httpmsg.SplitTarget(uri)
	return tg.PathQuery
}

// mainDomain keeps the label before the top-level domain:
// "haproxy.1wt.eu" -> "1wt" (hdr(Host) use_domain_only).
func mainDomain(v string) string {
	last := strings.LastIndexByte(v, '.')
	if last < 0 {
		return v
	}
	return v[strings.LastIndexByte(v[:last], '.')+1 : last]
}

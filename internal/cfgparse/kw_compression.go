package cfgparse

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

func compressionKeywords() []keyword {
	return []keyword{
		{name: "compression", where: wProxy,
			syntax: "compression algo <algorithm> ... | compression type <mime type> ... | compression offload",
			desc: "HTTP response compression as HAProxy 2.6 does it. 'algo': " + strings.Join(config.CompressionAlgos, ", ") +
				" (raw-deflate answers and announces 'deflate'), chosen by the client's Accept-Encoding and its q-values (q=0 refuses), the backend's list before the frontend's. " +
				"'type': only responses whose Content-Type starts with one of these are compressed. 'offload' (not in defaults): Accept-Encoding is removed from a request whose algorithm was chosen, so the server sends plain bodies. " +
				"Responses are compressed only for HTTP/1.1 or later on both sides, status 200-203, with a body of known length, no Content-Encoding, no 'Cache-Control: no-transform', " +
				"at most one valid ETag, not multipart, not to HEAD nor to an old 'Mozilla/4' client; they lose Content-Length, get 'Vary: Accept-Encoding', a weakened ETag and are streamed.",
			parse: parseCompression},
		{name: "filter", where: wFE | wBE, syntax: "filter <name> [param*]",
			desc: "Declare a filter of the proxy. Gatehouse has the compression filter only, which 'compression' lines declare implicitly.",
			sub:  filterTable, subUnimpl: []string{"cache", "spoe", "trace", "fcgi-app", "bwlim-in", "bwlim-out", "opentracing"}},
	}
}

func filterTable() []keyword {
	return []keyword{
		{name: "compression", where: wFE | wBE, syntax: "filter compression",
			desc:  "Declare the compression filter explicitly (HAProxy needs it to order it among other filters); the 'compression' lines configure it, and without them it does nothing.",
			parse: parseFilterCompression},
	}
}

func parseFilterCompression(p *parser, args []token) error {
	if len(args) > 2 {
		return fmt.Errorf("'filter compression' takes no argument.")
	}
	px := p.ps.px
	if px.FilterCompression {
		return fmt.Errorf("%s: Proxy supports only one compression filter", px.Name)
	}
	px.FilterCompression = true
	return nil
}

func compressionGlobalKeywords() []keyword {
	return []keyword{
		{name: "tune.comp.maxlevel", where: wGlobal, syntax: "tune.comp.maxlevel <1..9>",
			desc:  "The deflate level of every compressed response (default 1: a one-pass encoder with fixed codes, as HAProxy's libslz); levels 2-9 compress smaller at more CPU cost.",
			parse: parseCompMaxLevel},
	}
}

func parseCompMaxLevel(p *parser, args []token) error {
	if err := wantArgs(args, "tune.comp.maxlevel", 1, 1, "a numeric value between 1 and 9"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[1].Text)
	if err != nil || n < 1 || n > 9 {
		return fmt.Errorf("'tune.comp.maxlevel' expects a numeric value between 1 and 9")
	}
	p.cfg.Global.TuneCompMaxLevel = n
	return nil
}

// compressionLater are the "compression" words of later HAProxy versions.
var compressionLater = map[string]string{
	"algo-req": "2.8", "algo-res": "2.8", "type-req": "2.8", "type-res": "2.8", "direction": "2.8",
	"minsize-req": "3.2", "minsize-res": "3.2",
}

func parseCompression(p *parser, args []token) error {
	w := texts(args)
	if len(w) < 2 {
		return fmt.Errorf("'compression' expects 'algo', 'type' or 'offload'")
	}
	px := p.ps.px
	c := px.Compression
	if c == nil {
		c = &config.Compression{Pos: p.pos()}
	}
	switch w[1] {
	case "algo":
		if len(w) < 3 {
			return fmt.Errorf("'compression' expects <algorithm>.")
		}
		for _, a := range w[2:] {
			if !slices.Contains(config.CompressionAlgos, a) {
				return fmt.Errorf("'compression' : '%s' is not a supported algorithm (expected %s).", a, strings.Join(config.CompressionAlgos, ", "))
			}
			// HAProxy prepends each algorithm to the list.
			c.Algos = slices.Insert(c.Algos, 0, a)
		}
	case "type":
		if len(w) < 3 {
			return fmt.Errorf("'compression' expects <type>.")
		}
		c.Types = append(c.Types, w[2:]...)
	case "offload":
		if len(w) > 2 {
			return fmt.Errorf("'compression offload' takes no argument.")
		}
		px.Compression = c
		if p.ps.isDefaults {
			return warning("'compression' : 'offload' ignored in 'defaults' section.")
		}
		c.Offload = true
		return nil
	default:
		if v, ok := compressionLater[w[1]]; ok {
			return fmt.Errorf("'compression %s' is a HAProxy %s keyword; Gatehouse follows HAProxy 2.6, whose compression takes 'algo', 'type' or 'offload' and compresses responses only.", w[1], v)
		}
		return fmt.Errorf("'compression' expects 'algo', 'type' or 'offload'")
	}
	px.Compression = c
	return nil
}

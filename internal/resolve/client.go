// Package resolve follows DNS records for servers declared with
// "resolvers" (HAProxy's configuration.txt 5.3): it asks the nameservers of
// a resolvers section every "timeout resolve", and turns their A/AAAA or
// SRV answers into server addresses, ports, weights and MAINT (resolution)
// through upstream.Server's API.
package resolve

import (
	"context"
	"encoding/binary"
	"errors"

	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// status is the outcome of one query, HAProxy's RSLV_RESP_* folded into
// the statuses the "hold" periods name.
type status uint8

const (
	stValid   status = iota // answers of the asked type
	stNX                    // NXDOMAIN
	stRefused               // REFUSED
	stTimeout               // no answer within timeout retry
	stEmpty                 // NOERROR without an answer of the asked type
	stOther                 // SERVFAIL and other errors
	stInvalid               // a malformed or mismatched answer
)

// srvRecord is one SRV answer.
type srvRecord struct {
	Target   string // lower case, without the trailing dot
	Port     uint16
	Weight   uint16
	Priority uint16
}

// answer is what one response said about the asked name.
type answer struct {
	st     status
	ns     *nameserver             // who answered (for the update counter)
	addrs  []netip.Addr            // A or AAAA answers (after CNAMEs)
	srv    []srvRecord             // SRV answers
	extra  map[string][]netip.Addr // additional A/AAAA records by name
	cname  bool                    // the answer went through a CNAME
	trunc  bool                    // the UDP answer was truncated (then asked over TCP)
	tooBig bool                    // larger than accepted_payload_size
}

func canon(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// buildQuery makes a query for name/qt with an EDNS0 OPT record announcing
// payload bytes when that is above 512.
func buildQuery(id uint16, name string, qt dnsmessage.Type, payload int) ([]byte, error) {
	n, err := dnsmessage.NewName(canon(name) + ".")
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: qt, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	if payload > 512 {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(payload, dnsmessage.RCodeSuccess, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// parseAnswer reads a response to the query id/name/qt.
func parseAnswer(msg []byte, id uint16, name string, qt dnsmessage.Type) answer {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.ID != id || !h.Response {
		return answer{st: stInvalid}
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 || qs[0].Type != qt || canon(qs[0].Name.String()) != canon(name) {
		return answer{st: stInvalid}
	}
	a := answer{trunc: h.Truncated}
	switch h.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		a.st = stNX
		return a
	case dnsmessage.RCodeRefused:
		a.st = stRefused
		return a
	default:
		a.st = stOther
		return a
	}
	want := canon(name)
	// Answers are read in order; a CNAME makes its target the name the
	// following records must carry.
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return answer{st: stInvalid}
		}
		owner := canon(rh.Name.String())
		switch {
		case rh.Type == dnsmessage.TypeCNAME && owner == want:
			r, err := p.CNAMEResource()
			if err != nil {
				return answer{st: stInvalid}
			}
			want, a.cname = canon(r.CNAME.String()), true
		case rh.Type == dnsmessage.TypeA && qt == dnsmessage.TypeA && owner == want:
			r, err := p.AResource()
			if err != nil {
				return answer{st: stInvalid}
			}
			a.addrs = append(a.addrs, netip.AddrFrom4(r.A))
		case rh.Type == dnsmessage.TypeAAAA && qt == dnsmessage.TypeAAAA && owner == want:
			r, err := p.AAAAResource()
			if err != nil {
				return answer{st: stInvalid}
			}
			a.addrs = append(a.addrs, netip.AddrFrom16(r.AAAA).Unmap())
		case rh.Type == dnsmessage.TypeSRV && qt == dnsmessage.TypeSRV && owner == want:
			r, err := p.SRVResource()
			if err != nil {
				return answer{st: stInvalid}
			}
			if t := canon(r.Target.String()); t != "" { // "." means no service
				a.srv = append(a.srv, srvRecord{Target: t, Port: r.Port, Weight: r.Weight, Priority: r.Priority})
			}
		default:
			if err := p.SkipAnswer(); err != nil {
				return answer{st: stInvalid}
			}
		}
	}
	if qt == dnsmessage.TypeSRV {
		if err := p.SkipAllAuthorities(); err == nil {
			a.extra = additionals(&p)
		}
	}
	if len(a.addrs) == 0 && len(a.srv) == 0 {
		a.st = stEmpty
	}
	return a
}

// additionals collects the A/AAAA records of the additional section (the
// addresses of SRV targets).
func additionals(p *dnsmessage.Parser) map[string][]netip.Addr {
	m := map[string][]netip.Addr{}
	for {
		rh, err := p.AdditionalHeader()
		if err != nil {
			return m
		}
		owner := canon(rh.Name.String())
		switch rh.Type {
		case dnsmessage.TypeA:
			r, err := p.AResource()
			if err != nil {
				return m
			}
			m[owner] = append(m[owner], netip.AddrFrom4(r.A))
		case dnsmessage.TypeAAAA:
			r, err := p.AAAAResource()
			if err != nil {
				return m
			}
			m[owner] = append(m[owner], netip.AddrFrom16(r.AAAA).Unmap())
		default:
			if err := p.SkipAdditional(); err != nil {
				return m
			}
		}
	}
}

// exchange asks one nameserver over UDP, and again over TCP when the
// answer is truncated, within timeout.
func exchange(ctx context.Context, ns netip.AddrPort, name string, qt dnsmessage.Type, payload int, timeout time.Duration, c *nsCounters) answer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := uint16(rand.Uint32())
	q, err := buildQuery(id, name, qt, payload)
	if err != nil {
		return answer{st: stInvalid}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", ns.String())
	if err != nil {
		c.sndError.Add(1)
		return answer{st: stOther}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c.sent.Add(1)
	if _, err := conn.Write(q); err != nil {
		c.sndError.Add(1)
		return answer{st: stOther}
	}
	buf := make([]byte, max(payload, 512)+1)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return answer{st: stTimeout}
		}
		if n > max(payload, 512) {
			c.tooBig.Add(1)
			return answer{st: stInvalid, tooBig: true}
		}
		a := parseAnswer(buf[:n], id, name, qt)
		if a.st == stInvalid {
			continue // not ours (or garbage): keep waiting for the answer
		}
		if !a.trunc {
			return a
		}
		c.truncated.Add(1)
		return exchangeTCP(ctx, ns, name, qt, payload)
	}
}

// exchangeTCP asks over TCP (RFC 7766), after a truncated UDP answer.
func exchangeTCP(ctx context.Context, ns netip.AddrPort, name string, qt dnsmessage.Type, payload int) answer {
	id := uint16(rand.Uint32())
	q, err := buildQuery(id, name, qt, payload)
	if err != nil {
		return answer{st: stInvalid}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ns.String())
	if err != nil {
		return answer{st: stOther}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)); err != nil {
		return answer{st: stOther}
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return answer{st: stTimeout}
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		return answer{st: stTimeout}
	}
	return parseAnswer(msg, id, name, qt)
}

func (s status) String() string {
	return [...]string{"valid", "nx", "refused", "timeout", "empty", "other", "invalid"}[s]
}

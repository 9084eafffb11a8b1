package l4

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// forward connects to a server (with retries), sends the PROXY header and
// the replayed payload, then relays both directions.
func (s *session) forward() {
	be := s.be
	srvConn, ok := s.connect()
	if !ok {
		return
	}
	srv := s.srv
	defer srv.Release()
	s.stickStore(srv)
	if h, isLocal := be.Handoffs[srv]; isLocal {
		s.handoff(h)
		return
	}
	defer srvConn.Close()
	if cs := srv.Cfg; cs != nil && (cs.OnMarkedDown != "" || srv.Backup) {
		// on-marked-down / on-marked-up may cut the session, both sides.
		release := srv.HoldSession(func() {
			srvConn.Close()
			s.raw.Close()
		})
		defer release()
	}
	s.logASAP()
	out := make([]byte, 0, 128+len(s.payload))
	out = s.appendProxyHeader(out)
	out = append(out, s.payload...)
	if len(out) > 0 {
		if d := be.Timeouts.Server; d > 0 {
			_ = srvConn.SetWriteDeadline(time.Now().Add(d))
		}
		if _, err := srvConn.Write(out); err != nil {
			s.term = logging.TermServerAbortData
			be.Counters.SrvAbort.Add(1)
			srv.Counters.SrvAbort.Add(1)
			return
		}
		_ = srvConn.SetWriteDeadline(time.Time{})
		if n := uint64(len(s.payload)); n > 0 {
			s.bytesIn += int64(n)
			s.fe.Counters.BytesIn.Add(n)
			if lc := s.lst.Counters; lc != nil {
				lc.BytesIn.Add(n)
			}
			be.Counters.BytesIn.Add(n)
			srv.Counters.BytesIn.Add(n)
			s.stick.AddBytes(n, 0)
		}
	}
	s.relay(srvConn)
}

// appendProxyHeader writes the server's send-proxy / send-proxy-v2 header.
func (s *session) appendProxyHeader(b []byte) []byte {
	cs := s.srv.Cfg
	if cs == nil || cs.SendProxy == 0 {
		return b
	}
	if cs.SendProxy == 1 {
		return proxyproto.AppendV1(b, s.src, s.dst)
	}
	o, _ := proxyproto.ParseOptions(cs.ProxyV2Opts)
	if o.Authority {
		o.AuthorityValue = s.sni()
	}
	if o.SSL && s.tls != nil {
		o.ClientTLS, o.TLSVersion = true, tlsconf.VersionName(s.tls.Version)
	}
	if s.tls != nil {
		o.ALPN = s.tls.NegotiatedProtocol
	}
	if o.UniqueID && s.fe.UniqueID != nil {
		c := logging.NewContext()
		s.fill(c)
		o.UniqueIDValue = string(s.fe.UniqueID.Append(nil, c))
	}
	return proxyproto.AppendV2(b, s.src, s.dst, &o)
}

// sni is the client's server name: from the deciphered handshake, the
// peeked ClientHello, or a received PROXY header's authority.
func (s *session) sni() string {
	if s.tls != nil {
		return s.tls.ServerName
	}
	if e := s.fe.SNI; e != nil && len(s.payload) > 0 {
		if v, ok := e.AppendString(nil, &s.txn); ok && len(v) > 0 {
			return string(v)
		}
	}
	if s.hdr != nil {
		return s.hdr.Authority()
	}
	return ""
}

// connect assigns a server and connects to it, retrying as "retries" and
// "option redispatch" say. On failure s.term is set.
func (s *session) connect() (*net.TCPConn, bool) {
	be := s.be
	ctx := context.Background()
	key := upstream.Key{Src: s.src.Addr()}
	s.rdpKey(&key)
	var exclude *upstream.Server
	for attempt := 0; ; attempt++ {
		t0 := time.Now()
		var srv *upstream.Server
		var err error
		if s.target != nil && s.target != exclude {
			srv, err = be.Farm.AssignTo(ctx, s.target)
			if errors.Is(err, upstream.ErrQueueFull) && be.Redispatch && !s.force {
				s.target = nil // balanced instead, as HAProxy does
			}
		}
		if s.target == nil || s.target == exclude {
			srv, err = be.Farm.Assign(ctx, key, exclude)
		}
		s.tw += time.Since(t0)
		if err != nil {
			s.srv = nil
			if errors.Is(err, upstream.ErrQueueTimeout) || errors.Is(err, upstream.ErrQueueFull) {
				s.term = logging.TermQueueTimeout
			} else {
				s.term = logging.TermConnRefused
			}
			be.Counters.ErrConn.Add(1)
			return nil, false
		}
		if srv != s.srv {
			// A retry on the same server is not a load-balancing choice.
			srv.Counters.LbTot.Add(1)
			be.Counters.LbTot.Add(1)
		}
		s.srv, s.assigned = srv, true
		s.live.srv.Store(srv)
		s.txn.Server = srv.Name
		now := time.Now()
		srv.Counters.OpenSession(now)
		srv.Counters.ReqHistory.Tick(now)
		if _, ok := be.Handoffs[srv]; ok {
			s.conn = true
			return nil, true
		}
		addr := srv.Addr()
		if addr.Port() == 0 {
			addr = netip_withPort(addr, s.dst.Port())
		}
		uc, err := upstream.DialAddrVia(ctx, srv, addr, upstream.PoolKey{}, nil, be.Timeouts.Connect)
		s.tc = time.Since(now)
		if err == nil {
			srv.Counters.Connect.Add(1)
			srv.Counters.CTime.AddDuration(s.tc)
			s.conn = true
			return uc.Raw, true
		}
		srv.Release()
		kind := upstream.KindOf(err)
		if attempt >= be.Retries {
			be.Counters.ErrConn.Add(1)
			srv.Counters.ErrConn.Add(1)
			s.term = logging.Term(kind.TermState()[0], 'C')
			return nil, false
		}
		s.retries++
		be.Counters.Retries.Add(1)
		srv.Counters.Retries.Add(1)
		// As in mode http (proxy.noteRetry): at once when nothing ties the
		// connection to srv, else on the last retry.
		// A server use-server assigned is left at once only when down;
		// force-persist never leaves it.
		atOnce := be.Farm.RedispatchNow(srv)
		if s.target != nil {
			atOnce = srv.Operational() == upstream.OpDown
		}
		redisp := be.Redispatch && !s.force && (upstream.RedispatchTurn(attempt+1, be.Retries, be.RedispatchAfter) || atOnce)
		if redisp {
			s.target = nil
			exclude = srv
			s.redisp = true
			be.Counters.Redisp.Add(1)
			srv.Counters.Redisp.Add(1)
		}
		// HAProxy waits its turn-around only before retrying the same server.
		if kind != upstream.ErrTimeout && !redisp {
			// HAProxy's turn-around timer: min(timeout connect, 1s).
			d := time.Second
			if c := be.Timeouts.Connect; c > 0 && c < d {
				d = c
			}
			time.Sleep(d)
		}
	}
}

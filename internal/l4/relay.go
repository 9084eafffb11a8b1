package l4

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/sock"
	"github.com/gatehouse/gatehouse/internal/stick"
)

// chunk is how much one copy may move before the byte counters are
// updated, so the stats see long tunnels progress.
const chunk = 1 << 20

// relay copies both directions until each has ended. A direction that ends
// with EOF half-closes its destination (CloseWrite), so the other keeps
// flowing; an error in either aborts both.
func (s *session) relay(srv *net.TCPConn) {
	be := s.be
	w := s.watch(srv)
	defer w.stop()
	var wg sync.WaitGroup
	var upErr error
	var upN int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		upN, upErr = pump(srv, s.cli, s.fe.Counters, s.lst.Counters, be.Counters, &s.srv.Counters, &s.stick.Tracker, true, s.fe.Splice.Request || be.Splice.Request)
		if upErr == nil {
			_ = srv.CloseWrite()
			w.halfClosed(1, be.Timeouts.ServerFin)
		} else {
			s.abort(srv)
		}
	}()
	verdict, downN, downErr := resAccept, int64(0), error(nil)
	if len(be.ResRules) > 0 {
		// tcp-response content rules hold the response until they decide.
		verdict, downN, downErr = s.respond(srv)
	}
	if verdict == resAccept {
		if downErr == nil {
			var n int64
			n, downErr = pump(s.cli, srv, s.fe.Counters, s.lst.Counters, be.Counters, &s.srv.Counters, &s.stick.Tracker, false, s.fe.Splice.Response || be.Splice.Response)
			downN += n
		}
		if downErr == nil {
			closeWrite(s.cli)
			w.halfClosed(0, s.fe.Timeouts.ClientFin)
		} else {
			s.abort(srv)
		}
	}
	wg.Wait()
	s.bytesIn += upN
	s.bytesOut += downN
	if verdict != resAccept {
		s.term = resTerm(verdict)
		return
	}
	s.term = s.dataTerm(w, srv, upErr, downErr)
}

// abort closes both sides at once: the other direction's copy returns.
func (s *session) abort(srv *net.TCPConn) {
	s.abortMu.Lock()
	defer s.abortMu.Unlock()
	s.aborted = true
	_ = s.cli.SetDeadline(time.Unix(1, 0))
	_ = srv.SetDeadline(time.Unix(1, 0))
}

func (s *session) isAborted() bool {
	s.abortMu.Lock()
	defer s.abortMu.Unlock()
	return s.aborted
}

// clearReadDeadline lifts the response inspection's deadline on srv,
// unless abort has set its own meanwhile.
func (s *session) clearReadDeadline(srv *net.TCPConn) {
	s.abortMu.Lock()
	defer s.abortMu.Unlock()
	if !s.aborted {
		_ = srv.SetReadDeadline(time.Time{})
	}
}

func closeWrite(c net.Conn) {
	switch cw := c.(type) {
	case *net.TCPConn:
		_ = cw.CloseWrite()
	case interface{ CloseWrite() error }:
		_ = cw.CloseWrite()
	}
}

// pump copies src to dst in chunks, counting bytes as they pass: client to
// server is bytes in for the frontend, backend and server; server to
// client is bytes out. Between two TCP connections the bytes are copied
// with raw recv/send (sock.Copy), or go through a pipe with splice(2) and
// never reach user space when the direction is spliced (sock.Splice).
// The tracked stick-table entries count them too (bytes_in_*, bytes_out_*),
// as HAProxy's stream_process_counters does while data flows; the rules
// that track are over by then, so both directions read stk at once.
func pump(dst, src net.Conn, fe, lc, be *counters.Proxy, srv *counters.Server, stk *stick.Tracker, up, splice bool) (int64, error) {
	var total int64
	tdst, dstTCP := dst.(*net.TCPConn)
	tsrc, srcTCP := src.(*net.TCPConn)
	tcp := dstTCP && srcTCP
	var pipe *sock.Pipe
	if tcp && splice {
		if p, err := sock.GetPipe(); err == nil {
			pipe = p
			defer sock.PutPipe(p)
		}
	}
	var lr *io.LimitedReader
	var buf []byte
	for {
		var n int64
		var err error
		var eof bool
		switch {
		case pipe != nil:
			n, eof, err = sock.Splice(tdst, tsrc, chunk, pipe)
		case tcp:
			n, eof, err = sock.Copy(tdst, tsrc, chunk)
		default:
			if buf == nil {
				buf = make([]byte, 32<<10)
				lr = &io.LimitedReader{R: src}
			}
			lr.N = chunk
			n, err = io.CopyBuffer(onlyWriter{dst}, lr, buf)
			eof = lr.N > 0
		}
		total += n
		if n > 0 {
			u := uint64(n)
			if up {
				fe.BytesIn.Add(u)
				be.BytesIn.Add(u)
				srv.BytesIn.Add(u)
				stk.AddBytes(u, 0)
			} else {
				fe.BytesOut.Add(u)
				be.BytesOut.Add(u)
				srv.BytesOut.Add(u)
				stk.AddBytes(0, u)
			}
			if lc != nil { // option socket-stats
				if up {
					lc.BytesIn.Add(u)
				} else {
					lc.BytesOut.Add(u)
				}
			}
		}
		if err != nil {
			return total, err
		}
		if eof {
			return total, nil
		}
	}
}

// onlyWriter hides ReadFrom so CopyBuffer uses the buffer.
type onlyWriter struct{ io.Writer }

// dataTerm is the termination state of the data phase: the watchdog's
// timeout, else the side whose socket failed, else normal.
func (s *session) dataTerm(w *watchdog, srv *net.TCPConn, upErr, downErr error) logging.TermState {
	if c := w.expired(); c != 0 {
		return logging.Term(c, 'D')
	}
	if upErr == nil && downErr == nil {
		return logging.TermNormal
	}
	first := upErr
	if first == nil || isDeadline(first) {
		first = downErr
	}
	side := byte('C')
	switch {
	case w.dead(srv) && !w.dead(s.cli):
		side = 'S'
	case w.dead(s.cli):
		side = 'C'
	case first == downErr && !isDeadline(downErr):
		side = 'S'
	}
	if side == 'S' {
		s.be.Counters.SrvAbort.Add(1)
		s.srv.Counters.SrvAbort.Add(1)
	} else {
		s.fe.Counters.CliAbort.Add(1)
		s.be.Counters.CliAbort.Add(1)
		s.srv.Counters.CliAbort.Add(1)
	}
	return logging.Term(side, 'D')
}

func isDeadline(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

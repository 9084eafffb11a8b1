package proxy

import (
	"sync"
	"time"
)

// A request with "Expect: 100-continue" is forwarded as HAProxy forwards
// it: the Expect field goes to the server, and the body goes on as it
// arrives from the client, never held back for the server's 100 (a
// client may send it at once, or after waiting a while, and a server may
// never send a 100). The server's answers are read at the same time, so
// its 100 reaches a client that waits for it, and a final answer that
// comes before the body is complete is not stuck behind it.

// expectRace is what the two directions of an Expect exchange share.
type expectRace struct {
	mu       sync.Mutex
	bodyDone bool // the body copy is over (sent, or failed)
	early    bool // the server's side ended first and cut the copy short
}

// exchangeExpect sends the head, then copies the body while a goroutine
// reads the server's answers: interim ones (the 100) are relayed to the
// client, and the final head ends the exchange. One that comes before the
// body is complete, or a failure of the server, cuts the copy short: the
// rest of the body is not sent, and neither connection carries another
// request.
func (t *Txn) exchangeExpect(uc *upConn, reused bool) failure {
	if err := uc.bw.Flush(); err != nil {
		return staleOr(reused, failEmpty)
	}
	var race expectRace
	cin, sout := t.sess.in.c, uc.out.c
	// The reader goroutine uses its own clock readings (the shared stamp
	// is the main goroutine's) and no read deadline until the body is
	// sent: an upload may outlast timeout server.
	uc.in.clk, t.sess.out.clk = nil, nil
	uc.in.absolute(0)
	uc.in.arm(0)
	done := make(chan failure, 1)
	go func() {
		f := t.readResponseHead(uc, reused)
		race.mu.Lock()
		if !race.bodyDone {
			// Unblock the copy wherever it waits: on the client, or on
			// a server that no longer reads.
			race.early = true
			_ = cin.SetReadDeadline(time.Unix(1, 0))
			_ = sout.SetWriteDeadline(time.Unix(1, 0))
		}
		race.mu.Unlock()
		done <- f
	}()

	f := t.sendBody(uc, reused)
	if f == failNone {
		if err := uc.bw.Flush(); err != nil {
			f = staleOr(reused, failEmpty)
		}
	}
	sent := f == failNone
	race.mu.Lock()
	race.bodyDone = true
	early := race.early
	race.mu.Unlock()
	if early {
		f = <-done
	} else {
		if f != failNone {
			// The copy failed on its own: stop waiting for the answer.
			_ = uc.in.c.SetReadDeadline(time.Unix(1, 0))
		} else if to := t.serverTimeout(); to > 0 {
			_ = uc.in.c.SetReadDeadline(time.Now().Add(to))
		}
		if g := <-done; f == failNone {
			f = g
		}
	}
	// Back to one goroutine: the stamp, and deadlines re-armed at the
	// next read or write.
	uc.in.clk, t.sess.out.clk = &t.clk, &t.clk
	uc.in.inactivity(t.serverTimeout())
	uc.in.until = -1
	t.clk.spend()
	if early {
		// The deadlines moved to cut the copy short are cleared; the
		// next read or write arms its own.
		_ = cin.SetReadDeadline(time.Time{})
		_ = sout.SetWriteDeadline(time.Time{})
		t.sess.in.until, uc.out.until = -1, 0
		if !sent {
			// The server answered (or failed) before the whole body was
			// sent: the rest is unread, and neither connection can carry
			// another request. A fast server that answered a complete
			// body just as the copy ended leaves both usable.
			t.bodyUnsent = true
			t.closeAfter = true
		}
	}
	return f
}

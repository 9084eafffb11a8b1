package proxy

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/counters"
)

// HAProxy keeps the last invalid request of each frontend and the last
// invalid response of each backend for "show errors"; these record them.

// captureRequestError records the request head the codec refused.
func (s *session) captureRequestError(reason string) {
	fe := s.fe
	fe.Counters.Errors.Record(false, counters.ErrorSnapshot{
		When: time.Now(), Event: fe.Proc.Captured.Add(1) - 1, Src: s.src,
		OtherID: -1, ServerID: -1,
		Input: s.br.Rejected(), Reason: reason, BufSize: fe.Limits.BufSize,
	})
}

// captureResponseError records the response head the codec refused.
func (t *Txn) captureResponseError(uc *upConn, reason string) {
	fe := t.sess.fe
	snap := counters.ErrorSnapshot{
		When: time.Now(), Event: fe.Proc.Captured.Add(1) - 1, Src: t.sess.src,
		Other: fe.Name, OtherID: fe.ID, ServerID: -1,
		Input: uc.br.Rejected(), Reason: reason, BufSize: uc.br.Limits().BufSize,
	}
	if t.srv != nil {
		snap.Server, snap.ServerID = t.srv.Name, t.srv.ID
	}
	t.be.Counters.Errors.Record(true, snap)
}

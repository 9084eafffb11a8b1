package h2

import (
	"golang.org/x/net/http2"
)

// readFrame reads the next frame. HEADERS and CONTINUATION frames are read
// into the connection's blockFrame; the others by the Framer, which also
// checks every frame's size and order (CONTINUATIONs follow their HEADERS).
func (c *Conn) readFrame() (http2.Frame, error) {
	c.hd.recycle() // the previous frame was processed
	fh, err := c.fr.ReadFrameHeader()
	if err != nil {
		return nil, err
	}
	if fh.Type != http2.FrameHeaders && fh.Type != http2.FrameContinuation {
		return c.fr.ReadFrameForHeader(fh)
	}
	f := c.hd.frame()
	if err := f.read(c.tap, fh); err != nil {
		return nil, err
	}
	return f, nil
}

// processFrame applies one frame read from the peer. It returns a
// streamError or connError for protocol violations, nil otherwise.
func (c *Conn) processFrame(f http2.Frame) error {
	switch f := f.(type) {
	case *blockFrame:
		if f.Type == http2.FrameHeaders {
			c.hd.begin()
		} else if !c.hd.cur.open { // after a HEADERS frame that could not be parsed
			return connError{http2.ErrCodeProtocol, "unexpected CONTINUATION"}
		}
		return c.headerFragment(f.frag, f.Flags.Has(http2.FlagHeadersEndHeaders))
	case *http2.DataFrame:
		c.ctr.DataRcvd.Add(1)
		return c.processData(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		c.ctr.SettingsRcvd.Add(1)
		return c.processSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			if f.Data == drainPing {
				c.endDrain() // the client has read Shutdown's first GOAWAY
			}
			return nil
		}
		data := f.Data
		if !c.enqueue(false, func() error { return c.wfr.WritePing(true, data) }) {
			return connError{http2.ErrCodeEnhanceYourCalm, "control frame flood"}
		}
		return nil
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.RSTStreamFrame:
		c.ctr.RstStreamRcvd.Add(1)
		return c.processReset(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return streamError{f.StreamID, http2.ErrCodeProtocol, "stream depends on itself"}
		}
		return nil
	case *http2.GoAwayFrame:
		// The client will open no more streams; in-flight ones finish and
		// the client closes the connection.
		c.ctr.GoawayRcvd.Add(1)
		return nil
	case *http2.PushPromiseFrame:
		return connError{http2.ErrCodeProtocol, "PUSH_PROMISE from client"}
	}
	return nil // unknown frame types are ignored (RFC 9113 §5.5)
}

func (c *Conn) processSettings(f *http2.SettingsFrame) error {
	var initWindow int64
	setWindow := false
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			// A decrease applies at once; an increase right after our ACK is
			// written, so no DATA it allows precedes the ACK on the wire.
			c.mu.Lock()
			delta := int64(s.Val) - c.peerInitWindow
			for _, st := range c.streams {
				if st.outflow+delta > maxWindow {
					c.mu.Unlock()
					return connError{http2.ErrCodeFlowControl, "window overflow by SETTINGS"}
				}
			}
			c.mu.Unlock()
			if delta < 0 {
				c.applyInitWindow(int64(s.Val))
			}
			initWindow, setWindow = int64(s.Val), true
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame.Store(s.Val)
			// SETTINGS_HEADER_TABLE_SIZE needs nothing: our encoder
			// indexes nothing, so any table the peer allows fits.
		}
		return nil
	})
	if err != nil {
		if ce, ok := err.(http2.ConnectionError); ok {
			return connError{http2.ErrCode(ce), "bad SETTINGS value"}
		}
		return err
	}
	ok := c.enqueue(false, func() error {
		if err := c.wfr.WriteSettingsAck(); err != nil || !setWindow {
			return err
		}
		c.applyInitWindow(initWindow)
		return nil
	})
	if !ok {
		return connError{http2.ErrCodeEnhanceYourCalm, "control frame flood"}
	}
	return nil
}

func (c *Conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		c.outflow += inc
		if c.outflow > maxWindow {
			return connError{http2.ErrCodeFlowControl, "connection window overflow"}
		}
		c.cond.Broadcast()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.maxStreamID {
			return connError{http2.ErrCodeProtocol, "WINDOW_UPDATE on idle stream"}
		}
		return nil // closed: allowed for a while (RFC 9113 §5.1)
	}
	st.outflow += inc
	if st.outflow > maxWindow {
		return streamError{f.StreamID, http2.ErrCodeFlowControl, "stream window overflow"}
	}
	c.cond.Broadcast()
	return nil
}

func (c *Conn) processReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.maxStreamID {
			return connError{http2.ErrCodeProtocol, "RST_STREAM on idle stream"}
		}
		return nil
	}
	unfinished := !st.localDone
	c.closeStreamLocked(st, ResetError{Code: f.ErrCode, Remote: true})
	// Rapid reset (CVE-2023-44487): cancelling streams before their response
	// is done costs us handler work; a budget of 2×MaxConcurrentStreams per
	// second is far above what a browser cancelling navigations needs.
	if unfinished && !c.resets.take() {
		return connError{http2.ErrCodeEnhanceYourCalm, "too many stream resets"}
	}
	return nil
}

func (c *Conn) processData(f *http2.DataFrame) error {
	id := f.StreamID
	n := int64(f.Length) // flow control counts padding too
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.inflow {
		return connError{http2.ErrCodeFlowControl, "connection window exceeded"}
	}
	c.inflow -= n
	st := c.streams[id]
	if st == nil || st.remoteDone {
		c.creditConnLocked(n) // nobody will read it
		switch {
		case st == nil && id > c.maxStreamID:
			return connError{http2.ErrCodeProtocol, "DATA on idle stream"}
		case st == nil && c.wasReset(id):
			return nil // in flight when we reset it
		}
		return streamError{id, http2.ErrCodeStreamClosed, "DATA on closed stream"}
	}
	if n > st.inflow {
		c.creditConnLocked(n)
		return streamError{id, http2.ErrCodeFlowControl, "stream window exceeded"}
	}
	st.inflow -= n
	data := f.Data()
	if pad := n - int64(len(data)); pad > 0 {
		c.creditConnLocked(pad)
		st.creditLocked(pad)
	}
	if len(data) > 0 {
		st.received += int64(len(data))
		if st.declLen >= 0 && st.received > st.declLen {
			c.creditConnLocked(int64(len(data)))
			return streamError{id, http2.ErrCodeProtocol, "body longer than content-length"}
		}
		st.appendLocked(data)
	} else if !f.StreamEnded() && !c.glitches.take() {
		return connError{http2.ErrCodeEnhanceYourCalm, "empty DATA frame flood"}
	}
	if f.StreamEnded() {
		if st.declLen >= 0 && st.received != st.declLen {
			return streamError{id, http2.ErrCodeProtocol, "body shorter than content-length"}
		}
		c.remoteEndLocked(st)
	}
	return nil
}

// headerFragment decodes a fragment of the header block in progress and,
// at its end, applies the block.
func (c *Conn) headerFragment(frag []byte, ended bool) error {
	if err := c.hd.write(frag); err != nil {
		return err
	}
	if !ended {
		return nil
	}
	bad, err := c.hd.end()
	if err != nil {
		return err
	}
	b := c.hd.cur
	if bad {
		// Malformed, as the Framer reported it: the stream (opened by
		// it, if new) is reset.
		return c.frameStreamError(http2.StreamError{StreamID: b.id, Code: http2.ErrCodeProtocol})
	}
	c.ctr.HeadersRcvd.Add(1)
	return c.processHeaders(b)
}

func (c *Conn) processHeaders(b *headerBlock) error {
	id := b.id
	if id%2 == 0 {
		return connError{http2.ErrCodeProtocol, "even stream id from client"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[id]; st != nil {
		if st.remoteDone {
			return streamError{id, http2.ErrCodeStreamClosed, "HEADERS on half-closed stream"}
		}
		return c.processTrailersLocked(st, b)
	}
	if id <= c.maxStreamID {
		if c.wasReset(id) {
			return nil // trailers in flight when we reset the stream
		}
		return connError{http2.ErrCodeProtocol, "stream id reused or lower than a previous one"}
	}
	c.maxStreamID = id
	if b.selfDep {
		return streamError{id, http2.ErrCodeProtocol, "stream depends on itself"}
	}
	if c.goingAway {
		c.resetLocked(id, http2.ErrCodeRefusedStream, false)
		return nil
	}
	if b.truncated {
		c.refuseLocked(id, 431, b.endStream)
		if !c.glitches.take() {
			return connError{http2.ErrCodeEnhanceYourCalm, "too many oversized header blocks"}
		}
		return nil
	}
	if len(b.fields)+1 > 2*c.cfg.MaxHdr {
		// HAProxy's HPACK decoder fails on a full list: a connection error.
		return connError{http2.ErrCodeCompression, "too many header fields"}
	}
	if uint32(len(c.streams)) >= c.cfg.MaxConcurrentStreams {
		c.resetLocked(id, http2.ErrCodeRefusedStream, false)
		if !c.glitches.take() {
			return connError{http2.ErrCodeEnhanceYourCalm, "too many refused streams"}
		}
		return nil
	}
	st := c.newStream(id)
	if err := buildRequest(st, b.fields, b.endStream); err != nil {
		freeStream(st)
		return streamError{id, http2.ErrCodeProtocol, err.Error()}
	}
	st.declLen = st.req.ContentLength
	st.hdrBytes = c.tap.blockBytes
	c.streams[id] = st
	c.ctr.OpenStreams.Add(1)
	c.ctr.TotalStreams.Add(1)
	if b.endStream {
		c.remoteEndLocked(st)
	}
	return c.startLocked(st)
}

func (c *Conn) processTrailersLocked(st *Stream, b *headerBlock) error {
	if !b.endStream {
		return streamError{st.id, http2.ErrCodeProtocol, "trailers without END_STREAM"}
	}
	if b.truncated {
		return streamError{st.id, http2.ErrCodeProtocol, "trailers too large"}
	}
	tr, err := buildTrailers(b.fields)
	if err != nil {
		return streamError{st.id, http2.ErrCodeProtocol, err.Error()}
	}
	if st.declLen >= 0 && st.received != st.declLen {
		return streamError{st.id, http2.ErrCodeProtocol, "body shorter than content-length"}
	}
	st.trailers = tr
	c.remoteEndLocked(st)
	return nil
}

// refuseLocked answers a request whose header list exceeded
// MaxHeaderListSize (431); the handler never runs. The
// whole block was decoded, so HPACK state stays in sync and the
// connection lives on.
func (c *Conn) refuseLocked(id uint32, status int, ended bool) {
	c.ctr.StrmProtoErr.Add(1)
	c.enqueue(true, func() error {
		_, err := c.writeHeaders(id, status, nil, true)
		return err
	})
	if !ended { // stop the request body; late frames are ignored
		c.resetLocked(id, http2.ErrCodeNo, false)
	}
}

// startLocked runs the handler, or queues the stream when MaxConcurrentStreams
// handlers are still running (streams reset by the peer close at once in the
// protocol, but their handlers may lag). More queued than that is abuse.
func (c *Conn) startLocked(st *Stream) error {
	if uint32(c.running) < c.cfg.MaxConcurrentStreams {
		c.running++
		c.wg.Add(1)
		goHandler(st)
		return nil
	}
	if uint32(len(c.pending)) >= c.cfg.MaxConcurrentStreams {
		return connError{http2.ErrCodeEnhanceYourCalm, "too many streams waiting for a handler"}
	}
	c.pending = append(c.pending, st)
	return nil
}

// applyInitWindow adjusts every open stream's send window by the change of
// SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.9.2); windows may go negative.
func (c *Conn) applyInitWindow(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delta := v - c.peerInitWindow
	c.peerInitWindow = v
	for _, st := range c.streams {
		st.outflow += delta
		if st.outflow > maxWindow { // a WINDOW_UPDATE raced the check
			c.resetLocked(st.id, http2.ErrCodeFlowControl, true)
		}
	}
	c.cond.Broadcast()
}

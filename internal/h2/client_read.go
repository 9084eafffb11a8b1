package h2

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2"
)

// clientConnError ends a client connection with GOAWAY(code).
type clientConnError struct {
	code   http2.ErrCode
	reason string
}

func (e clientConnError) Error() string {
	return fmt.Sprintf("h2: server connection error %v: %s", e.code, e.reason)
}

// readLoop reads the server's frames until the connection ends.
func (c *ClientConn) readLoop() {
	err := c.readFrames()
	var ce clientConnError
	if errors.As(err, &ce) {
		c.mu.Lock()
		if !c.closed {
			c.queueLocked(ctrlFrame{kind: ctrlGoAway, val: uint32(ce.code)})
		}
		c.mu.Unlock()
		c.sendCtrl()
	}
	c.shut(err)
}

func (c *ClientConn) readFrames() error {
	first := true
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			var ce http2.ConnectionError
			switch {
			case errors.As(err, &se) && !first:
				c.mu.Lock()
				if st := c.streams[se.StreamID]; st != nil {
					c.resetLocked(st, se.Code, fmt.Errorf("%w: %v", ErrMalformed, se))
				}
				c.mu.Unlock()
				c.sendCtrl()
				continue
			case errors.As(err, &ce):
				return clientConnError{http2.ErrCode(ce), "framer: " + errDetail(c.fr, err)}
			case errors.Is(err, http2.ErrFrameTooLarge):
				return clientConnError{http2.ErrCodeFrameSize, "frame too large"}
			}
			return err
		}
		if first {
			// The server's preface is a SETTINGS frame (RFC 9113 §3.4).
			if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
				return clientConnError{http2.ErrCodeProtocol, "first frame is not SETTINGS"}
			}
			first = false
		}
		if err := c.clientFrame(f); err != nil {
			return err
		}
		c.mu.Lock()
		pending := len(c.ctrl) > 0
		c.mu.Unlock()
		if pending {
			c.sendCtrl()
		}
	}
}

func (c *ClientConn) clientFrame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.HeadersFrame:
		if f.StreamID%2 == 0 {
			return clientConnError{http2.ErrCodeProtocol, "HEADERS on a server-initiated stream"}
		}
		c.blk = clientBlock{id: f.StreamID, endStream: f.StreamEnded()}
		c.scratch = c.scratch[:0]
		c.dec.SetEmitEnabled(true)
		return c.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		// The Framer checked that it continues the block in progress.
		c.blk.conts++
		if c.blk.conts > maxContinuations {
			return clientConnError{http2.ErrCodeEnhanceYourCalm, "too many CONTINUATION frames"}
		}
		return c.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame:
		return c.clientData(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		return c.clientSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.mu.Lock()
			c.queueLocked(ctrlFrame{kind: ctrlPingAck, data: f.Data})
			c.mu.Unlock()
		}
		return nil
	case *http2.WindowUpdateFrame:
		return c.clientWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.clientReset(f)
	case *http2.GoAwayFrame:
		c.clientGoAway(f)
		return nil
	case *http2.PushPromiseFrame:
		// SETTINGS_ENABLE_PUSH is 0 in our preface.
		return clientConnError{http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled"}
	}
	return nil // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5)
}

// headerFragment feeds a fragment of the block to the HPACK decoder; the
// fields land in c.scratch through emit.
func (c *ClientConn) headerFragment(frag []byte, end bool) error {
	c.blk.wire += len(frag)
	if c.blk.wire > int(c.cfg.MaxHeaderListSize)+16384 {
		// Decoding it all would keep the HPACK state in step, but a block
		// this large on the wire is an attack, not a response.
		return clientConnError{http2.ErrCodeEnhanceYourCalm, "header block too large"}
	}
	if _, err := c.dec.Write(frag); err != nil {
		return clientConnError{http2.ErrCodeCompression, "HPACK: " + err.Error()}
	}
	if !end {
		return nil
	}
	if err := c.dec.Close(); err != nil {
		return clientConnError{http2.ErrCodeCompression, "HPACK: " + err.Error()}
	}
	return c.endBlock()
}

// endBlock hands a decoded block to its stream.
func (c *ClientConn) endBlock() error {
	id := c.blk.id
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[id]
	if st == nil {
		if id >= c.nextID {
			return clientConnError{http2.ErrCodeProtocol, "HEADERS on an idle stream"}
		}
		return nil // a stream we reset or that ended: decoded for HPACK's sake only
	}
	if st.remoteDone {
		c.resetLocked(st, http2.ErrCodeStreamClosed, fmt.Errorf("%w: HEADERS after the end of the stream", ErrMalformed))
		return nil
	}
	if c.blk.over {
		c.resetLocked(st, http2.ErrCodeProtocol, fmt.Errorf("%w: header list larger than %d bytes", ErrMalformed, c.cfg.MaxHeaderListSize))
		return nil
	}
	if err := st.headBlockLocked(c.scratch, c.blk.endStream); err != nil {
		c.resetLocked(st, http2.ErrCodeProtocol, fmt.Errorf("%w: %s", ErrMalformed, err))
	}
	return nil
}

func (c *ClientConn) clientData(f *http2.DataFrame) error {
	id := f.StreamID
	n := int64(f.Length) // flow control counts padding too
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.inflow {
		return clientConnError{http2.ErrCodeFlowControl, "connection window exceeded"}
	}
	c.inflow -= n
	st := c.streams[id]
	if st == nil || st.remoteDone {
		c.creditConnLocked(n) // nobody will read it
		switch {
		case st == nil && id >= c.nextID:
			return clientConnError{http2.ErrCodeProtocol, "DATA on an idle stream"}
		case st != nil:
			c.resetLocked(st, http2.ErrCodeStreamClosed, fmt.Errorf("%w: DATA after the end of the stream", ErrMalformed))
		}
		return nil
	}
	if !st.final {
		c.creditConnLocked(n)
		c.resetLocked(st, http2.ErrCodeProtocol, fmt.Errorf("%w: DATA before the response head", ErrMalformed))
		return nil
	}
	if n > st.inflow {
		c.creditConnLocked(n)
		c.resetLocked(st, http2.ErrCodeFlowControl, fmt.Errorf("%w: stream window exceeded", ErrMalformed))
		return nil
	}
	st.inflow -= n
	data := f.Data()
	if pad := n - int64(len(data)); pad > 0 {
		c.creditConnLocked(pad)
		st.creditLocked(pad)
	}
	if len(data) > 0 {
		st.received += int64(len(data))
		switch {
		case st.noBody:
			c.creditConnLocked(int64(len(data)))
			c.resetLocked(st, http2.ErrCodeProtocol, fmt.Errorf("%w: DATA in a response without body", ErrMalformed))
			return nil
		case st.declLen >= 0 && st.received > st.declLen:
			c.creditConnLocked(int64(len(data)))
			c.resetLocked(st, http2.ErrCodeProtocol, fmt.Errorf("%w: body longer than content-length", ErrMalformed))
			return nil
		}
		st.buf = append(st.buf, data...)
	}
	if f.StreamEnded() {
		if st.declLen >= 0 && !st.noBody && st.received != st.declLen {
			c.resetLocked(st, http2.ErrCodeProtocol, fmt.Errorf("%w: body shorter than content-length", ErrMalformed))
			return nil
		}
		c.remoteEndLocked(st)
	}
	st.signal()
	return nil
}

func (c *ClientConn) clientSettings(f *http2.SettingsFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seenSettings {
		// A server that states no limit has none (RFC 9113 §6.5.2); x/net's
		// client then takes 1000, and so do we.
		c.seenSettings = true
		if _, ok := f.Value(http2.SettingMaxConcurrentStreams); !ok {
			c.maxStreams = 1000
		}
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			c.maxStreams = s.Val
		case http2.SettingInitialWindowSize:
			// Applies to every open stream's send window at once (RFC 9113
			// §6.9.2); windows may go negative.
			delta := int64(s.Val) - c.peerInit
			c.peerInit = int64(s.Val)
			for _, st := range c.streams {
				st.outflow += delta
				if st.outflow > maxWindow {
					return clientConnError{http2.ErrCodeFlowControl, "window overflow by SETTINGS"}
				}
				st.signalSend()
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
			// SETTINGS_HEADER_TABLE_SIZE needs nothing: the request
			// encoder indexes nothing, so any table the server allows fits.
		}
		return nil
	})
	if err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			return clientConnError{http2.ErrCode(ce), "bad SETTINGS value"}
		}
		return err
	}
	c.queueLocked(ctrlFrame{kind: ctrlSettingsAck})
	return nil
}

func (c *ClientConn) clientWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		c.outflow += inc
		if c.outflow > maxWindow {
			return clientConnError{http2.ErrCodeFlowControl, "connection window overflow"}
		}
		for _, st := range c.streams {
			if st.wantConn {
				st.signalSend()
			}
		}
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID >= c.nextID {
			return clientConnError{http2.ErrCodeProtocol, "WINDOW_UPDATE on an idle stream"}
		}
		return nil
	}
	st.outflow += inc
	if st.outflow > maxWindow {
		c.resetLocked(st, http2.ErrCodeFlowControl, fmt.Errorf("%w: stream window overflow", ErrMalformed))
		return nil
	}
	st.signalSend()
	return nil
}

func (c *ClientConn) clientReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID >= c.nextID {
			return clientConnError{http2.ErrCodeProtocol, "RST_STREAM on an idle stream"}
		}
		return nil
	}
	var err error = ResetError{Code: f.ErrCode, Remote: true}
	if f.ErrCode == http2.ErrCodeRefusedStream && !st.final {
		err = ErrRefused
	}
	c.closeStreamLocked(st, err)
	return nil
}

// clientGoAway: streams above the last one the server will process were
// not processed and may be retried; the others go on, and no new ones
// start.
func (c *ClientConn) clientGoAway(f *http2.GoAwayFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.goAway = true
	for id, st := range c.streams {
		if id > f.LastStreamID {
			c.closeStreamLocked(st, ErrRefused)
		}
	}
	if c.drainedLocked() {
		go c.Close()
	}
}

// remoteEndLocked records the server's END_STREAM.
func (c *ClientConn) remoteEndLocked(st *ClientStream) {
	st.remoteDone = true
	if st.localDone {
		c.closeStreamLocked(st, nil)
	}
	st.signal()
}

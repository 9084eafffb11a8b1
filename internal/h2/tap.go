package h2

import (
	"encoding/binary"
	"io"

	"golang.org/x/net/http2"
)

// frameTap sits between the socket reader and the frame reader and follows
// frame boundaries in the byte stream: this is where a header block's wire
// size is measured (Stream.HeaderBytes) and where a CONTINUATION flood is
// cut off before its frames are read: the header list size bounds decoded
// bytes (headerBlock) but not empty CONTINUATION frames.
type frameTap struct {
	r          io.Reader
	hdr        [9]byte
	hn         int    // header bytes collected
	left       uint32 // payload bytes left in the current frame
	blockBytes int    // wire bytes of the current header block
	conts      int
	maxBlock   int
	err        error
}

func (t *frameTap) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		if t.hn < 9 {
			k := copy(t.hdr[t.hn:], b)
			t.hn += k
			b = b[k:]
			if t.hn == 9 {
				t.frameStart()
			}
			continue
		}
		k := min(uint32(len(b)), t.left)
		t.left -= k
		b = b[k:]
		if t.left == 0 {
			t.hn = 0
		}
	}
	if t.err != nil {
		return 0, t.err // drop the bytes: the connection ends here
	}
	return n, err
}

func (t *frameTap) frameStart() {
	length := uint32(t.hdr[0])<<16 | uint32(binary.BigEndian.Uint16(t.hdr[1:3]))
	t.left = length
	switch http2.FrameType(t.hdr[3]) {
	case http2.FrameHeaders:
		t.blockBytes, t.conts = 9+int(length), 0
	case http2.FrameContinuation:
		t.blockBytes += 9 + int(length)
		t.conts++
		if t.conts > maxContinuations || t.blockBytes > t.maxBlock {
			t.err = errTooManyConts
		}
	}
	if length == 0 {
		t.hn = 0
	}
}

// Package peers speaks HAProxy's peers protocol (version 2.1, HAProxy
// 2.6's) over internal/stick tables: a process connects to every remote
// peer of a "peers" section and accepts their connections, pushes the
// entries its own traffic changes, applies what they push, and asks one
// of them for everything it knows when it starts. It knows nothing of
// HTTP. The wire format is HAProxy's doc/peers-v2.0.txt as 2.6 extends
// it (timed updates, heartbeats, data type parameters).
package peers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Message classes and types (the first two bytes of every message).
const (
	classControl    = 0
	classError      = 1
	classStickTable = 10
	classReserved   = 255

	ctrlResyncReq      = 0
	ctrlResyncFinished = 1
	ctrlResyncPartial  = 2
	ctrlResyncConfirm  = 3
	ctrlHeartbeat      = 4

	errProtocol  = 0
	errSizeLimit = 1

	// Stick-table messages have bit 7 set: a length and data follow.
	stktUpdate         = 0x80
	stktIncUpdate      = 0x81
	stktDefine         = 0x82
	stktSwitch         = 0x83
	stktAck            = 0x84
	stktUpdateTimed    = 0x85
	stktIncUpdateTimed = 0x86
)

// Handshake status codes.
const (
	statusSuccess    = 200
	statusTryAgain   = 300
	statusErrProto   = 501
	statusErrVersion = 502
	statusErrHost    = 503
	statusErrPeer    = 504
)

const (
	protoName    = "HAProxyS"
	majorVersion = 2
	minorVersion = 1
	// maxMsgLen bounds a message's data as HAProxy's buffer does
	// (tune.bufsize); a larger one is a size-limit error.
	maxMsgLen = 16384
	// maxLine bounds a handshake line.
	maxLine = 512
)

var (
	errTruncated = errors.New("peers: truncated message")
	errVarint    = errors.New("peers: malformed integer")
)

// appendVarint encodes v as HAProxy's intencode: below 240 one byte;
// else the low 4 bits with 0xF0, then 7 bits a byte, bit 7 set on all
// but the last.
func appendVarint(b []byte, v uint64) []byte {
	if v < 240 {
		return append(b, byte(v))
	}
	b = append(b, byte(v)|240)
	v = (v - 240) >> 4
	for v >= 128 {
		b = append(b, byte(v)|128)
		v = (v - 128) >> 7
	}
	return append(b, byte(v))
}

// readVarint decodes a varint at the start of b and returns the rest.
// It fails on a truncated integer and on one longer than ten bytes
// (no uint64 needs more; HAProxy's decoder would shift past 64 bits).
func readVarint(b []byte) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errTruncated
	}
	v := uint64(b[0])
	b = b[1:]
	if v < 240 {
		return v, b, nil
	}
	shift := uint(4)
	for i := 0; ; i++ {
		if len(b) == 0 {
			return 0, nil, errTruncated
		}
		if i >= 9 {
			return 0, nil, errVarint
		}
		c := b[0]
		b = b[1:]
		v += uint64(c) << shift
		shift += 7
		if c < 128 {
			return v, b, nil
		}
	}
}

// message is one protocol message: its class, its type and, for
// stick-table messages, its data.
type message struct {
	class, typ byte
	data       []byte
}

func (m message) String() string {
	return fmt.Sprintf("class %d type %#x (%d bytes)", m.class, m.typ, len(m.data))
}

// appendMessage frames a message.
func appendMessage(b []byte, class, typ byte, data []byte) []byte {
	b = append(b, class, typ)
	if typ&0x80 == 0 {
		return b
	}
	b = appendVarint(b, uint64(len(data)))
	return append(b, data...)
}

// readMessage reads one framed message; data is a fresh slice. A length
// past maxMsgLen is errTooLarge (the peer is then told so).
func readMessage(r *bufio.Reader) (message, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return message{}, err
	}
	m := message{class: h[0], typ: h[1]}
	if m.typ&0x80 == 0 {
		return m, nil
	}
	var lb []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return m, unexpectedEOF(err)
		}
		lb = append(lb, c)
		n, _, err := readVarint(lb)
		if err == errTruncated {
			if len(lb) >= 5 { // HAProxy reads at most 5 length bytes
				return m, errVarint
			}
			continue
		}
		if err != nil {
			return m, err
		}
		if n > maxMsgLen {
			return m, errTooLarge
		}
		m.data = make([]byte, n)
		if _, err := io.ReadFull(r, m.data); err != nil {
			return m, unexpectedEOF(err)
		}
		return m, nil
	}
}

var errTooLarge = errors.New("peers: message over the size limit")

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

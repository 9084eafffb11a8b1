package h2

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// blockOutcome is what reading one header block came to.
type blockOutcome struct {
	Kind      string // ok, stream (error), conn (error), other
	Code      http2.ErrCode
	Truncated bool
	SelfDep   bool // priority on itself (a stream error processHeaders gives)
	Fields    []hpack.HeaderField
}

func (o blockOutcome) String() string {
	return fmt.Sprintf("%s %v truncated=%v selfdep=%v %d fields %q", o.Kind, o.Code, o.Truncated, o.SelfDep, len(o.Fields), o.Fields)
}

func framerOutcome(err error) blockOutcome {
	var ce http2.ConnectionError
	var se http2.StreamError
	switch {
	case errors.As(err, &se):
		return blockOutcome{Kind: "stream", Code: se.Code}
	case errors.As(err, &ce):
		return blockOutcome{Kind: "conn", Code: http2.ErrCode(ce)}
	}
	return blockOutcome{Kind: "other"}
}

// blockFrames writes blk as a HEADERS frame and CONTINUATIONs, cut at
// the given offsets. The HEADERS frame's payload is taken as it is, with
// flags' PADDED and PRIORITY bits: its first bytes are then read as the
// pad length and the priority.
func blockFrames(w *bytes.Buffer, id uint32, flags http2.Flags, blk []byte, cuts ...int) {
	fr := http2.NewFramer(w, nil)
	fr.AllowIllegalWrites = true
	var frags [][]byte
	for _, c := range cuts {
		c = min(c, len(blk))
		frags = append(frags, blk[:c])
		blk = blk[c:]
	}
	frags = append(frags, blk)
	for i, f := range frags {
		last := i == len(frags)-1
		if i == 0 {
			fl := flags&(http2.FlagHeadersPadded|http2.FlagHeadersPriority) | http2.FlagHeadersEndStream
			if last {
				fl |= http2.FlagHeadersEndHeaders
			}
			_ = fr.WriteRawFrame(http2.FrameHeaders, fl, id, f)
		} else {
			_ = fr.WriteContinuation(id, last, f)
		}
	}
}

// metaReader reads header blocks as x/net's meta-header path does (what
// the server used before headerBlock).
type metaReader struct{ fr *http2.Framer }

func newMetaReader(r *bytes.Buffer, maxList uint32) *metaReader {
	fr := http2.NewFramer(nil, r)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = maxList
	return &metaReader{fr}
}

func (m *metaReader) next() blockOutcome {
	f, err := m.fr.ReadFrame()
	if err != nil {
		return framerOutcome(err)
	}
	mh, ok := f.(*http2.MetaHeadersFrame)
	if !ok { // a CONTINUATION after a HEADERS frame in error: processFrame refuses it
		return blockOutcome{Kind: "conn", Code: http2.ErrCodeProtocol}
	}
	return blockOutcome{Kind: "ok", Truncated: mh.Truncated, SelfDep: mh.HasPriority() && mh.Priority.StreamDep == mh.StreamID,
		Fields: append([]hpack.HeaderField(nil), mh.Fields...)}
}

// blockReader reads them with a headerDecoder, as readFrame and
// processFrame do.
type blockReader struct {
	r  *bytes.Buffer
	fr *http2.Framer
	hd headerDecoder
}

func newBlockReader(r *bytes.Buffer, maxList uint32) *blockReader {
	b := &blockReader{r: r, fr: http2.NewFramer(nil, r)}
	b.hd.init(4096, maxList)
	return b
}

func ourOutcome(err error) blockOutcome {
	if ce, ok := err.(connError); ok {
		return blockOutcome{Kind: "conn", Code: ce.code}
	}
	return framerOutcome(err)
}

func (b *blockReader) next() blockOutcome {
	for {
		b.hd.recycle()
		fh, err := b.fr.ReadFrameHeader()
		if err != nil {
			return framerOutcome(err)
		}
		f := b.hd.frame()
		if err := f.read(b.r, fh); err != nil {
			return ourOutcome(err)
		}
		if fh.Type == http2.FrameHeaders {
			b.hd.begin()
		} else if !b.hd.cur.open {
			return blockOutcome{Kind: "conn", Code: http2.ErrCodeProtocol}
		}
		if err := b.hd.write(f.frag); err != nil {
			return ourOutcome(err)
		}
		if !fh.Flags.Has(http2.FlagHeadersEndHeaders) {
			continue
		}
		bad, err := b.hd.end()
		switch {
		case err != nil:
			return ourOutcome(err)
		case bad:
			return blockOutcome{Kind: "stream", Code: http2.ErrCodeProtocol}
		}
		blk := b.hd.cur
		return blockOutcome{Kind: "ok", Truncated: blk.truncated, SelfDep: blk.selfDep,
			Fields: append([]hpack.HeaderField(nil), blk.fields...)}
	}
}

// FuzzHeaderBlock: two header blocks (sharing the HPACK dynamic table),
// each cut into frames at fuzzed offsets, read by headerBlock and by
// x/net's meta-header path, come to the same: the same fields, the same
// truncation at the header list size, the same stream or connection
// error with the same code.
func FuzzHeaderBlock(f *testing.F) {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	block := func(kv ...string) []byte {
		b.Reset()
		for i := 0; i < len(kv); i += 2 {
			_ = enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), b.Bytes()...)
	}
	req := []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "example.com"}
	f.Add(block(req...), block(req...), uint16(3), uint16(0), uint16(4096), uint8(0))
	f.Add(block(append(req, "cookie", "a=1", "cookie", "b=2")...), block(append(req, "x-big", strings.Repeat("v", 300))...), uint16(1), uint16(2), uint16(200), uint8(0))
	f.Add(block(append(req, "X-Upper", "1")...), block(req...), uint16(0), uint16(0), uint16(4096), uint8(0))
	f.Add(block("x-first", "1", ":method", "GET"), block(":status", "200", ":method", "GET"), uint16(2), uint16(1), uint16(4096), uint8(0))
	f.Add(block(append(req, "trailer", "a, b, c")...), block(":method", "GET", ":method", "GET"), uint16(5), uint16(9), uint16(60), uint8(0))
	f.Add(block(append(req, "x-bad", "a\x00b")...), []byte{0x3f, 0xe1, 0x1f}, uint16(0), uint16(0), uint16(4096), uint8(0)) // size update past the limit
	f.Add([]byte{0x82, 0x20}, []byte{0x82, 0x10, 0x81, 0xff}, uint16(1), uint16(0), uint16(4096), uint8(0))                 // size update mid-block; bad Huffman
	f.Add(block(req...)[:5], block(req...), uint16(0), uint16(0), uint16(4096), uint8(0))                                   // truncated representation
	padded := append([]byte{3}, append(block(req...), 0, 0, 0)...)
	f.Add(padded, block(req...), uint16(0), uint16(0), uint16(4096), uint8(http2.FlagHeadersPadded))
	f.Add([]byte{200, 0x82}, block(req...), uint16(0), uint16(0), uint16(4096), uint8(http2.FlagHeadersPadded)) // pad past the payload
	prio := append([]byte{0, 0, 0, 0, 1, 16}, block(req...)...)                                                 // no padding, depends on itself (stream 1)
	f.Add(prio, block(req...), uint16(0), uint16(0), uint16(4096), uint8(http2.FlagHeadersPriority|http2.FlagHeadersPadded))
	f.Add([]byte{0, 0}, block(req...), uint16(0), uint16(0), uint16(4096), uint8(http2.FlagHeadersPriority)) // too short
	f.Fuzz(func(t *testing.T, blk1, blk2 []byte, cut1, cut2, maxList uint16, flags uint8) {
		list := uint32(maxList) + 32
		var wire bytes.Buffer
		blockFrames(&wire, 1, http2.Flags(flags), blk1, int(cut1)%(len(blk1)+1))
		blockFrames(&wire, 3, 0, blk2, int(cut2)%(len(blk2)+1), int(cut1)%(len(blk2)+1)+int(cut2)%(len(blk2)+1))
		raw := wire.Bytes()
		ref := newMetaReader(bytes.NewBuffer(append([]byte(nil), raw...)), list)
		got := newBlockReader(bytes.NewBuffer(append([]byte(nil), raw...)), list)
		for i := 1; i <= 2; i++ {
			want, have := ref.next(), got.next()
			if !reflect.DeepEqual(want, have) {
				t.Fatalf("block %d: x/net %v, headerBlock %v", i, want, have)
			}
			if want.Kind == "conn" || want.Kind == "other" {
				return // the connection ends here
			}
		}
	})
}

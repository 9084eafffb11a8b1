package httpcomp

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/bits"
)

// fastDeflate is a one-pass deflate encoder (RFC 1951) for the fastest
// level, the choice HAProxy makes with libslz: greedy matches found
// through a one-entry hash of 4 bytes within each Write's data, written
// with the fixed Huffman codes, so there are no tokens to buffer and no
// code tables to build per block. It compresses less than a dynamic-code
// encoder (a 64 KiB HTML page to ~19 KB where klauspost's level 1 makes
// ~13.5 KB, the same as HAProxy's libslz output) at about twice the speed.
// Output is raw deflate, zlib (RFC 1950) or gzip (RFC 1952).
type fastDeflate struct {
	w    io.Writer
	algo Algo // RawDeflate, Deflate (zlib) or Gzip

	buf     []byte // output not yet handed to w
	acc     uint64 // bits not yet in buf, first bit lowest
	nacc    uint
	inBlock bool // a fixed-code block is open
	started bool // the container header is written
	closed  bool

	crc   uint32 // gzip: CRC-32 of the input
	a, b  uint32 // zlib: Adler-32 of the input
	isize uint32

	// table maps a 4-byte hash to the last position it was seen at, as
	// base + index: positions below base belong to an earlier Write.
	table [1 << fastHashBits]int32
	base  int32
}

const (
	fastHashBits = 14
	maxMatch     = 258
	minMatch     = 4 // what the hash sees; deflate allows 3
	windowSize   = 32768
)

func newFastDeflate(w io.Writer, a Algo) *fastDeflate {
	e := &fastDeflate{algo: a}
	e.Reset(w)
	return e
}

// Reset starts a new stream to w.
func (e *fastDeflate) Reset(w io.Writer) {
	e.w = w
	e.buf = e.buf[:0]
	e.acc, e.nacc = 0, 0
	e.inBlock, e.started, e.closed = false, false, false
	e.crc, e.a, e.b, e.isize = 0, 1, 0, 0
	e.nextBase(0) // the last Write already moved base past its data
}

// nextBase moves base past every position indexed so far (n bytes from
// the current base), so no Write can meet an earlier Write's, or an
// earlier stream's, data; the table is cleared only before the offsets
// could overflow.
func (e *fastDeflate) nextBase(n int) {
	if e.base == 0 || int64(e.base)+int64(n) >= 1<<30 {
		clear(e.table[:])
		e.base = 1
		return
	}
	e.base += int32(n)
}

func (e *fastDeflate) Write(p []byte) (int, error) {
	if e.closed {
		return 0, io.ErrClosedPipe
	}
	if len(p) == 0 {
		return 0, nil
	}
	e.header()
	e.checksum(p)
	if !e.inBlock {
		e.putBits(2, 3) // BFINAL 0, BTYPE 01: fixed codes
		e.inBlock = true
	}
	e.encode(p)
	e.nextBase(len(p))
	return len(p), e.emit()
}

// Flush ends the open block and writes an empty stored block (a sync
// flush, as zlib's Z_SYNC_FLUSH), so everything written so far can be
// decoded from what was emitted.
func (e *fastDeflate) Flush() error {
	if e.closed {
		return nil
	}
	e.header()
	e.endBlock()
	e.putBits(0, 3) // BFINAL 0, BTYPE 00: stored
	e.alignByte()
	e.buf = append(e.buf, 0, 0, 0xff, 0xff)
	return e.emit()
}

// Close ends the stream: an empty final block and the container's
// trailer.
func (e *fastDeflate) Close() error {
	if e.closed {
		return nil
	}
	e.header()
	e.endBlock()
	e.putBits(3, 3) // BFINAL 1, BTYPE 01
	e.putBits(0, 7) // end of block
	e.alignByte()
	switch e.algo {
	case Gzip:
		e.buf = binary.LittleEndian.AppendUint32(e.buf, e.crc)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, e.isize)
	case Deflate:
		e.buf = binary.BigEndian.AppendUint32(e.buf, e.b<<16|e.a)
	}
	e.closed = true
	return e.emit()
}

func (e *fastDeflate) header() {
	if e.started {
		return
	}
	e.started = true
	switch e.algo {
	case Gzip:
		// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=4 (fastest) OS=255 (unknown)
		e.buf = append(e.buf, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255)
	case Deflate:
		e.buf = append(e.buf, 0x78, 0x01) // 32 KiB window, fastest, no dictionary
	}
}

func (e *fastDeflate) checksum(p []byte) {
	e.isize += uint32(len(p))
	switch e.algo {
	case Gzip:
		e.crc = crc32.Update(e.crc, crc32.IEEETable, p)
	case Deflate:
		e.a, e.b = adler32Update(e.a, e.b, p)
	}
}

// adler32Update is RFC 1950's checksum, reduced modulo 65521 once per
// 5552 bytes (the most that cannot overflow 32 bits).
func adler32Update(a, b uint32, p []byte) (uint32, uint32) {
	const mod = 65521
	for len(p) > 0 {
		n := min(len(p), 5552)
		for _, c := range p[:n] {
			a += uint32(c)
			b += a
		}
		a %= mod
		b %= mod
		p = p[n:]
	}
	return a, b
}

func (e *fastDeflate) endBlock() {
	if e.inBlock {
		e.putBits(0, 7) // end of block: code 256 is seven zero bits
		e.inBlock = false
	}
}

// emit hands the complete bytes to w.
func (e *fastDeflate) emit() error {
	for e.nacc >= 8 {
		e.buf = append(e.buf, byte(e.acc))
		e.acc >>= 8
		e.nacc -= 8
	}
	if len(e.buf) == 0 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

// putBits appends the n low bits of v (n <= 32).
func (e *fastDeflate) putBits(v uint64, n uint) {
	e.acc |= v << e.nacc
	e.nacc += n
	if e.nacc >= 32 {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(e.acc))
		e.acc >>= 32
		e.nacc -= 32
	}
}

func (e *fastDeflate) alignByte() {
	if r := e.nacc % 8; r != 0 {
		e.nacc += 8 - r
	}
	for e.nacc >= 8 {
		e.buf = append(e.buf, byte(e.acc))
		e.acc >>= 8
		e.nacc -= 8
	}
}

// encode writes p as literals and matches inside the open block. The bit
// accumulator lives in locals here: through e's fields every code would
// be a load and a store.
func (e *fastDeflate) encode(p []byte) {
	acc, nacc := e.acc, e.nacc
	buf := e.buf
	if free := cap(buf) - len(buf); free < len(p)*9/8+64 {
		buf = append(make([]byte, 0, len(buf)+len(p)*9/8+64), buf...)
	}
	// put appends the n low bits of v (n <= 31; nacc < 32 before).
	put := func(v uint64, n uint) {
		acc |= v << nacc
		nacc += n
		if nacc >= 32 {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(acc))
			acc >>= 32
			nacc -= 32
		}
	}
	base, table := e.base, &e.table
	n := len(p)
	i, lit := 0, 0 // lit: first byte not yet written
	misses := 0
	for i+minMatch <= n {
		v := binary.LittleEndian.Uint32(p[i:])
		h := (v * 0x1e35a7bd) >> (32 - fastHashBits)
		cand := int(table[h] - base)
		table[h] = base + int32(i)
		if cand < 0 || i-cand > windowSize || binary.LittleEndian.Uint32(p[cand:]) != v {
			// Incompressible data is skipped through faster and faster
			// (its bytes still go out as literals).
			misses++
			i += 1 + misses>>5
			continue
		}
		misses = 0
		l := minMatch + matchLength(p[cand+minMatch:], p[i+minMatch:min(n, i+maxMatch)])
		for ; lit < i; lit++ {
			c := p[lit]
			put(uint64(fixedLit[c]), uint(fixedLitLen[c]))
		}
		put(uint64(lengthCode[l]), uint(lengthCodeLen[l]))
		put(distanceCode(i - cand))
		i += l
		lit = i
		if i-1 < n-minMatch {
			// Index the match's last position so the data right after
			// it can refer back into it.
			table[(binary.LittleEndian.Uint32(p[i-1:])*0x1e35a7bd)>>(32-fastHashBits)] = base + int32(i-1)
		}
	}
	for ; lit < n; lit++ {
		c := p[lit]
		put(uint64(fixedLit[c]), uint(fixedLitLen[c]))
	}
	e.acc, e.nacc, e.buf = acc, nacc, buf
}

// matchLength counts the bytes a and b share from the start (b is the
// shorter or equal).
func matchLength(a, b []byte) int {
	m := 0
	for len(b)-m >= 8 {
		x := binary.LittleEndian.Uint64(a[m:]) ^ binary.LittleEndian.Uint64(b[m:])
		if x != 0 {
			return m + bits.TrailingZeros64(x)>>3
		}
		m += 8
	}
	for m < len(b) && a[m] == b[m] {
		m++
	}
	return m
}

// distanceCode is a match distance's (1..32768) 5-bit fixed code, most
// significant bit first, followed by its extra bits, and the bit count.
func distanceCode(d int) (uint64, uint) {
	d--
	var code, extra uint
	if d < 4 {
		code = uint(d)
	} else {
		extra = uint(bits.Len(uint(d))) - 2
		code = extra<<1 | uint(d>>extra)&1 + 2
	}
	return uint64(bits.Reverse8(uint8(code))>>3) | uint64(d&(1<<extra-1))<<5, 5 + extra
}

// The fixed literal/length codes (RFC 1951 3.2.6), bit-reversed for an
// LSB-first stream; a length's entry includes its extra bits.
var (
	fixedLit      [256]uint16
	fixedLitLen   [256]uint8
	lengthCode    [maxMatch + 1]uint32
	lengthCodeLen [maxMatch + 1]uint8
)

func init() {
	for c := range 256 {
		code, n := fixedCode(c)
		fixedLit[c], fixedLitLen[c] = uint16(code), uint8(n)
	}
	lengthBase := [...]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra := [...]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	for sym := range lengthBase {
		code, n := fixedCode(257 + sym)
		hi := maxMatch
		if sym+1 < len(lengthBase) {
			hi = lengthBase[sym+1] - 1
		}
		for l := lengthBase[sym]; l <= hi; l++ {
			lengthCode[l] = code | uint32(l-lengthBase[sym])<<n
			lengthCodeLen[l] = uint8(n + lengthExtra[sym])
		}
	}
}

// fixedCode is symbol s's fixed Huffman code, bit-reversed, and its length.
func fixedCode(s int) (uint32, uint) {
	var code, n uint
	switch {
	case s < 144:
		code, n = 0x30+uint(s), 8
	case s < 256:
		code, n = 0x190+uint(s-144), 9
	case s < 280:
		code, n = uint(s-256), 7
	default:
		code, n = 0xc0+uint(s-280), 8
	}
	return uint32(bits.Reverse16(uint16(code)) >> (16 - n)), n
}

package httpcomp

import "io"

// emitAt is how much compressed output may wait for a flush point before
// it goes out anyway.
const emitAt = 16 << 10

// Stream compresses the body read from src through buf and hands the
// output to write, never holding more than a buffer or two of it: what was
// read is flushed through the deflater and out (write, then flush) whenever
// the next read would wait (always when wouldBlock is nil), so a stream's
// events are not held back, and the compressed stream is ended after the
// last byte. in counts body bytes read, out compressed bytes written;
// rerr is src's failure, werr the destination's.
func (e *Encoder) Stream(src io.Reader, buf []byte, write func([]byte) error, flush func() error, wouldBlock func() bool) (in, out int64, rerr, werr error) {
	emit := func() error {
		p := e.Pending()
		if len(p) == 0 {
			return nil
		}
		out += int64(len(p))
		err := write(p)
		e.Consumed()
		return err
	}
	for {
		m, err := src.Read(buf)
		if m > 0 {
			in += int64(m)
			if werr = e.Write(buf[:m]); werr != nil {
				return in, out, nil, werr
			}
			if len(e.Pending()) >= emitAt {
				if werr = emit(); werr != nil {
					return in, out, nil, werr
				}
			}
		}
		if err == io.EOF {
			if werr = e.Close(); werr == nil {
				werr = emit()
			}
			return in, out, nil, werr
		}
		if err != nil {
			return in, out, err, nil
		}
		if m > 0 && (wouldBlock == nil || wouldBlock()) {
			if werr = e.Flush(); werr == nil {
				werr = emit()
			}
			if werr == nil && flush != nil {
				werr = flush()
			}
			if werr != nil {
				return in, out, nil, werr
			}
		}
	}
}

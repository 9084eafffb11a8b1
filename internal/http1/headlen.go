package http1

// HeadLen returns the size in bytes of the last head read (with its
// trailers once a chunked body has been read), for byte accounting.
func (r *Reader) HeadLen() int { return len(r.arena) }

// Rejected returns the input a failed ReadRequest or ReadResponse refused,
// for error captures ("show errors"): the head when it was read whole and
// failed to parse, else the bytes buffered so far. It aliases the
// Reader's memory until the next read.
func (r *Reader) Rejected() []byte {
	if r.whole {
		return r.arena
	}
	if r.buf == nil {
		return nil
	}
	return r.buf[r.r:r.w]
}

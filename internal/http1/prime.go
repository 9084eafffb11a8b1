package http1

// Prime hands the Reader bytes the caller read while the Reader held no
// buffer: an idle keep-alive connection waits for its next request with a
// small array of its own and only takes a pooled buffer once bytes arrive,
// so thousands of idle connections do not pin thousands of buffers.
// p must fit in the buffer (the caller's array is much smaller).
func (r *Reader) Prime(p []byte) {
	if r.buf == nil {
		r.acquire()
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	r.w += copy(r.buf[r.w:], p)
}

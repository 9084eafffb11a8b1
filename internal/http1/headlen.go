package http1

// HeadLen returns the size in bytes of the last head read (with its
// trailers once a chunked body has been read), for byte accounting.
func (r *Reader) HeadLen() int { return len(r.arena) }

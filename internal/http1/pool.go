package http1

import "sync"

// BufferPool hands out fixed-size buffers. Pointers to slices are pooled so
// that Get/Put do not allocate.
type BufferPool struct {
	size int
	p    sync.Pool
}

// NewBufferPool returns a pool of size-byte buffers.
func NewBufferPool(size int) *BufferPool {
	bp := &BufferPool{size: size}
	bp.p.New = func() any { b := make([]byte, size); return &b }
	return bp
}

// Size is the length of the pool's buffers.
func (bp *BufferPool) Size() int { return bp.size }

// Get returns a buffer of len Size().
func (bp *BufferPool) Get() *[]byte {
	b := bp.p.Get().(*[]byte)
	*b = (*b)[:bp.size]
	return b
}

// Put returns b; buffers of another capacity are dropped.
func (bp *BufferPool) Put(b *[]byte) {
	if b == nil || cap(*b) != bp.size {
		return
	}
	bp.p.Put(b)
}

// pools caches one BufferPool per buffer size: tune.bufsize is process-wide,
// so only a size or two ever exist. It is a cache, not semantic state.
var pools sync.Map // int -> *BufferPool

func poolFor(size int) *BufferPool {
	if p, ok := pools.Load(size); ok {
		return p.(*BufferPool)
	}
	p, _ := pools.LoadOrStore(size, NewBufferPool(size))
	return p.(*BufferPool)
}

package proxy

import "sync"

var logBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getLogBuf() *[]byte  { return logBufPool.Get().(*[]byte) }
func putLogBuf(b *[]byte) { logBufPool.Put(b) }

package runtimeapi

import (
	"bufio"
	"io"
)

// CacheTarget is implemented by a Target that runs HTTP caches.
type CacheTarget interface {
	// ShowCache writes "show cache": each cache and its entries.
	ShowCache(w io.Writer)
}

func cmdShowCache(ss *session, w *bufio.Writer, _ []string) {
	if ct, ok := ss.target.(CacheTarget); ok {
		ct.ShowCache(w)
	}
}

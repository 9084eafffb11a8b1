package main

import (
	"os"
	"runtime/debug"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Memory policy for large stick tables. Go's collector lets the heap grow
// to twice what was live after the last collection (GOGC=100); a process
// whose heap is mostly long-lived table entries then holds about twice
// their size. Where the configured tables could hold a heap that large
// (bigTables bytes at ~200 bytes an entry), collecting at +50% instead
// keeps a million-entry table near HAProxy's footprint (bench/stickmem.sh:
// 2.7x HAProxy's memory at GOGC=100, 1.8x at 50) for more frequent
// collections of a mostly static heap. An operator's GOGC wins.
const (
	bigTables        = 64 << 20
	bytesPerEntry    = 200
	tableGCPercent   = 50
	defaultGCPercent = 100
)

// applyGCPolicy sets the collector's target for cfg's tables; it is
// called for each configuration adopted (start and reload).
func applyGCPolicy(cfg *config.Config) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(gcPercentFor(cfg))
}

func gcPercentFor(cfg *config.Config) int {
	var entries int64
	for _, p := range cfg.Proxies {
		if p.StickTable != nil {
			entries += int64(p.StickTable.Size)
		}
	}
	if entries*bytesPerEntry >= bigTables {
		return tableGCPercent
	}
	return defaultGCPercent
}

package cfgparse

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Diagnostics is every error found while loading a configuration. HAProxy
// reports all the problems of a file before giving up, and so does this
// package: a Diagnostics is returned rather than the first error alone.
type Diagnostics []config.Diag

// Error joins the diagnostics, one "parsing [FILE:LINE] : ..." per line.
func (d Diagnostics) Error() string {
	lines := make([]string, len(d))
	for i, x := range d {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

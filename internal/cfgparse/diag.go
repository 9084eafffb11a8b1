package cfgparse

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Diagnostics is what a failed load found: every error (HAProxy reports
// all the problems of a file before giving up, and so does this package),
// then the warnings emitted along the way, marked Warning, since they often
// explain an error.
type Diagnostics []config.Diag

// Error joins the diagnostics one per line, "parsing [FILE:LINE] : ...";
// warnings are prefixed with "[WARNING] ".
func (d Diagnostics) Error() string {
	lines := make([]string, len(d))
	for i, x := range d {
		lines[i] = x.Error()
		if x.Warning {
			lines[i] = "[" + x.Severity() + "] " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// Errors returns the diagnostics that are errors.
func (d Diagnostics) Errors() []config.Diag {
	var out []config.Diag
	for _, x := range d {
		if !x.Warning {
			out = append(out, x)
		}
	}
	return out
}

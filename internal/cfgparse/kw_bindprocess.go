package cfgparse

import (
	"fmt"
	"strconv"
	"strings"
)

// parseStatsBindProcess is HAProxy 2.6's "stats bind-process": a relic of
// nbproc that 2.6 still parses with one process as the maximum, so "1",
// "all", "odd", "even" and "1-" select the only process, which is where
// Gatehouse's runtime API runs too; any other process number is HAProxy's
// error. HAProxy 2.6 prints nothing for it, and neither does Gatehouse.
func parseStatsBindProcess(p *parser, args []token) error {
	for _, a := range args[2:] {
		if a.Text == "all" {
			break
		}
		if err := checkProcessNumber(a.Text, 1); err != nil {
			return fmt.Errorf("'stats bind-process' : %v", err)
		}
	}
	return nil
}

// checkProcessNumber is HAProxy's parse_process_number without the set:
// all, odd, even, N or N-[M], every number between 1 and max.
func checkProcessNumber(arg string, max int) error {
	switch arg {
	case "all", "odd", "even":
		return nil
	}
	lo, hi, dash := arg, "", false
	if i := strings.IndexByte(arg, '-'); i >= 0 {
		lo, hi, dash = arg[:i], arg[i+1:], true
	}
	valid := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	if !valid(lo) || !valid(hi) {
		return fmt.Errorf("'%s' is not a valid number/range.", arg)
	}
	low, _ := strconv.Atoi(lo) // "" is 0, as HAProxy's str2uic reads it
	high := low
	if dash {
		high = max
		if hi != "" {
			high, _ = strconv.Atoi(hi)
		}
	}
	if high < low {
		low, high = high, low
	}
	if low < 1 || low > max || high > max {
		return fmt.Errorf("'%s' is not a valid number/range. It supports numbers from 1 to %d.", arg, max)
	}
	return nil
}

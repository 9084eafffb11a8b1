package cfgparse

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// durationUnits are HAProxy's time units; a bare number is milliseconds.
func durationUnit(suffix string) time.Duration {
	switch suffix {
	case "us":
		return time.Microsecond
	case "ms":
		return time.Millisecond
	case "s":
		return time.Second
	case "m":
		return time.Minute
	case "h":
		return time.Hour
	case "d":
		return 24 * time.Hour
	}
	return 0
}

// parseDuration parses a HAProxy time value: digits followed by an optional
// unit among us, ms, s, m, h, d (milliseconds when omitted).
func parseDuration(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid time value '%s' (expected a number followed by an optional unit among us, ms, s, m, h, d)", s)
	}
	n, err := strconv.ParseUint(s[:i], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("time value '%s' is out of range", s)
	}
	unit := time.Millisecond
	if suffix := s[i:]; suffix != "" {
		if unit = durationUnit(suffix); unit == 0 {
			return 0, fmt.Errorf("unexpected unit '%s' in time value '%s' (expected one of us, ms, s, m, h, d)", suffix, s)
		}
	}
	// HAProxy stores times as 32-bit milliseconds: refuse what overflows.
	if n > uint64(math.MaxInt32)*uint64(time.Millisecond)/uint64(unit) {
		return 0, fmt.Errorf("time value '%s' is too large (the limit is 2147483647ms, about 24.8 days)", s)
	}
	return time.Duration(n) * unit, nil
}

// parseSize parses a byte size with an optional k, m or g suffix (powers of
// 1024, case-insensitive), as HAProxy's parse_size_err does.
func parseSize(s string) (int, error) {
	num, mult := s, int64(1)
	if s != "" {
		switch strings.ToLower(s[len(s)-1:]) {
		case "k":
			num, mult = s[:len(s)-1], 1<<10
		case "m":
			num, mult = s[:len(s)-1], 1<<20
		case "g":
			num, mult = s[:len(s)-1], 1<<30
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size '%s' (expected a positive number with an optional k, m or g suffix)", s)
	}
	if n > math.MaxInt32/mult {
		return 0, fmt.Errorf("size '%s' is too large", s)
	}
	return int(n * mult), nil
}

// parseInt parses a decimal integer within [lo, hi]; what names the value
// in the message.
func parseInt(what, s string, lo, hi int) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s expects an integer argument, got '%s'", what, s)
	}
	if n < int64(lo) || n > int64(hi) {
		return 0, fmt.Errorf("%s: value %d out of range [%d..%d]", what, n, lo, hi)
	}
	return int(n), nil
}

// parsePort parses a TCP port number (1..65535).
func parsePort(what, s string) (int, error) {
	return parseInt(what, s, 1, 65535)
}

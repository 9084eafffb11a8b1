package proxy

import "strings"

func equalFoldASCII(a, b string) bool { return strings.EqualFold(a, b) }

// splitComma splits a header value on commas, trimming optional whitespace.
func splitComma(v string) []string {
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

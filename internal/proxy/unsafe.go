package proxy

import "unsafe"

// unsafeString views b as a string without copying. Callers guarantee b is
// not modified while the string is in use: the per-transaction arena is only
// appended to, and reset once the transaction (and its log line) is done.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

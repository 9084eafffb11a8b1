package hashfn

import (
	"strings"
	"testing"
)

// Known answers: the xxHash reference's test vectors, RFC 3720's CRC32C
// check value and zlib's CRC-32 of "123456789".
func TestKnownAnswers(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  uint64
		want uint64
	}{
		{"xxh32 empty", uint64(XXH32("", 0)), 0x02CC5D05},
		{"xxh32 abc", uint64(XXH32("abc", 0)), 0x32D153FF},
		{"xxh64 empty", XXH64("", 0), 0xEF46DB3751D8E999},
		{"xxh64 abc", XXH64("abc", 0), 0x44BC2CF5AD770999},
		{"xxh64 39 bytes", XXH64("Nobody inspects the spammish repetition", 0), 0xFBCEA83C8A378BF1},
		{"crc32", uint64(CRC32("123456789")), 0xCBF43926},
		{"crc32c", uint64(CRC32C("123456789")), 0xE3069283},
		{"sdbm ab", uint64(SDBM("ab")), 97*65599 + 98},
		{"djb2 a", uint64(DJB2("a")), 5381*33 + 97},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	// Long inputs take the striped paths; the seed changes every result.
	long := strings.Repeat("Gatehouse", 10)
	if XXH32(long, 0) == XXH32(long, 1) || XXH64(long, 0) == XXH64(long, 1) {
		t.Error("the seed does not change the hash")
	}
}

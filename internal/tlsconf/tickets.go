package tlsconf

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"
)

// ticketKeysKept is HAProxy's TLS_TICKETS_NO: the last three keys of the
// file are used, the penultimate one to encrypt.
const ticketKeysKept = 3

// LoadTicketKeys reads a "tls-ticket-keys" file as HAProxy does: one base64
// key a line, all 48 bytes (AES-128) or all 80 (AES-256), at least three;
// the last three decrypt and the penultimate encrypts, so appending a key
// and reloading rotates them. Go's tickets take 32-byte keys: each is the
// SHA-256 of the file's key, so replicas sharing the file share the keys
// (HAProxy's own tickets are not interchangeable with Go's). The
// encrypting key comes first, as SetSessionTicketKeys wants it.
func LoadTicketKeys(path string) ([][32]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("'%s' : unable to load ssl tickets keys file", path)
	}
	var ring [ticketKeysKept][32]byte
	size, n := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("'%s' : unable to decode base64 key on line %d", path, n+1)
		}
		if (len(key) != 48 && len(key) != 80) || (size != 0 && len(key) != size) {
			return nil, fmt.Errorf("'%s' : wrong sized key on line %d", path, n+1)
		}
		size = len(key)
		ring[n%ticketKeysKept] = sha256.Sum256(key)
		n++
	}
	if n < ticketKeysKept {
		return nil, fmt.Errorf("'%s' : please supply at least %d keys in the tls-tickets-file", path, ticketKeysKept)
	}
	enc := (n - 2) % ticketKeysKept
	keys := [][32]byte{ring[enc]}
	for i := range ring {
		if i != enc {
			keys = append(keys, ring[i])
		}
	}
	return keys, nil
}

// ticketStamp marks the creation time Gatehouse adds to a ticket's state.
var ticketStamp = []byte("gh-created:")

// limitSessionLifetime makes c refuse sessions older than d
// (tune.ssl.lifetime): tickets carry their creation time and are checked
// when a client resumes.
func limitSessionLifetime(c *tls.Config, d time.Duration) {
	now := func() time.Time {
		if c.Time != nil {
			return c.Time()
		}
		return time.Now()
	}
	c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, binary.BigEndian.AppendUint64(append([]byte(nil), ticketStamp...), uint64(now().Unix())))
		return c.EncryptTicket(cs, ss)
	}
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := c.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		for _, e := range ss.Extra {
			if rest, ok := bytes.CutPrefix(e, ticketStamp); ok && len(rest) == 8 {
				created := time.Unix(int64(binary.BigEndian.Uint64(rest)), 0)
				if now().Sub(created) <= d {
					return ss, nil
				}
				return nil, nil // expired: a full handshake
			}
		}
		return nil, nil // no stamp: not one of ours
	}
}

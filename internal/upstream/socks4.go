package upstream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// Socks4Connect asks the SOCKS4 proxy at the other end of c to connect to
// dst (CONNECT, empty user ID), as HAProxy's "socks4" server option does,
// and reads its 8-byte answer: 90 (request granted) or an error. dst must
// be IPv4, which is all SOCKS4 carries.
func Socks4Connect(c net.Conn, dst netip.AddrPort, deadline time.Time) error {
	if !dst.Addr().Is4() {
		return fmt.Errorf("socks4: %s is not an IPv4 address", dst.Addr())
	}
	if !deadline.IsZero() {
		_ = c.SetDeadline(deadline)
		defer c.SetDeadline(time.Time{})
	}
	ip := dst.Addr().As4()
	req := []byte{4, 1, byte(dst.Port() >> 8), byte(dst.Port()), ip[0], ip[1], ip[2], ip[3], 0}
	if _, err := c.Write(req); err != nil {
		return err
	}
	var resp [8]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		return fmt.Errorf("socks4: no answer from the proxy: %w", err)
	}
	if resp[0] != 0 || resp[1] != 90 {
		return errSocks4Refused{code: resp[1]}
	}
	return nil
}

type errSocks4Refused struct{ code byte }

func (e errSocks4Refused) Error() string {
	return fmt.Sprintf("socks4: the proxy refused the connection (code %d)", e.code)
}

// IsSocks4Refusal tells whether err is a SOCKS4 proxy's refusal.
func IsSocks4Refusal(err error) bool {
	var r errSocks4Refused
	return errors.As(err, &r)
}

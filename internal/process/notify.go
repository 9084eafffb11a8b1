package process

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Notifier speaks systemd's notify protocol (sd_notify) for -Ws: READY=1
// once serving, RELOADING=1 with MONOTONIC_USEC while a reload runs, then
// READY=1 again, and STOPPING=1. Without NOTIFY_SOCKET it does nothing,
// as sd_notify does.
type Notifier struct {
	addr *net.UnixAddr
}

// NewNotifier reads NOTIFY_SOCKET and unsets it, so nothing the process
// starts inherits it (sd_notify's unset_environment).
func NewNotifier() *Notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	os.Unsetenv("NOTIFY_SOCKET")
	if path == "" {
		return &Notifier{}
	}
	// "@name" is an abstract socket; Go's net maps a leading '@' to it.
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

// Send sends one state message; it is a no-op without a socket.
func (n *Notifier) Send(state string) error {
	if n == nil || n.addr == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %v", err)
	}
	return nil
}

// Reloading is "RELOADING=1" with the monotonic time systemd requires
// (Type=notify-reload checks it).
func (n *Notifier) Reloading() error {
	if n == nil || n.addr == nil {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sd_notify: clock_gettime: %v", err)
	}
	usec := ts.Sec*1_000_000 + ts.Nsec/1000
	return n.Send(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", usec))
}

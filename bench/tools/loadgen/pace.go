package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacer sleeps until an instant with the kernel's high-resolution timers.
// time.Sleep cannot: Go's netpoller waits in whole milliseconds, so a
// sub-millisecond sleep ends 0-1 ms late, and that lateness would count as
// latency (the schedule's instants are 200 µs apart at 5,000 req/s). A
// timerfd wakes the netpoller when it fires, within microseconds.
type pacer struct {
	fd  int // kept apart: (*os.File).Fd would make the descriptor blocking
	f   *os.File
	buf [8]byte
}

func newPacer() (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// A non-blocking descriptor: os.NewFile puts it in the netpoller, so a
	// Read parks the goroutine, not the thread.
	return &pacer{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

// until returns at t, or at once if t has passed.
func (p *pacer) until(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	if _, err := p.f.Read(p.buf[:]); err != nil {
		return fmt.Errorf("timerfd read: %w", err)
	}
	return nil
}

func (p *pacer) close() { p.f.Close() }

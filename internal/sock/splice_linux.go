package sock

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// Splice moves bytes from one TCP connection to another through a kernel
// pipe, as (*net.TCPConn).ReadFrom does, but with splice(2) issued as a raw
// system call on the non-blocking descriptors.
//
// Go's own splice goes through syscall.Syscall, so the runtime treats each
// call as one that may block: with GOMAXPROCS=1 sysmon takes the P back
// from a splice that spans its 20 µs tick and starts another thread to run
// it, and the threads then trade the P through futexes. bench/run.sh
// l4_passthrough, perf stat on the proxy: 67,000 context switches, 21,000
// futex and 11,000 nanosleep calls in 4 s, where HAProxy switched 33,000
// times and made no futex call. A splice on non-blocking descriptors never
// blocks, so the runtime need not know about it; waiting stays with the
// netpoller through syscall.RawConn, deadlines included.

// DefaultPipeSize is asked for each pipe without tune.pipesize
// (F_SETPIPE_SZ; 1 MiB is the default limit for an unprivileged process).
// A full receive queue then moves in one call; the pipe's pages are only
// allocated as bytes pass through.
const DefaultPipeSize = 1 << 20

// pipeSize is the size asked for each pipe (tune.pipesize).
var pipeSize atomic.Int64

func init() { pipeSize.Store(DefaultPipeSize) }

// SetPipeSize sets the size asked for pipes ("tune.pipesize"); n <= 0:
// DefaultPipeSize. Free pipes are resized when next taken.
func SetPipeSize(n int) {
	if n <= 0 {
		n = DefaultPipeSize
	}
	pipeSize.Store(int64(n))
}

// Pipe is a kernel pipe carrying spliced bytes, and what is still in it.
type Pipe struct {
	r, w    int
	pending int   // bytes in the pipe not yet spliced out
	asked   int64 // the size asked for it (F_SETPIPE_SZ)
	size    int64 // what the kernel gave: the most one splice moves in
}

// resize asks the kernel for size bytes, best effort as HAProxy's
// get_pipe: a refused size (past fs.pipe-max-size) leaves the pipe as it
// was, which only means more calls. The kernel rounds a size up to a
// power of two pages.
func (p *Pipe) resize(size int64) {
	got, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(p.r), syscall.F_SETPIPE_SZ, uintptr(size))
	if errno != 0 {
		got, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(p.r), syscall.F_GETPIPE_SZ, 0)
		if errno != 0 {
			got = 1 << 16
		}
	}
	p.asked, p.size = size, int64(got)
}

// pipes keeps empty pipes for the next transfer; the ones the collector
// takes are closed by their cleanup (as Go's own splice pools them).
// Pipes are the process's, as HAProxy's global maxpipes counts them:
// live is every pipe open (in use or free), used those held by a
// transfer, maxPipes the limit on live (-1: none).
var (
	pipes    sync.Pool
	live     atomic.Int64
	used     atomic.Int64
	maxPipes atomic.Int64
)

func init() { maxPipes.Store(-1) }

// ErrNoPipe: maxpipes pipes are open; the caller copies instead.
var ErrNoPipe = errors.New("maxpipes reached")

// SetMaxPipes sets the limit on open pipes ("maxpipes"); n < 0 lifts it.
// Pipes open beyond a lowered limit stay until the collector closes them.
func SetMaxPipes(n int) { maxPipes.Store(int64(n)) }

// PipeCounts reports the limit (-1: none) and the pipes held by transfers
// and kept free, for "show info" (Maxpipes, PipesUsed, PipesFree).
func PipeCounts() (limit, inUse, free int64) {
	u := used.Load()
	return maxPipes.Load(), u, max(live.Load()-u, 0)
}

// GetPipe returns an empty pipe, reused when one is free; ErrNoPipe when
// maxpipes pipes are open already.
func GetPipe() (*Pipe, error) {
	size := pipeSize.Load()
	if p, ok := pipes.Get().(*Pipe); ok {
		if p.asked != size {
			p.resize(size) // tune.pipesize changed by a reload; p is empty
		}
		used.Add(1)
		return p, nil
	}
	if lim := maxPipes.Load(); lim >= 0 && live.Add(1) > lim {
		live.Add(-1)
		return nil, ErrNoPipe
	} else if lim < 0 {
		live.Add(1)
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		live.Add(-1)
		return nil, os.NewSyscallError("pipe2", err)
	}
	p := &Pipe{r: fds[0], w: fds[1]}
	p.resize(size)
	runtime.AddCleanup(p, closePipe, fds)
	used.Add(1)
	return p, nil
}

func closePipe(fds [2]int) {
	syscall.Close(fds[0])
	syscall.Close(fds[1])
	live.Add(-1)
}

// PutPipe gives p back for reuse. One that still holds bytes (an aborted
// transfer) is left to the collector, which closes it.
func PutPipe(p *Pipe) {
	used.Add(-1)
	if p.pending == 0 {
		pipes.Put(p)
	}
}

// Splice moves up to limit bytes from src to dst through p and returns how
// many reached dst. eof: src ended (read returned 0) before limit. On a nil
// error the pipe is empty again. A deadline on either connection ends the
// wait with os.ErrDeadlineExceeded, as a Read or Write would.
func Splice(dst, src *net.TCPConn, limit int64, p *Pipe) (n int64, eof bool, err error) {
	dstRC, srcRC, err := rawConns(dst, src)
	if err != nil {
		return 0, false, err
	}
	var in int64 // bytes taken from src
	var moved int
	var errno syscall.Errno
	fill := func(fd uintptr) bool {
		moved, errno = splice(int(fd), p.w, int(min(limit-in, p.size)))
		return errno != syscall.EAGAIN
	}
	drain := func(fd uintptr) bool {
		moved, errno = splice(p.r, int(fd), p.pending)
		return errno != syscall.EAGAIN
	}
	for {
		if p.pending == 0 {
			if in >= limit || eof {
				return n, eof, nil
			}
			if err := srcRC.Read(fill); err != nil {
				return n, false, err
			}
			if errno != 0 {
				return n, false, spliceError(src, errno)
			}
			if moved == 0 {
				eof = true
				continue
			}
			in += int64(moved)
			p.pending += moved
		}
		if err := dstRC.Write(drain); err != nil {
			return n, false, err
		}
		if errno != 0 {
			return n, false, spliceError(dst, errno)
		}
		if moved <= 0 {
			return n, false, spliceError(dst, syscall.EIO) // not expected: the pipe holds bytes
		}
		p.pending -= moved
		n += int64(moved)
	}
}

// splice is one splice(2) call that retries on EINTR.
func splice(from, to, max int) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SPLICE, uintptr(from), 0, uintptr(to), 0, uintptr(max),
			_SPLICE_F_MOVE|_SPLICE_F_NONBLOCK)
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

const (
	_SPLICE_F_MOVE     = 0x1
	_SPLICE_F_NONBLOCK = 0x2
)

func spliceError(c *net.TCPConn, errno syscall.Errno) error {
	return opError(c, "splice", "splice", errno)
}

package sock

import (
	"bytes"
	"io"
	"syscall"
	"testing"
	"time"
)

// pipeSz is the kernel's size of p (F_GETPIPE_SZ).
func pipeSz(t *testing.T, p *Pipe) int {
	t.Helper()
	n, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(p.r), syscall.F_GETPIPE_SZ, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	return int(n)
}

// TestPipeSize: pipes are sized as tune.pipesize asks (rounded up to a
// page by the kernel), 1 MiB without it; a free pipe taken again after a
// change is resized; a one-page pipe still carries everything.
func TestPipeSize(t *testing.T) {
	defer SetPipeSize(0)
	for _, c := range []struct{ set, want int }{
		{128 << 10, 128 << 10},
		{4, 4096}, // "tune.pipesize 4k" is 4 to HAProxy 2.6's atol
		{0, DefaultPipeSize},
		{300000, 512 << 10},
	} {
		SetPipeSize(c.set)
		p, err := GetPipe()
		if err != nil {
			t.Fatal(err)
		}
		got := pipeSz(t, p)
		PutPipe(p)
		if got != c.want {
			t.Errorf("tune.pipesize %d: F_GETPIPE_SZ %d, want %d", c.set, got, c.want)
		}
	}
	SetPipeSize(4)
	p, err := GetPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer PutPipe(p)
	srcW, src := tcpPair(t)
	dst, dstR := tcpPair(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	go func() {
		srcW.Write(data)
		srcW.CloseWrite()
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(dstR)
		got <- b
	}()
	for {
		_, eof, err := Splice(dst, src, 1<<20, p)
		if err != nil {
			t.Fatal(err)
		}
		if eof {
			break
		}
	}
	dst.CloseWrite()
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatalf("received %d bytes through a one-page pipe, want the %d sent", len(b), len(data))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver never saw the end")
	}
}

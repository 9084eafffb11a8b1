package sock

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return testenv.TCPPair(t, l)
}

// mover is Copy or Splice (with a pipe of its own) under one signature.
type mover func(dst, src *net.TCPConn, limit int64) (int64, bool, error)

func movers(t *testing.T) map[string]mover {
	return map[string]mover{
		"copy": Copy,
		"splice": func(dst, src *net.TCPConn, limit int64) (int64, bool, error) {
			p, err := GetPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer PutPipe(p)
			n, eof, err := Splice(dst, src, limit, p)
			if err == nil && p.pending != 0 {
				t.Errorf("splice returned with %d bytes left in the pipe", p.pending)
			}
			return n, eof, err
		},
	}
}

// Bytes written into one connection come out of the other intact, in
// chunks of at most the limit; the end of the source is reported as eof
// with what was still in flight delivered.
func TestMoveDeliversEverythingThenEOF(t *testing.T) {
	for name, move := range movers(t) {
		t.Run(name, func(t *testing.T) {
			srcW, src := tcpPair(t)
			dst, dstR := tcpPair(t)
			data := make([]byte, 3<<20+12345)
			for i := range data {
				data[i] = byte(rand.Uint32())
			}
			go func() {
				srcW.Write(data)
				srcW.CloseWrite()
			}()
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(dstR)
				got <- b
			}()
			const limit = 1 << 20
			var total int64
			for {
				n, eof, err := move(dst, src, limit)
				if err != nil {
					t.Fatal(err)
				}
				if n > limit {
					t.Fatalf("moved %d bytes, over the limit %d", n, limit)
				}
				total += n
				if eof {
					break
				}
			}
			dst.CloseWrite()
			if b := <-got; !bytes.Equal(b, data) || total != int64(len(data)) {
				t.Fatalf("received %d bytes (counted %d), want the %d sent, unchanged", len(b), total, len(data))
			}
		})
	}
}

// A source that sends nothing holds the move until its deadline, which
// ends it with os.ErrDeadlineExceeded as a Read would.
func TestMoveHonoursDeadline(t *testing.T) {
	for name, move := range movers(t) {
		t.Run(name, func(t *testing.T) {
			_, src := tcpPair(t)
			dst, _ := tcpPair(t)
			src.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, eof, err := move(dst, src, 1<<20)
			if n != 0 || eof || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %d %v %v, want a deadline error", n, eof, err)
			}
		})
	}
}

// A destination reset by its peer makes the move fail instead of spin.
func TestMoveFailsOnResetDestination(t *testing.T) {
	for name, move := range movers(t) {
		t.Run(name, func(t *testing.T) {
			srcW, src := tcpPair(t)
			dst, dstR := tcpPair(t)
			dstR.SetLinger(0)
			dstR.Close() // RST
			time.Sleep(20 * time.Millisecond)
			go srcW.Write(make([]byte, 256<<10))
			dst.SetWriteDeadline(time.Now().Add(2 * time.Second))
			var err error
			for i := 0; i < 10 && err == nil; i++ {
				_, _, err = move(dst, src, 64<<10)
			}
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want the reset as an error", err)
			}
		})
	}
}

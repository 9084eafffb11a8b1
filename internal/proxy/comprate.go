package proxy

import (
	"io"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// CompLimits are the process's compression limits, maxcomprate and
// maxcompcpuusage, and the input and output rates they are measured on
// ("show info" CompressBpsIn and CompressBpsOut).
type CompLimits struct {
	P *ratelimit.Process
	// Idle is the process's idle percentage (-1: not measured yet).
	Idle func() int
}

// allow reports whether a response may start being compressed now, as
// HAProxy decides once per response: not while the compression input rate
// is above maxcomprate or the CPU usage above maxcompcpuusage.
func (l *CompLimits) allow() bool {
	return l == nil || l.P.Compress(ratelimit.Millis(clock.Mono()), l.Idle)
}

// count wraps the body and the writer of a compressed response so that
// its bytes count in the process's rates as they flow, not at its end.
func (l *CompLimits) count(body io.Reader, write func([]byte) error) (io.Reader, func([]byte) error) {
	if l == nil {
		return body, write
	}
	return &compInCounter{r: body, p: l.P}, func(b []byte) error {
		l.P.Compressed(ratelimit.Millis(clock.Mono()), 0, uint64(len(b)))
		return write(b)
	}
}

type compInCounter struct {
	r io.Reader
	p *ratelimit.Process
}

func (c *compInCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.Compressed(ratelimit.Millis(clock.Mono()), uint64(n), 0)
	}
	return n, err
}

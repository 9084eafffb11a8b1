package process

import (
	"fmt"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/config"
)

// SetLimits applies ulimit-n and fd-hard-limit to RLIMIT_NOFILE. Go raised
// the soft limit to the hard one at start; ulimit-n sets it (raising the
// hard limit if it must, which needs root), fd-hard-limit lowers it when
// the system allows more. A failure is an error under strict-limits (the
// default) and a warning otherwise, as in HAProxy.
func SetLimits(p config.Process) (warning string, err error) {
	return SetLimitsFor(p, 0)
}

// SetLimitsFor is SetLimits where the configuration needs need
// descriptors (HAProxy's maxsock, from the global maxconn): without
// ulimit-n, a lower limit is raised to it as HAProxy raises
// RLIMIT_NOFILE to its maxsock (fd-hard-limit bounding it), and one that
// cannot be raised is the same strict-limits error; a smaller ulimit-n
// gives way to it.
func SetLimitsFor(p config.Process, need int) (warning string, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return "", fmt.Errorf("getrlimit(RLIMIT_NOFILE): %v", err)
	}
	want := r
	switch {
	case p.UlimitN > 0:
		// A ulimit-n below what maxconn needs is raised to it, as
		// HAProxy 2.6 does (and fails the same way when it cannot).
		want.Cur = uint64(max(p.UlimitN, need))
		want.Max = max(r.Max, want.Cur)
	case p.FDHardLimit > 0 && r.Cur > uint64(p.FDHardLimit):
		want.Cur = uint64(p.FDHardLimit)
	case need > 0 && r.Cur < uint64(need) && (p.FDHardLimit == 0 || r.Cur < uint64(p.FDHardLimit)):
		if p.FDHardLimit > 0 {
			need = min(need, p.FDHardLimit)
		}
		want.Cur = uint64(need)
		want.Max = max(r.Max, want.Cur)
	default:
		return "", nil
	}
	if want == r {
		return "", nil
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		msg := fmt.Sprintf("Cannot raise FD limit to %d, limit is %d (%v).", want.Cur, r.Cur, err)
		if p.NoStrictLimits {
			return msg, nil
		}
		return "", fmt.Errorf("%s This will fail in >= v2.3; use 'no strict-limits' to start anyway", msg)
	}
	return "", nil
}

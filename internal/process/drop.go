// Package process applies the global keywords that shape the process:
// limits, pidfile, environment, chroot and the privilege drop, and speaks
// to the service manager (sd_notify). cmd/gatehouse calls it in HAProxy's
// order: limits and pidfile before binding, the jail and the drop after
// every listener is bound and every file read.
package process

import (
	"fmt"
	"os"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Identity is what Drop did, for a reload to compare with.
type Identity struct {
	Chroot   string
	UID, GID int // 0: unchanged
}

// IdentityOf is the identity the configuration asks for.
func IdentityOf(p config.Process) Identity {
	return Identity{Chroot: p.Chroot, UID: p.UID, GID: p.GID}
}

// Drop enters the chroot jail, then sets the group (dropping supplementary
// groups) and the user, as HAProxy does after binding. Go's Setuid and
// Setgid change every thread of the process (they go through
// AllThreadsSyscall on Linux since Go 1.16), so no thread keeps root.
func Drop(p config.Process) error {
	if p.Chroot != "" {
		// chdir first, so the working directory is inside the jail.
		if err := os.Chdir(p.Chroot); err != nil {
			return fmt.Errorf("Cannot chroot(%s): %v", p.Chroot, err)
		}
		if err := syscall.Chroot("."); err != nil {
			return fmt.Errorf("Cannot chroot(%s): %v", p.Chroot, err)
		}
		if err := os.Chdir("/"); err != nil {
			return fmt.Errorf("Cannot chroot(%s): %v", p.Chroot, err)
		}
	}
	if p.GID != 0 {
		if os.Geteuid() == 0 {
			if err := syscall.Setgroups(nil); err != nil {
				return fmt.Errorf("Failed to drop supplementary groups: %v", err)
			}
		}
		if err := syscall.Setgid(p.GID); err != nil {
			return fmt.Errorf("Cannot set gid %d: %v", p.GID, err)
		}
	}
	if p.UID != 0 {
		if err := syscall.Setuid(p.UID); err != nil {
			return fmt.Errorf("Cannot set uid %d: %v", p.UID, err)
		}
	}
	if p.SetDumpable {
		if err := setDumpable(); err != nil {
			return err
		}
	}
	return nil
}

// setDumpable lifts the core size limit to its hard limit and makes the
// process dumpable again: a setuid clears the flag (suid_dumpable).
func setDumpable() error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &r); err == nil && r.Cur != r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &r) // best effort, as HAProxy
	}
	const prSetDumpable = 4
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 1, 0); errno != 0 {
		return fmt.Errorf("set-dumpable: prctl(PR_SET_DUMPABLE): %v", errno)
	}
	return nil
}

func (id Identity) String() string {
	s := fmt.Sprintf("uid %d, gid %d", id.UID, id.GID)
	if id.UID == 0 && id.GID == 0 {
		s = "the starting user"
	}
	if id.Chroot != "" {
		s += ", chrooted in " + id.Chroot
	}
	return s
}

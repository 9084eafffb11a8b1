package process

import (
	"fmt"
	"os"
	"strconv"
)

// WritePidfile writes pid and a newline to path, replacing what was there.
// It runs before the chroot and the drop, as HAProxy opens its pidfile.
func WritePidfile(path string, pid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create pidfile %s: %v", path, err)
	}
	_, err = f.WriteString(strconv.Itoa(pid) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write pidfile %s: %v", path, err)
	}
	return nil
}

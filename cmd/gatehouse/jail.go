package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/process"
)

// jail is what a reload can reach once the process dropped its privileges
// and entered its chroot: Gatehouse reloads in place, so the new
// configuration is read, its files opened and its new sockets bound by
// the dropped user inside the jail. HAProxy's master process keeps root
// for this; Gatehouse's answer for what the jail cannot reach is a new
// process started as root with -sf (see docs/operations.md).
type jail struct {
	files []string // the -f arguments, as given
	abs   []string // the same, absolute, resolved before the chroot
	root  string   // the chroot, absolute; "" when none
	id    process.Identity
	ids   *idCache
}

func newJail(files []string, p config.Process, ids *idCache) *jail {
	j := &jail{files: files, id: process.IdentityOf(p), ids: ids}
	for _, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			a = f
		}
		j.abs = append(j.abs, a)
	}
	if p.Chroot != "" {
		if r, err := filepath.Abs(p.Chroot); err == nil {
			j.root = r
		} else {
			j.root = p.Chroot
		}
	}
	return j
}

// paths are the configuration paths as the process sees them now: inside
// the jail, a file under the chroot directory is found at its path
// relative to it; any other stays where it was, out of reach, and the
// reload says so.
func (j *jail) paths() []string {
	if j.root == "" {
		return j.abs
	}
	out := make([]string, len(j.abs))
	for i, a := range j.abs {
		out[i] = a
		if rel, err := filepath.Rel(j.root, a); err == nil && !strings.HasPrefix(rel, "..") {
			out[i] = "/" + rel
		}
	}
	return out
}

// check refuses a reload whose configuration asks for another identity or
// jail: they were applied once, at start, and cannot be changed back.
func (j *jail) check(p config.Process) error {
	if got := process.IdentityOf(p); got != j.id {
		return fmt.Errorf("reload: the configuration changes 'user'/'uid', 'group'/'gid' or 'chroot' (running: %s; new: %s); privileges were dropped at start, so this needs a new process: start one with -sf <old pid>",
			j.id, got)
	}
	return nil
}

// explain adds, after a failed reload, what the dropped process could not
// reach, if it dropped anything.
func (j *jail) explain(w io.Writer) {
	if j.root == "" && j.id.UID == 0 && j.id.GID == 0 {
		return
	}
	fmt.Fprintf(w, "[ALERT] reload: this process runs with %s: it reads the configuration and its files, and binds new addresses, with those privileges; to reach more, start a new process with -sf <old pid>\n", j.id)
	for i, p := range j.paths() {
		if j.root != "" && p == j.abs[i] {
			fmt.Fprintf(w, "[ALERT] reload: the configuration file %s is outside the chroot jail %s\n", p, j.root)
		}
	}
}

// idCache remembers the user and group names resolved before the chroot,
// so a reload in the jail (which has no passwd or group database) finds
// the same IDs; a name never seen is looked up in the system's databases.
type idCache struct {
	mu            sync.Mutex
	users, groups map[string]int
}

// options are the parser options that resolve names through the cache;
// a nil cache gives the system's lookups.
func (c *idCache) options() cfgparse.Options {
	if c == nil {
		return cfgparse.Options{}
	}
	return cfgparse.Options{
		LookupUser:  func(n string) (int, error) { return c.lookup(&c.users, n, cfgparse.LookupUserID) },
		LookupGroup: func(n string) (int, error) { return c.lookup(&c.groups, n, cfgparse.LookupGroupID) },
	}
}

func (c *idCache) lookup(m *map[string]int, name string, sys func(string) (int, error)) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id, ok := (*m)[name]; ok {
		return id, nil
	}
	id, err := sys(name)
	if err != nil {
		return 0, err
	}
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[name] = id
	return id, nil
}

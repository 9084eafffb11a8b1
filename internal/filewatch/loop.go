// Package filewatch runs the loop shared by everything that re-reads files
// when they change (the configuration with -watch, certificates): file
// events on the directories that hold the files, debounced, and a periodic
// poll for what events miss (network file systems, a watch limit reached).
// Watching directories rather than files is what catches atomic renames
// (vault-agent) and Kubernetes' "..data" symlink swap. The loop only says
// when to look; deciding whether anything changed is the caller's check.
package filewatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Loop is one watcher's settings and callbacks.
type Loop struct {
	// Name prefixes the errors reported ("cfgwatch", "tlsconf").
	Name string
	// Debounce is how long a burst of events must be quiet before Check
	// runs; a burst longer than 4×Debounce is checked anyway, so a steady
	// writer cannot hold a check back forever. Must be > 0.
	Debounce time.Duration
	// Poll is the period of the fallback check; <= 0 disables it.
	Poll time.Duration
	// EventsOff leaves only the poll (tests of the fallback).
	EventsOff bool
	// Dirs lists the directories whose entries can change what Check
	// reads. It is asked again after every check: directories appear,
	// and a swap replaces the one a symlink resolves to.
	Dirs func() []string
	// Check looks at the files and acts on a change. It runs once at the
	// start, since a change may have come between the caller's read and
	// the first watch.
	Check func()
	// Report receives the loop's own errors; nil drops them.
	Report func(error)
}

// Run watches until ctx is done.
func (l *Loop) Run(ctx context.Context) {
	r := runner{Loop: l}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if !l.EventsOff {
		if fsw, err := fsnotify.NewWatcher(); err != nil {
			r.report(fmt.Errorf("%s: file events unavailable, checking every %v: %w", l.Name, l.Poll, err))
		} else {
			r.fs = fsw
			defer fsw.Close()
			events, errs = fsw.Events, fsw.Errors
		}
	}
	var tick <-chan time.Time
	if l.Poll > 0 {
		t := time.NewTicker(l.Poll)
		defer t.Stop()
		tick = t.C
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var burstStart time.Time // zero: no burst pending

	r.check()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			now := time.Now()
			if burstStart.IsZero() {
				burstStart = now
			}
			wait := min(l.Debounce, max(burstStart.Add(4*l.Debounce).Sub(now), 0))
			debounce.Reset(wait)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			r.report(fmt.Errorf("%s: file events: %w", l.Name, err))
		case <-debounce.C:
			burstStart = time.Time{}
			r.check()
		case <-tick:
			r.check()
		}
	}
}

type runner struct {
	*Loop
	fs           *fsnotify.Watcher
	lastWatchErr string // the last watch failure reported, reported once
	watched      map[string]bool
}

func (r *runner) report(err error) {
	if r.Report != nil {
		r.Report(err)
	}
}

// check watches before it looks: a change made between Check and the
// first watch of a directory would give no event, and without a poll it
// would wait for the next change. A check that brings new directories
// (a swap resolved elsewhere) looks again once they are watched.
func (r *runner) check() {
	r.addWatches()
	for range 3 {
		r.Check()
		if !r.addWatches() {
			return
		}
	}
}

// addWatches (re)adds every directory; adding is idempotent. A directory
// that does not exist yet is not an error: the poll covers it until a later
// check finds it. It reports whether a directory was watched for the
// first time.
func (r *runner) addWatches() bool {
	if r.fs == nil || r.Dirs == nil {
		return false
	}
	added := false
	for _, dir := range r.Dirs() {
		err := r.fs.Add(dir)
		if err == nil {
			if !r.watched[dir] {
				if r.watched == nil {
					r.watched = map[string]bool{}
				}
				r.watched[dir] = true
				added = true
			}
			continue
		}
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if msg := err.Error(); msg != r.lastWatchErr {
			r.lastWatchErr = msg
			r.report(fmt.Errorf("%s: cannot watch %s, checking it every poll: %w", r.Name, dir, err))
		}
	}
	return added
}

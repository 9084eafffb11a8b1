// Package cfgwatch tells when the configuration files given with -f have
// changed, for the opt-in reload without a signal (-watch). It reports a
// change of content, never a mere event: Kubernetes replaces a mounted
// ConfigMap by swapping its "..data" symlink, editors rename files in and
// out, and a touch or an unrelated file in the same directory must not
// cost a reload.
package cfgwatch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
)

// Options tune Watch.
type Options struct {
	// Debounce is how long a burst of file events must be quiet before the
	// files are read (default 500ms); a burst longer than 4×Debounce is
	// read anyway, so a steady writer cannot hold a reload back forever.
	Debounce time.Duration
	// Poll is the period of the fallback re-read that catches what the
	// events missed (default 5s; negative disables it).
	Poll time.Duration
}

// Sum is the fingerprint of what a load of paths reads: each file's
// content in load order and, for a directory, the names of the files it
// contributes. It does not depend on the paths themselves, so a sum taken
// before a chroot compares with one taken inside it.
type Sum [sha256.Size]byte

// Fingerprint reads the files a load of paths would read.
func Fingerprint(paths []string) (Sum, error) {
	h := sha256.New()
	for _, p := range paths {
		files, err := cfgparse.ExpandPath(p)
		if err != nil {
			return Sum{}, err
		}
		fmt.Fprintf(h, "path %d\n", len(files))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return Sum{}, err
			}
			if f != p {
				fmt.Fprintf(h, "name %q\n", filepath.Base(f))
			}
			fmt.Fprintf(h, "file %d\n", len(data))
			h.Write(data)
		}
	}
	var s Sum
	h.Sum(s[:0])
	return s, nil
}

// Watch calls changed each time the content under paths differs from the
// last content seen, starting from since (the sum of what is running), until
// ctx is done. changed must not block for long: the caller's reload runs
// elsewhere. A read error (a file missing for the instant of a rename) keeps
// the last sum, so nothing reloads on it; it goes to onErr once per error
// text. onErr may be nil.
func Watch(ctx context.Context, paths []string, since Sum, o Options, changed func(), onErr func(error)) {
	if o.Debounce <= 0 {
		o.Debounce = 500 * time.Millisecond
	}
	if o.Poll == 0 {
		o.Poll = 5 * time.Second
	}
	w := &watcher{paths: paths, last: since, changed: changed, onErr: onErr}
	w.run(ctx, o)
}

type watcher struct {
	paths   []string
	last    Sum
	changed func()
	onErr   func(error)
	lastErr string // last read error reported
	// lastWatchErr is the last directory that could not be watched.
	lastWatchErr string
	fs           *fsnotify.Watcher
	pollOnly     bool   // tests: no file events
	checked      func() // tests: after each check
}

func (w *watcher) report(err error) {
	if w.onErr != nil {
		w.onErr(err)
	}
}

func (w *watcher) run(ctx context.Context, o Options) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.pollOnly {
		// events stay nil
	} else if fsw, err := fsnotify.NewWatcher(); err != nil {
		w.report(fmt.Errorf("cfgwatch: file events unavailable, reading the files every %v: %w", o.Poll, err))
	} else {
		w.fs = fsw
		defer fsw.Close()
		events, errs = fsw.Events, fsw.Errors
		w.addWatches()
	}
	var tick <-chan time.Time
	if o.Poll > 0 {
		t := time.NewTicker(o.Poll)
		defer t.Stop()
		tick = t.C
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var burstStart time.Time // zero: no burst pending

	// A change between the caller's sum and the first watch would
	// otherwise wait for the poll.
	w.check()
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
			wait := o.Debounce
			if maxWait := burstStart.Add(4 * o.Debounce).Sub(now); maxWait < wait {
				wait = max(maxWait, 0)
			}
			debounce.Reset(wait)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.report(fmt.Errorf("cfgwatch: file events: %w", err))
		case <-debounce.C:
			burstStart = time.Time{}
			w.check()
		case <-tick:
			w.check()
		}
	}
}

// check reads the files and calls changed when their content differs from
// the last seen. The new sum is taken as seen at once: a broken edit is
// reloaded (and refused) once, not at every event.
func (w *watcher) check() {
	defer func() {
		w.addWatches() // directories may have been replaced (..data swap)
		if w.checked != nil {
			w.checked()
		}
	}()
	sum, err := Fingerprint(w.paths)
	if err != nil {
		if msg := err.Error(); msg != w.lastErr {
			w.lastErr = msg
			w.report(fmt.Errorf("cfgwatch: cannot read the configuration, keeping the running one until it can: %w", err))
		}
		return
	}
	w.lastErr = ""
	if sum == w.last {
		return
	}
	w.last = sum
	w.changed()
}

// addWatches watches every directory whose entries can change what a load
// reads: each -f directory, the directory holding each -f path (a rename
// over it, or a ConfigMap's "..data" swap beside it), and the directory each
// symlinked file resolves to (an in-place write to the real file). Adding
// is idempotent; a directory that cannot be watched is left to the poll.
func (w *watcher) addWatches() {
	if w.fs == nil {
		return
	}
	add := func(dir string) {
		if err := w.fs.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			if msg := err.Error(); msg != w.lastWatchErr {
				w.lastWatchErr = msg
				w.report(fmt.Errorf("cfgwatch: cannot watch %s, reading it every poll: %w", dir, err))
			}
		}
	}
	for _, p := range w.paths {
		add(filepath.Dir(p))
		files, err := cfgparse.ExpandPath(p)
		if err != nil {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			add(p)
		}
		for _, f := range files {
			if lfi, err := os.Lstat(f); err == nil && lfi.Mode()&os.ModeSymlink != 0 {
				if r, err := filepath.EvalSymlinks(f); err == nil {
					add(filepath.Dir(r))
				}
			}
		}
	}
}

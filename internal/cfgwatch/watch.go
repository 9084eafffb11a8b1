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
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/filewatch"
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
	paths    []string
	last     Sum
	changed  func()
	onErr    func(error)
	lastErr  string // last read error reported
	pollOnly bool   // tests: no file events
	checked  func() // tests: after each check
}

func (w *watcher) report(err error) {
	if w.onErr != nil {
		w.onErr(err)
	}
}

func (w *watcher) run(ctx context.Context, o Options) {
	loop := filewatch.Loop{Name: "cfgwatch", Debounce: o.Debounce, Poll: o.Poll, EventsOff: w.pollOnly,
		Dirs: w.dirs, Check: w.check, Report: w.onErr}
	loop.Run(ctx)
}

// check reads the files and calls changed when their content differs from
// the last seen. The new sum is taken as seen at once: a broken edit is
// reloaded (and refused) once, not at every event.
func (w *watcher) check() {
	if w.checked != nil {
		defer w.checked()
	}
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

// dirs lists every directory whose entries can change what a load reads:
// each -f directory, the directory holding each -f path (a rename over it,
// or a ConfigMap's "..data" swap beside it), and the directory each
// symlinked file resolves to (an in-place write to the real file).
func (w *watcher) dirs() []string {
	var dirs []string
	for _, p := range w.paths {
		dirs = append(dirs, filepath.Dir(p))
		files, err := cfgparse.ExpandPath(p)
		if err != nil {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dirs = append(dirs, p)
		}
		for _, f := range files {
			if lfi, err := os.Lstat(f); err == nil && lfi.Mode()&os.ModeSymlink != 0 {
				if r, err := filepath.EvalSymlinks(f); err == nil {
					dirs = append(dirs, filepath.Dir(r))
				}
			}
		}
	}
	return dirs
}

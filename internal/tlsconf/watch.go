package tlsconf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/internal/filewatch"
)

// WatchOptions tune Watch.
type WatchOptions struct {
	// Debounce is how long a burst of file events must be quiet before the
	// files are checked (default 200ms). A burst longer than 4×Debounce is
	// checked anyway.
	Debounce time.Duration
	// Poll is the period of the fallback re-stat that catches changes the
	// events missed (default 30s; negative disables it).
	Poll time.Duration
	// OnReload, when set, is called after each successful reload.
	OnReload func()
}

// Watch reloads s when its files change, until ctx is done. It watches the
// crt directories and the directories holding crt files, which catches
// in-place writes, atomic renames (vault-agent) and Kubernetes' "..data"
// symlink swap, and re-stats the files every 30s in case events were missed.
// A change is detected from the files' identity (inode), size and mtime, so
// unrelated events cost a few stats and no reload. Errors (a failed reload,
// which keeps the old certificates, or a directory that cannot be watched)
// go to onErr, which may be nil; a failed reload is reported once per state
// of the files.
func Watch(ctx context.Context, s *Store, onErr func(error)) {
	WatchWithOptions(ctx, s, WatchOptions{}, onErr)
}

// WatchWithOptions is Watch with tuning.
func WatchWithOptions(ctx context.Context, s *Store, o WatchOptions, onErr func(error)) {
	if o.Debounce <= 0 {
		o.Debounce = 200 * time.Millisecond
	}
	if o.Poll == 0 {
		o.Poll = 30 * time.Second
	}
	w := &watcher{store: s, opts: o, onErr: onErr}
	w.run(ctx)
}

type watcher struct {
	store      *Store
	opts       WatchOptions
	onErr      func(error)
	pollOnly   bool    // tests: no file events
	failed     []stamp // files' state at the last failed reload
	failedOnce bool
	lastScan   string // last scan error reported
}

func (w *watcher) report(err error) {
	if w.onErr != nil {
		w.onErr(err)
	}
}

func (w *watcher) run(ctx context.Context) {
	loop := filewatch.Loop{Name: "tlsconf", Debounce: w.opts.Debounce, Poll: w.opts.Poll, EventsOff: w.pollOnly,
		Dirs: w.dirs, Check: w.check, Report: w.onErr}
	loop.Run(ctx)
}

// check reloads the store if its files changed since it was loaded.
func (w *watcher) check() {
	changed, now, err := w.store.changed()
	if err != nil {
		// A file or directory is missing or unreadable, perhaps for the
		// instant of a swap; keep serving and say so once.
		if msg := err.Error(); msg != w.lastScan {
			w.lastScan = msg
			w.report(fmt.Errorf("tlsconf: keeping the current certificates: %w", err))
		}
		return
	}
	w.lastScan = ""
	if !changed {
		w.failedOnce = false
		return
	}
	if w.failedOnce && sameStamps(now, w.failed) {
		return // same broken state as last time: already reported
	}
	if err := w.store.Reload(); err != nil {
		w.failed, w.failedOnce = now, true
		w.report(fmt.Errorf("tlsconf: reload failed, keeping the current certificates: %w", err))
		return
	}
	w.failedOnce = false
	if w.opts.OnReload != nil {
		w.opts.OnReload()
	}
}

// dirs lists every directory whose entries can change what the store
// loads: each crt directory, the directory of each crt file, and the
// directory a symlinked crt path resolves to.
func (w *watcher) dirs() []string {
	var dirs []string
	for _, p := range w.store.paths {
		fi, err := os.Stat(p)
		if err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		} else {
			dirs = append(dirs, filepath.Dir(p))
		}
		if lfi, err := os.Lstat(p); err == nil && lfi.Mode()&os.ModeSymlink != 0 {
			dirs = append(dirs, filepath.Dir(p))
			if r, err := filepath.EvalSymlinks(p); err == nil {
				dirs = append(dirs, filepath.Dir(r))
			}
		}
	}
	return dirs
}

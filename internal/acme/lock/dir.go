package lock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dir keeps locks and challenges as files in a directory shared by the
// replicas, on one host or many (NFS v3 or later, or any file system with
// atomic link and rename).
//
// A lock is the file "lock-NAME" holding its holder's token and expiry. It
// is created whole: written to a temporary file, then linked to its name,
// which fails if the name exists (link is atomic on NFS as O_EXCL is, and
// no reader ever sees a half-written lock). Every change to an existing
// lock file happens under its guard, "guard-NAME", itself taken by an
// exclusive link: the holder's extension (the new expiry written to a
// temporary file renamed over the lock, every ttl/3) and release (only
// when the file still holds this holder's token), and the takeover of a
// lock whose expiry has passed (removed only if it is still the file
// judged stale, then created anew by whoever links first).
//
// Limits: expiries are wall-clock times compared across hosts, so the
// hosts' clocks must agree to well within ttl (run NTP); the directory must
// allow hard links and give close-to-open consistency (NFS does unless
// mounted 'nocto'; some SMB and FUSE file systems have no links: Lock then
// fails with the error); a holder stalled past ttl may lose the lock, as
// the package doc says; a guard left by a process that crashed while
// holding it (for the few file operations it covers) delays takeovers of
// that name by up to 30 seconds.
type Dir struct {
	dir  string
	host string
	pid  int
	// renewEvery replaces ttl/3 in tests (a stalled holder).
	renewEvery time.Duration
}

const (
	lockMagic       = "gatehouse-lock/1"
	tmpPrefix       = ".gh-tmp-"
	challengePrefix = "http01-"
)

// NewDir uses dir (created if missing) and removes what crashed processes
// may have left there: temporary files an hour old or more, and expired
// challenges nobody asked for.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	host, _ := os.Hostname()
	d := &Dir{dir: dir, host: host, pid: os.Getpid()}
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			switch fi, err := e.Info(); {
			case err != nil:
			case strings.HasPrefix(e.Name(), tmpPrefix) && time.Since(fi.ModTime()) > time.Hour:
				_ = os.Remove(filepath.Join(dir, e.Name()))
			case strings.HasPrefix(e.Name(), challengePrefix):
				// Get removes an expired challenge it reads.
				_, _, _ = d.get(filepath.Join(dir, e.Name()))
			}
		}
	}
	return d, nil
}

// fileName makes name safe as one file name: bytes other than letters,
// digits, '.', '-' and '_' are %XX-escaped (a wildcard's '*', a '/'); a long
// name becomes its SHA-256.
func (d *Dir) fileName(kind, name string) string {
	var b strings.Builder
	b.WriteString(kind)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > 200 {
		sum := sha256.Sum256([]byte(name))
		return filepath.Join(d.dir, kind+"sha256-"+hex.EncodeToString(sum[:]))
	}
	return filepath.Join(d.dir, b.String())
}

func (d *Dir) encode(token string, exp time.Time) []byte {
	return fmt.Appendf(nil, "%s %s %d %s %d\n", lockMagic, token, exp.UnixMilli(), d.host, d.pid)
}

func decodeLock(b []byte) (token string, exp time.Time, ok bool) {
	f := strings.Fields(string(b))
	if len(f) < 3 || f[0] != lockMagic {
		return "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return f[1], time.UnixMilli(ms), true
}

// writeTemp writes content to a new temporary file in the directory,
// flushed to stable storage, and returns its path.
func (d *Dir) writeTemp(content []byte) (string, error) {
	tmp := filepath.Join(d.dir, tmpPrefix+newToken())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// create makes path with content, failing with fs.ErrExist if it exists.
func (d *Dir) create(path string, content []byte) error {
	tmp, err := d.writeTemp(content)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

// replace sets path's content atomically, whether it exists or not.
func (d *Dir) replace(path string, content []byte) error {
	tmp, err := d.writeTemp(content)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// removeIf removes path if it still holds want, and reports whether it did.
// The file is renamed away first, so of several removers only one gets it,
// and one that finds it changed (a lock extended, a challenge put again)
// puts it back.
func (d *Dir) removeIf(path string, want []byte) (bool, error) {
	gone := filepath.Join(d.dir, tmpPrefix+newToken())
	if err := os.Rename(path, gone); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	got, err := os.ReadFile(gone)
	if err == nil && bytes.Equal(got, want) {
		return true, os.Remove(gone)
	}
	// Not what was judged: restore it unless a new one took the name in
	// the meantime (its holder then finds its own lock gone at its next
	// extension).
	if lerr := os.Link(gone, path); lerr != nil && !errors.Is(lerr, fs.ErrExist) {
		return false, fmt.Errorf("restoring %s: %w", path, lerr)
	}
	_ = os.Remove(gone)
	return false, err
}

// Lock implements acme.Locker.
func (d *Dir) Lock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	if name == "" || ttl <= 0 {
		return nil, false, errors.New("lock: empty name or ttl not positive")
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	h := &heldLock{d: d, name: name, path: d.fileName("lock-", name), token: newToken(), ttl: ttl}
	// Two rounds: a stale lock is removed in the first, the name taken in
	// the second unless another contender was quicker.
	for range 2 {
		content := d.encode(h.token, time.Now().Add(ttl))
		err := d.create(h.path, content)
		if err == nil {
			h.content = content
			return h.start(), true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
		cur, err := os.ReadFile(h.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
		if held, _, ok := decodeLock(cur); ok && held == h.token {
			// Our link succeeded but its answer was lost (NFS retransmits
			// a link and then sees its own file): it is ours.
			h.content = cur
			return h.start(), true, nil
		}
		if !d.expired(h.path, cur, ttl) {
			return nil, false, nil
		}
		// Stale: remove it under the guard, if it is still the same file.
		removed := false
		got, err := d.guarded(name, func() error {
			now, err := os.ReadFile(h.path)
			if errors.Is(err, fs.ErrNotExist) {
				removed = true
				return nil
			}
			if err != nil {
				return err
			}
			if bytes.Equal(now, cur) {
				removed = true
				return os.Remove(h.path)
			}
			return nil
		})
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: taking over a stale lock: %w", name, err)
		}
		if !got || !removed {
			return nil, false, nil // another replica is taking it over, or the holder renewed
		}
	}
	return nil, false, nil
}

// expired reports whether lock content cur (read from path) is past its
// expiry. Content this code did not write (a damaged file) is judged by its
// modification time and ttl, so it cannot block the name forever.
func (d *Dir) expired(path string, cur []byte, ttl time.Duration) bool {
	_, exp, ok := decodeLock(cur)
	if !ok {
		fi, err := os.Stat(path)
		if err != nil {
			return false
		}
		exp = fi.ModTime().Add(ttl)
	}
	return !time.Now().Before(exp)
}

// guardTTL bounds how long a guard may be held: its holder only reads,
// renames or removes one file under it.
const guardTTL = 30 * time.Second

// guarded runs f holding the guard of name, the file "guard-NAME" taken
// as a lock is (an exclusive link), and reports whether it got the guard.
// Every change to an existing lock file (a takeover, an extension, a
// release) happens under it, so a reader's check and its change are one
// step for every other replica: two replicas that find one stale lock
// cannot each remove what the other created. A guard left by a crashed
// process is removed after guardTTL.
func (d *Dir) guarded(name string, f func() error) (bool, error) {
	path := d.fileName("guard-", name)
	content := d.encode(newToken(), time.Now().Add(guardTTL))
	err := d.create(path, content)
	if errors.Is(err, fs.ErrExist) {
		cur, rerr := os.ReadFile(path)
		if rerr != nil || !d.expired(path, cur, guardTTL) {
			return false, nil
		}
		if _, err := d.removeIf(path, cur); err != nil {
			return false, err
		}
		content = d.encode(newToken(), time.Now().Add(guardTTL))
		err = d.create(path, content)
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	defer func() { _, _ = d.removeIf(path, content) }()
	return true, f()
}

// heldLock is a lock this process holds, extended until unlocked or lost.
type heldLock struct {
	d       *Dir
	name    string
	path    string
	token   string
	ttl     time.Duration
	content []byte // what the file holds while ours; the renew goroutine's until it ends
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (h *heldLock) start() func() {
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go h.renewLoop(renewInterval(h.ttl, h.d.renewEvery))
	return h.unlock
}

func (h *heldLock) renewLoop(every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			if !h.renew() {
				return
			}
		}
	}
}

// renew extends the lock; false once it is no longer ours (taken over
// after we stalled, or removed by hand). An error, or the guard held by
// another, is tried again at the next tick: the lock is valid until its
// expiry.
func (h *heldLock) renew() bool {
	mine := true
	_, _ = h.d.guarded(h.name, func() error {
		cur, err := os.ReadFile(h.path)
		if err != nil {
			mine = !errors.Is(err, fs.ErrNotExist)
			return err
		}
		if mine = bytes.Equal(cur, h.content); !mine {
			return nil
		}
		next := h.d.encode(h.token, time.Now().Add(h.ttl))
		if err := h.d.replace(h.path, next); err != nil {
			return err
		}
		h.content = next
		return nil
	})
	return mine
}

// unlockWait bounds how long unlock waits for the guard; after it the lock
// is left to expire.
const unlockWait = 5 * time.Second

// unlock stops the extensions and removes the lock if it is still ours.
// Calling it again does nothing.
func (h *heldLock) unlock() {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		for start := time.Now(); time.Since(start) < unlockWait; time.Sleep(10 * time.Millisecond) {
			got, err := h.d.guarded(h.name, func() error {
				cur, err := os.ReadFile(h.path)
				if err == nil && bytes.Equal(cur, h.content) {
					return os.Remove(h.path)
				}
				return nil
			})
			if got || err != nil {
				return
			}
		}
	})
}

// Put implements ChallengeStore: the file "http01-TOKEN" holds the expiry
// and the key authorization.
func (d *Dir) Put(_ context.Context, token, keyAuth string, ttl time.Duration) error {
	if !validToken(token) {
		return fmt.Errorf("challenge token %q: not base64url", token)
	}
	if keyAuth == "" || strings.ContainsAny(keyAuth, " \r\n") || ttl <= 0 {
		return errors.New("challenge: empty or multi-word key authorization, or ttl not positive")
	}
	return d.replace(d.fileName(challengePrefix, token), fmt.Appendf(nil, "%d %s\n", time.Now().Add(ttl).UnixMilli(), keyAuth))
}

// Get implements ChallengeStore. A token that is not base64url is never
// looked up: not found.
func (d *Dir) Get(_ context.Context, token string) (string, bool, error) {
	if !validToken(token) {
		return "", false, nil
	}
	return d.get(d.fileName(challengePrefix, token))
}

// get reads a challenge file, removing it if it has expired.
func (d *Dir) get(path string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	ms, keyAuth, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || keyAuth == "" {
		return "", false, fmt.Errorf("challenge file %s is damaged", path)
	}
	if !time.Now().Before(time.UnixMilli(n)) {
		_, _ = d.removeIf(path, b) // expired: gone, unless put again meanwhile
		return "", false, nil
	}
	return keyAuth, true, nil
}

// Delete implements ChallengeStore; deleting a token that is not there is
// not an error.
func (d *Dir) Delete(_ context.Context, token string) error {
	if !validToken(token) {
		return nil
	}
	if err := os.Remove(d.fileName(challengePrefix, token)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

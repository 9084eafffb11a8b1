// Package userlist holds HAProxy's "userlist" sections at run time: users
// with a crypt(3) hash or an insecure password, and groups, checked
// against a request's Basic credentials by the http_auth and
// http_auth_group fetches.
//
// HAProxy calls crypt(3) on every check, so a bcrypt hash costs its full
// price on every request. A List remembers its verdicts instead, in a
// bounded cache keyed by a keyed hash of the user name and password: a
// hit needs the same name and the same password, byte for byte, as the
// check that was computed, so it can never let a wrong password through;
// and a List is immutable (a reload builds a new one, with a new cache),
// so the stored hash a verdict was computed against cannot change under it.
package userlist

import (
	"crypto/subtle"
	"fmt"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwd"
)

// List is one userlist.
type List struct {
	name  string
	users []user
	index map[string]int
	cache *verdictCache
	// verifications counts the hashes computed, for tests and diagnostics.
	verifications atomic.Int64
}

type user struct {
	name     string
	hash     *passwd.Hash // nil with an insecure password or none
	insecure []byte       // "insecure-password"
	hasPass  bool         // a password of either kind was given
	groups   []string
}

// CacheSize is the number of verdicts a List remembers.
const CacheSize = 4096

// New builds the List of a parsed userlist section. The parser has
// checked the hashes and names; an error here is a bug or a hand-built
// configuration.
func New(c *config.Userlist) (*List, error) {
	l := &List{name: c.Name, index: make(map[string]int, len(c.Users)), cache: newVerdictCache(CacheSize)}
	for _, u := range c.Users {
		nu := user{name: u.Name, hasPass: u.Password != "" || u.Insecure}
		if u.Insecure {
			nu.insecure = []byte(u.Password)
		} else if u.Password != "" {
			h, err := passwd.Parse(u.Password)
			if err != nil {
				return nil, config.Errorf(u.Pos, "userlist '%s': user '%s': %v", c.Name, u.Name, err)
			}
			nu.hash = h
		}
		l.index[u.Name] = len(l.users)
		l.users = append(l.users, nu)
	}
	// A user's groups: those it names and those naming it, each once, in
	// the order of the groups' declarations.
	for _, g := range c.Groups {
		for _, m := range g.Users {
			i, ok := l.index[m]
			if !ok {
				return nil, config.Errorf(g.Pos, "userlist '%s': no such user '%s' specified in group '%s'", c.Name, m, g.Name)
			}
			l.addGroup(i, g.Name)
		}
	}
	for _, u := range c.Users {
		for _, g := range u.Groups {
			if !hasGroup(c, g) {
				return nil, config.Errorf(u.Pos, "userlist '%s': no such group '%s' specified in user '%s'", c.Name, g, u.Name)
			}
			l.addGroup(l.index[u.Name], g)
		}
	}
	return l, nil
}

func hasGroup(c *config.Userlist, name string) bool {
	for _, g := range c.Groups {
		if g.Name == name {
			return true
		}
	}
	return false
}

func (l *List) addGroup(i int, g string) {
	for _, have := range l.users[i].groups {
		if have == g {
			return
		}
	}
	l.users[i].groups = append(l.users[i].groups, g)
}

// Name is the userlist's name.
func (l *List) Name() string { return l.name }

// Check verifies Basic credentials. It returns the user's index for
// Groups, or -1 when the user is unknown, has no password or the password
// is wrong. Safe for concurrent use.
func (l *List) Check(name, pass []byte) int {
	i, ok := l.index[string(name)]
	if !ok {
		return -1
	}
	u := &l.users[i]
	switch {
	case u.hash != nil:
	case u.hasPass:
		if subtle.ConstantTimeCompare(pass, u.insecure) == 1 {
			return i
		}
		return -1
	default:
		return -1 // HAProxy: crypt(3) with no setting never matches
	}
	key := l.cache.key(name, pass)
	good := l.cache.do(key, func() bool {
		l.verifications.Add(1)
		return u.hash.Verify(string(pass))
	})
	return verdict(good, i)
}

// Verifications is the number of hashes computed (cache misses).
func (l *List) Verifications() int64 { return l.verifications.Load() }

func verdict(good bool, i int) int {
	if good {
		return i
	}
	return -1
}

// Groups returns the groups of user i (from Check), in declaration order.
func (l *List) Groups(i int) []string {
	if i < 0 || i >= len(l.users) {
		return nil
	}
	return l.users[i].groups
}

// WeakUsers names the users whose hash is weak (MD5-crypt), for warnings.
func (l *List) WeakUsers() []string {
	var out []string
	for _, u := range l.users {
		if u.hash != nil && u.hash.Weak() {
			out = append(out, u.name)
		}
	}
	return out
}

// String is for diagnostics.
func (l *List) String() string { return fmt.Sprintf("userlist %s (%d users)", l.name, len(l.users)) }

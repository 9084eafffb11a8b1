package userlist

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"golang.org/x/crypto/bcrypt"
)

const (
	sha512Hello = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	sha256Hello = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
	md5Hello    = "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"
	bcryptPw    = "$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q" // "pw"
)

func testList(t testing.TB) *List {
	t.Helper()
	l, err := New(&config.Userlist{Name: "L",
		Users: []config.UserlistUser{
			{Name: "six", Password: sha512Hello, Groups: []string{"ops"}},
			{Name: "five", Password: sha256Hello},
			{Name: "one", Password: md5Hello},
			{Name: "bee", Password: bcryptPw, Groups: []string{"admins", "ops"}},
			{Name: "plain", Password: "open sesame", Insecure: true},
			{Name: "empty", Password: "", Insecure: true},
			{Name: "nopass", Groups: []string{"ops"}},
			{Name: "redacted", Password: "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxXXXXXXXXXXXX"},
		},
		Groups: []config.UserlistGroup{{Name: "admins", Users: []string{"six"}}, {Name: "ops"}, {Name: "devs", Users: []string{"five", "bee"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCheck(t *testing.T) {
	l := testList(t)
	for _, c := range []struct {
		user, pass string
		ok         bool
	}{
		{"six", "Hello world!", true}, {"six", "Hello world", false},
		{"five", "Hello world!", true}, {"five", "hello world!", false},
		{"one", "Hello world!", true}, {"one", "", false},
		{"bee", "pw", true}, {"bee", "pW", false},
		{"plain", "open sesame", true}, {"plain", "open sesame ", false},
		{"empty", "", true}, {"empty", "x", false},
		{"nopass", "", false}, {"nopass", "x", false},
		{"redacted", "Hello world!", false}, {"redacted", "", false},
		{"nobody", "Hello world!", false}, {"Six", "Hello world!", false},
	} {
		// Twice: the second answer comes from the cache.
		for round := range 2 {
			i := l.Check([]byte(c.user), []byte(c.pass))
			if (i >= 0) != c.ok {
				t.Errorf("round %d: Check(%q, %q) = %d, want ok=%v", round, c.user, c.pass, i, c.ok)
			}
		}
	}
}

func TestGroups(t *testing.T) {
	l := testList(t)
	for user, want := range map[string][]string{
		"six": {"admins", "ops"}, "five": {"devs"}, "bee": {"devs", "admins", "ops"}, "plain": nil,
	} {
		i := l.index[user]
		if got := l.Groups(i); !slices.Equal(got, want) {
			t.Errorf("Groups(%s) = %v, want %v", user, got, want)
		}
	}
	if l.Groups(-1) != nil || l.Groups(100) != nil {
		t.Error("Groups of no user")
	}
	if got := l.WeakUsers(); !slices.Equal(got, []string{"one"}) {
		t.Errorf("WeakUsers = %v", got)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []*config.Userlist{
		{Name: "L", Users: []config.UserlistUser{{Name: "a", Groups: []string{"nope"}}}},
		{Name: "L", Groups: []config.UserlistGroup{{Name: "g", Users: []string{"nope"}}}},
		{Name: "L", Users: []config.UserlistUser{{Name: "a", Password: "abzlUXK5ed5rs"}}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v): no error", c)
		}
	}
}

// TestCacheNeverPassesWrongPassword: once a good password is cached, no
// other password, nor the same bytes split differently between name and
// password, is taken for it; and a cached bad verdict stays bad.
func TestCacheNeverPassesWrongPassword(t *testing.T) {
	l, err := New(&config.Userlist{Name: "L", Users: []config.UserlistUser{
		{Name: "ab", Password: bcryptPw}, {Name: "a", Password: bcryptPw}, {Name: "abp", Password: bcryptPw}}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Check([]byte("ab"), []byte("pw")) < 0 {
		t.Fatal("good password refused")
	}
	for _, c := range [][2]string{{"ab", "pw "}, {"ab", "p"}, {"ab", ""}, {"a", "bpw"}, {"abp", "w"}, {"ab", "PW"}} {
		for range 2 {
			if l.Check([]byte(c[0]), []byte(c[1])) >= 0 {
				t.Errorf("Check(%q, %q) passed", c[0], c[1])
			}
		}
	}
	if l.Check([]byte("ab"), []byte("pw")) < 0 || l.Check([]byte("a"), []byte("pw")) < 0 {
		t.Error("good passwords refused after the bad ones")
	}
}

func TestCacheBounded(t *testing.T) {
	c := newVerdictCache(8)
	hot := c.key([]byte("hot"), []byte("pw"))
	c.put(hot, true)
	for i := range 100 {
		c.put(c.key([]byte("u"), fmt.Appendf(nil, "%d", i)), false)
		if _, hit := c.get(hot); !hit {
			t.Fatalf("the entry read between every insertion was evicted after %d insertions", i+1)
		}
		if n := c.len(); n > 8 {
			t.Fatalf("%d entries in a cache of 8", n)
		}
	}
	if good, hit := c.get(hot); !hit || !good {
		t.Error("hot entry lost")
	}
	if _, hit := c.get(c.key([]byte("u"), []byte("0"))); hit {
		t.Error("the oldest cold entry is still there")
	}
	// Keys depend on the process's secret: two caches disagree.
	if newVerdictCache(1).key([]byte("a"), []byte("b")) == c.key([]byte("a"), []byte("b")) {
		t.Error("two caches derive the same key")
	}
}

// TestConcurrentMissesVerifyOnce: requests with the same credentials
// arriving together (a browser's parallel connections at the first
// login) compute the hash once; the others wait for that verdict.
func TestConcurrentMissesVerifyOnce(t *testing.T) {
	l := testList(t)
	for _, pass := range []string{"pw", "wrong"} {
		before := l.Verifications()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if got := l.Check([]byte("bee"), []byte(pass)) >= 0; got != (pass == "pw") {
					t.Errorf("Check(bee, %q) = %v", pass, got)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := l.Verifications() - before; n != 1 {
			t.Errorf("%q: %d hashes computed by 16 concurrent checks, want 1", pass, n)
		}
	}
}

func TestCheckConcurrent(t *testing.T) {
	l := testList(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				pass := "pw"
				if (i+g)%3 == 0 {
					pass = fmt.Sprintf("wrong%d", i%4)
				}
				if got := l.Check([]byte("bee"), []byte(pass)) >= 0; got != (pass == "pw") {
					t.Errorf("Check(bee, %q) = %v", pass, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The cost of http_auth with a bcrypt hash of cost 10: a cached verdict
// against a verification.
func benchList(b *testing.B) *List {
	h, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 10)
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(&config.Userlist{Name: "L", Users: []config.UserlistUser{{Name: "alice", Password: string(h)}}})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkCheckBcryptCached(b *testing.B) {
	l := benchList(b)
	user, pass := []byte("alice"), []byte("correct horse")
	l.Check(user, pass)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if l.Check(user, pass) < 0 {
			b.Fatal("refused")
		}
	}
}

func BenchmarkCheckBcryptUncached(b *testing.B) {
	l := benchList(b)
	u := &l.users[0]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !u.hash.Verify("correct horse") {
			b.Fatal("refused")
		}
	}
}

func BenchmarkParseAuthorization(b *testing.B) {
	v := "Basic " + b64("alice:correct horse")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var a Authorization
		a, buf = ParseAuthorizationValue(v, buf[:0])
		if a.Scheme != SchemeBasic {
			b.Fatal("not parsed")
		}
	}
}

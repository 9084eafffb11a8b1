package httpcache

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func hdrs(kv ...string) httpmsg.Headers {
	var h httpmsg.Headers
	for _, s := range kv {
		k, v, _ := strings.Cut(s, ": ")
		h = append(h, httpmsg.Header{Name: k, Value: v})
	}
	return h
}

func TestCheckRequest(t *testing.T) {
	for _, c := range []struct {
		method string
		http11 bool
		h      []string
		want   Txn
	}{
		{"GET", true, nil, Txn{Cacheable: true, Cook: true}},
		{"HEAD", true, nil, Txn{Cacheable: true, Cook: true}},
		{"GET", false, nil, Txn{Cacheable: true, Cook: true, Ignore: true}},
		{"POST", true, nil, Txn{Ignore: true}},
		{"OPTIONS", true, nil, Txn{Cacheable: true, Cook: true, Ignore: true}},
		{"GET", true, []string{"Authorization: Basic x"}, Txn{Ignore: true}},
		{"GET", true, []string{"Cache-Control: no-cache"}, Txn{Cacheable: true, Cook: true, Ignore: true}},
		{"GET", true, []string{"Cache-Control: max-age=10"}, Txn{Cacheable: true, Cook: true, Ignore: true}},
		{"GET", true, []string{"Cache-Control: no-store"}, Txn{}},
		{"GET", true, []string{"Cache-Control: foo, no-store"}, Txn{}},
		{"GET", true, []string{"Pragma: no-cache"}, Txn{Cacheable: true, Cook: true, Ignore: true}},
		// Cache-Control present: Pragma is ignored (RFC 7234 5.4).
		{"GET", true, []string{"Pragma: no-cache", "Cache-Control: public"}, Txn{Cacheable: true, Cook: true}},
	} {
		if got := CheckRequest(c.method, c.http11, hdrs(c.h...)); got != c.want {
			t.Errorf("%s http11=%v %v: %+v, want %+v", c.method, c.http11, c.h, got, c.want)
		}
	}
}

func TestCheckResponse(t *testing.T) {
	for _, c := range []struct {
		h    []string
		want bool
	}{
		{[]string{"Cache-Control: max-age=60"}, true},
		{[]string{"Cache-Control: s-maxage=60"}, true},
		{[]string{"Expires: Thu, 01 Jan 2099 00:00:00 GMT"}, true},
		{[]string{"ETag: \"a\""}, true},
		{[]string{"Last-Modified: Thu, 01 Jan 2020 00:00:00 GMT"}, true},
		{nil, false}, // neither expiration nor validator
		{[]string{"Cache-Control: no-store, max-age=60"}, false},
		{[]string{"Cache-Control: private, max-age=60"}, false},
		{[]string{"Cache-Control: no-cache", "ETag: \"a\""}, false},
		{[]string{"Cache-Control: max-age=0"}, false},
		{[]string{"Cache-Control: max-age=60, no-cache=\"set-cookie\""}, false},
		{[]string{"Pragma: no-cache", "Cache-Control: max-age=60"}, false},
		// "public" after "private" makes it cacheable again, as in HAProxy.
		{[]string{"Cache-Control: private, public, max-age=9"}, true},
	} {
		f := Txn{Cacheable: true, Cook: true}
		f.CheckResponse(hdrs(c.h...))
		if f.Storable() != c.want {
			t.Errorf("%v: storable %v, want %v", c.h, f.Storable(), c.want)
		}
	}
	// A request's no-store stays unless the response says public.
	f := Txn{}
	f.CheckResponse(hdrs("Cache-Control: max-age=60"))
	if f.Storable() {
		t.Error("a no-store request's response became storable")
	}
}

func TestMaxAge(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h            []string
		eff, trueAge int
		ok           bool
	}{
		{[]string{"Cache-Control: max-age=30"}, 30, 30, true},
		{[]string{"Cache-Control: max-age=300"}, 60, 300, true},
		{[]string{"Cache-Control: max-age=30, s-maxage=10"}, 10, 10, true},
		{[]string{`Cache-Control: max-age="20"`}, 20, 20, true},
		{[]string{"Cache-Control: max-age=abc"}, 0, 0, false},
		{[]string{"Expires: Tue, 01 Jan 2030 00:00:20 GMT"}, 20, 20, true},
		{[]string{"Expires: Mon, 31 Dec 2029 00:00:00 GMT"}, 0, 0, true}, // past: stale
		{[]string{"Expires: garbage"}, 0, 0, true},
		{[]string{"Cache-Control: max-age=20", "Expires: Tue, 01 Jan 2030 00:00:50 GMT"}, 20, 20, true},
		{nil, 60, 0, true},
	} {
		eff, tr, ok := MaxAge(hdrs(c.h...), now, 60)
		if eff != c.eff || tr != c.trueAge || ok != c.ok {
			t.Errorf("%v: %d %d %v, want %d %d %v", c.h, eff, tr, ok, c.eff, c.trueAge, c.ok)
		}
	}
}

func TestVaryAndSecondaryKey(t *testing.T) {
	if sig, ok := VarySignature(hdrs("Vary: Accept-Encoding, referer")); !ok || sig != VaryAcceptEncoding|VaryReferer {
		t.Errorf("sig %b ok %v", sig, ok)
	}
	if _, ok := VarySignature(hdrs("Vary: User-Agent")); ok {
		t.Error("Vary: User-Agent accepted")
	}
	gz, _ := ResponseEncoding(hdrs("Content-Encoding: gzip"))
	id, _ := ResponseEncoding(nil)
	if _, ok := ResponseEncoding(hdrs("Content-Encoding: foo")); ok {
		t.Error("an unknown response coding accepted")
	}
	for _, c := range []struct {
		stored uint32
		ae     []string
		want   bool
	}{
		{gz, []string{"Accept-Encoding: gzip"}, true},
		{gz, []string{"Accept-Encoding: br"}, false},
		{gz, []string{"Accept-Encoding: gzip;q=0, *"}, false},
		{gz, []string{"Accept-Encoding: *"}, true},
		{gz, nil, true}, // no header: anything goes
		{id, []string{"Accept-Encoding: br"}, true},
		{id, []string{"Accept-Encoding: identity;q=0"}, false},
		{id, []string{"Accept-Encoding: "}, true},
	} {
		rk, ok := RequestSecondaryKey(hdrs(c.ae...), VaryAcceptEncoding)
		if got := ok && (SecondaryKey{Enc: c.stored}).matches(rk); got != c.want {
			t.Errorf("stored %b, request %v: match %v, want %v", c.stored, c.ae, got, c.want)
		}
	}
	a, _ := RequestSecondaryKey(hdrs("Referer: /a"), VaryReferer)
	b, _ := RequestSecondaryKey(hdrs("Referer: /b"), VaryReferer)
	if a == b {
		t.Error("different Referers give the same key")
	}
	many := []string{}
	for i := 0; i < 16; i++ {
		many = append(many, "Accept-Encoding: gzip")
	}
	if _, ok := RequestSecondaryKey(hdrs(many...), VaryAcceptEncoding); ok {
		t.Error("16 codings keyed")
	}
}

func TestNotModified(t *testing.T) {
	lm := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    []string
		etag string
		want bool
	}{
		{[]string{`If-None-Match: "v1"`}, `"v1"`, true},
		{[]string{`If-None-Match: "v0", W/"v1"`}, `"v1"`, true},
		{[]string{`If-None-Match: "v2"`}, `"v1"`, false},
		{[]string{`If-None-Match: *`}, "", true},
		{[]string{`If-None-Match: "v2"`, "If-Modified-Since: Tue, 02 Jan 2024 00:00:00 GMT"}, `"v1"`, false},
		{[]string{"If-Modified-Since: Tue, 02 Jan 2024 00:00:00 GMT"}, "", true},
		{[]string{"If-Modified-Since: Sun, 31 Dec 2023 00:00:00 GMT"}, "", false},
		{nil, `"v1"`, false},
	} {
		if got := NotModified(hdrs(c.h...), c.etag, lm); got != c.want {
			t.Errorf("%v etag %s: %v, want %v", c.h, c.etag, got, c.want)
		}
	}
}

func TestRequestKey(t *testing.T) {
	a, _ := RequestKey("/x", hdrs("Host: example.com"))
	b, _ := RequestKey("https://example.com/x", nil)
	c, _ := RequestKey("/x", hdrs("Host: other"))
	if a != b || a == c {
		t.Error("the key is not https:// + Host + URI")
	}
	if _, ok := RequestKey("/x", nil); ok {
		t.Error("a key without Host")
	}
}

func newTestCache(totalKB, maxObj int) *Cache {
	return New(Settings{Name: "t", TotalMax: int64(totalKB) * BlockSize, MaxObject: int64(maxObj), MaxAge: 60, MaxSecondary: 2})
}

func store(c *Cache, path string, body int) bool {
	k, _ := RequestKey(path, hdrs("Host: h"))
	s := c.Begin(k, 0, SecondaryKey{}, 200, hdrs("Content-Type: text/plain"), 60, 0)
	for i := 0; i < body; i += 500 {
		s.Write(make([]byte, min(500, body-i)))
	}
	ok := !s.Failed()
	s.Commit()
	return ok
}

func TestStoreBoundsAndEviction(t *testing.T) {
	c := newTestCache(8, 4000)
	if store(c, "/big", 5000) {
		t.Error("an object over max-object-size was kept")
	}
	if used, n := c.Usage(); used != 0 || n != 0 {
		t.Errorf("an abandoned object holds %d blocks, %d entries", used, n)
	}
	for i := 0; i < 6; i++ {
		if !store(c, fmt.Sprintf("/%d", i), 1500) { // 2 blocks each
			t.Fatalf("object %d not stored", i)
		}
	}
	used, n := c.Usage()
	if used > 8 || n != 4 {
		t.Errorf("%d blocks, %d entries in an 8-block cache of 2-block objects", used, n)
	}
	// Oldest first: /0 and /1 went.
	for i, want := range []bool{false, false, true, true, true, true} {
		k, _ := RequestKey(fmt.Sprintf("/%d", i), hdrs("Host: h"))
		if got := c.Lookup(k, nil) != nil; got != want {
			t.Errorf("/%d present %v, want %v", i, got, want)
		}
	}
	k, _ := RequestKey("/5", hdrs("Host: h"))
	c.Invalidate(k)
	if c.Lookup(k, nil) != nil {
		t.Error("invalidated entry still served")
	}
}

func TestExpiry(t *testing.T) {
	c := newTestCache(8, 4000)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	k, _ := RequestKey("/e", hdrs("Host: h"))
	s := c.Begin(k, 0, SecondaryKey{}, 200, nil, 2, 5)
	s.Commit()
	now = now.Add(time.Second)
	e := c.Lookup(k, nil)
	if e == nil || e.Age(now) != 6 {
		t.Fatalf("entry %v (age = stored for 1s + server's 5 expected)", e)
	}
	now = now.Add(time.Second)
	if c.Lookup(k, nil) != nil {
		t.Error("expired entry served")
	}
}

func TestMaxSecondaryEntries(t *testing.T) {
	c := newTestCache(64, 4000)
	k, _ := RequestKey("/v", hdrs("Host: h"))
	for i, ref := range []string{"/1", "/2", "/3"} {
		sec, _ := RequestSecondaryKey(hdrs("Referer: "+ref), VaryReferer)
		c.Begin(k, VaryReferer, sec, 200, nil, 60, 0).Commit()
		_, n := c.Usage()
		if want := min(i+1, 2); n != want {
			t.Errorf("after %s: %d entries, want %d", ref, n, want)
		}
	}
}

// Stores and lookups from many goroutines (run with -race) keep the
// accounting exact.
func TestConcurrent(t *testing.T) {
	c := newTestCache(16, 4000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				path := fmt.Sprintf("/%d", i%20)
				k, _ := RequestKey(path, hdrs("Host: h"))
				if c.Lookup(k, nil) == nil {
					store(c, path, 1000+i)
				}
			}
		}()
	}
	wg.Wait()
	used, _ := c.Usage()
	c.mu.Lock()
	sum := 0
	for _, e := range c.order {
		sum += e.blocks
	}
	inFlight := c.inFlight
	c.mu.Unlock()
	if used != sum || used > 16 || inFlight != 0 {
		t.Errorf("used %d blocks, entries hold %d, in flight %d (cache of 16)", used, sum, inFlight)
	}
}

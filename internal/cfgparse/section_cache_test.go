package cfgparse

import (
	"strings"
	"testing"
)

const cacheFrontend = `
frontend f
    mode http
    bind :8080
    timeout client 1s
    timeout connect 1s
    timeout server 1s
    http-request cache-use c
    http-response cache-store c
    server s 127.0.0.1:80
`

func TestCacheSection(t *testing.T) {
	c, err := Parse("t.cfg", []byte(`cache c
    total-max-size 4
    max-age 240
    process-vary on
    max-secondary-entries 3
cache d
    total-max-size 512
    max-object-size 1000
`+strings.Replace(cacheFrontend, "frontend f", "listen f", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Caches) != 2 {
		t.Fatalf("%d caches", len(c.Caches))
	}
	a, d := c.Caches[0], c.Caches[1]
	if a.Name != "c" || a.TotalMaxMB != 4 || a.MaxObject != 4<<20>>8 || a.MaxAge != 240 || !a.ProcessVary || a.MaxSecondary != 3 {
		t.Errorf("cache c: %+v", a)
	}
	if d.MaxObject != 1000 || d.MaxAge != 60 || d.ProcessVary || d.MaxSecondary != 10 {
		t.Errorf("cache d (defaults): %+v", d)
	}
	rules := c.Proxies[0]
	if len(rules.HTTPRequest) != 1 || rules.HTTPRequest[0].Action != "cache-use" || rules.HTTPRequest[0].Name != "c" ||
		len(rules.HTTPResponse) != 1 || rules.HTTPResponse[0].Action != "cache-store" {
		t.Errorf("rules: %+v %+v", rules.HTTPRequest, rules.HTTPResponse)
	}
}

func TestCacheSectionErrors(t *testing.T) {
	listen := strings.Replace(cacheFrontend, "frontend f", "listen f", 1)
	for _, c := range []struct{ cfg, want string }{
		{"cache c\n    max-age 5\n" + listen, "Size not specified for cache 'c'"},
		{"cache c\n    total-max-size 4096\n" + listen, `"total-max-size" (4096) must not be greater than 4095`},
		{"cache c\n    total-max-size x\n" + listen, "'total-max-size' expects a size in megabytes"},
		{"cache c\n    total-max-size 1\n    max-object-size 524289\n" + listen, `"max-object-size" is limited to an half of "total-max-size" => 524288`},
		{"cache c\n    total-max-size 1\n    process-vary yes\n" + listen, `'process-vary' expects "on" or "off"`},
		{"cache c\n    total-max-size 1\n    max-secondary-entries 0\n" + listen, "'max-secondary-entries' expects a strictly positive number"},
		{"cache c\n    total-max-size 1\n    max-age -1\n" + listen, "'max-age' expects an age parameter in seconds"},
		{"cache c\n    total-max-size 1\n    bogus 1\n" + listen, "bogus"},
		{"cache c\n    total-max-size 1\ncache c\n    total-max-size 1\n" + listen, "Duplicate cache name 'c'"},
		{"cache\n" + listen, "'cache' expects a <name> argument"},
		{"cache other\n    total-max-size 1\n" + listen, "unable to find cache 'c' referenced by 'cache-use'"},
		{"cache c\n    total-max-size 1\n" + listen + "    http-response cache-use c\n", "cache-use"},
	} {
		_, err := Parse("t.cfg", []byte(c.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

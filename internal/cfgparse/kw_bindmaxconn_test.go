package cfgparse

import (
	"strings"
	"testing"
)

// TestBindMaxConn: read as HAProxy's atol reads it ("abc" is 0, the
// frontend's), each address of the line gets it, a negative value is
// HAProxy's error.
func TestBindMaxConn(t *testing.T) {
	src := `frontend f
    bind 127.0.0.1:8080,127.0.0.1:8081 maxconn 7
    bind 127.0.0.1:8082 maxconn abc
    bind 127.0.0.1:8083
`
	cfg, err := Parse("m.cfg", []byte(src), Options{LookupEnv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, b := range cfg.Proxies[0].Binds {
		got = append(got, b.MaxConn)
	}
	if len(got) != 4 || got[0] != 7 || got[1] != 7 || got[2] != 0 || got[3] != 0 {
		t.Errorf("maxconn per socket %v, want [7 7 0 0]", got)
	}
	_, err = Parse("m.cfg", []byte("frontend f\n    bind 127.0.0.1:8080 maxconn -1\n"), Options{LookupEnv: testEnv})
	if err == nil || !strings.Contains(err.Error(), "'maxconn' : invalid value -1, must be >= 0") {
		t.Errorf("negative maxconn: %v", err)
	}
}

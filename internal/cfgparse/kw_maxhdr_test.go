package cfgparse

import (
	"strings"
	"testing"
)

// TestMaxHdrKeyword: tune.http.maxhdr takes 1..32767 once.
func TestMaxHdrKeyword(t *testing.T) {
	cfg, err := parseProcess(t, "    tune.http.maxhdr 10\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.TuneMaxHdr != 10 {
		t.Fatalf("TuneMaxHdr %d, want 10", cfg.Global.TuneMaxHdr)
	}
	for _, v := range []string{"1", "32767"} {
		if _, err := parseProcess(t, "    tune.http.maxhdr "+v+"\n", Options{}); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, bad := range []string{"0", "32768", "-1", "ten", "", "10 11", "10\n    tune.http.maxhdr 11"} {
		_, err := parseProcess(t, "    tune.http.maxhdr "+bad+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), "tune.http.maxhdr") {
			t.Errorf("%q: err %v, want a tune.http.maxhdr error", bad, err)
		}
	}
}

package cfgparse

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary text to the whole parser: it must never panic,
// and a failure must always be a Diagnostics.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.cfg")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("frontend a\n bind \"${X\n"))
	f.Add([]byte("no option\nno\n\"\x00'\\x"))
	f.Fuzz(func(t *testing.T, src []byte) {
		env := func(string) (string, bool) { return "v", true }
		cfg, err := Parse("fuzz.cfg", src, Options{LookupEnv: env})
		if err != nil {
			if _, ok := err.(Diagnostics); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

package cfgparse

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// testEnv is the environment the golden configurations see.
func testEnv(name string) (string, bool) {
	env := map[string]string{"BACKEND_HOST": "gw.mesh.local", "PORT": "8443", "CERTS": "/etc/gatehouse/certs"}
	v, ok := env[name]
	return v, ok
}

// render is what a golden file holds: the model as JSON, or the errors,
// followed by the warnings either way.
func render(cfgText string, err error, warnings []string) string {
	var b strings.Builder
	if err != nil {
		b.WriteString("ERRORS:\n" + err.Error() + "\n")
	} else {
		b.WriteString(cfgText + "\n")
	}
	if len(warnings) > 0 {
		b.WriteString("WARNINGS:\n" + strings.Join(warnings, "\n") + "\n")
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".cfg"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, perr := Parse(f, src, Options{LookupEnv: testEnv})
			var text string
			var warns []string
			if cfg != nil {
				for _, w := range cfg.Warnings {
					warns = append(warns, w.Error())
				}
				model := *cfg
				model.Warnings = nil
				js, err := json.MarshalIndent(model, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				text = string(js)
			}
			got := render(text, perr, warns)
			golden := strings.TrimSuffix(f, ".cfg") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

package process

import (
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// ApplyEnv replays the configuration's setenv, presetenv, resetenv and
// unsetenv on the process environment, in order, so the process sees
// what the configuration saw (a reload parses with it).
func ApplyEnv(ops []config.EnvOp) {
	for _, op := range ops {
		switch op.Op {
		case "setenv":
			os.Setenv(op.Names[0], op.Value)
		case "presetenv":
			if _, ok := os.LookupEnv(op.Names[0]); !ok {
				os.Setenv(op.Names[0], op.Value)
			}
		case "unsetenv":
			for _, n := range op.Names {
				os.Unsetenv(n)
			}
		case "resetenv":
			keep := map[string]bool{}
			for _, n := range op.Names {
				keep[n] = true
			}
			for _, kv := range os.Environ() {
				name, _, _ := strings.Cut(kv, "=")
				if !keep[name] {
					os.Unsetenv(name)
				}
			}
		}
	}
}

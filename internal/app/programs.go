package app

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/program"
)

// graphProgram is a "program" section at run time.
type graphProgram struct {
	cfg    *config.Program
	opts   program.Options
	runner *program.Runner
}

// buildPrograms builds the "program" sections: started with the graph,
// stopped when it retires (a reload starts them again, as HAProxy's
// master does) unless the new graph took the instance over
// (inheritPrograms), and when Gatehouse exits.
func (b *builder) buildPrograms() {
	if len(b.cfg.Programs) == 0 {
		return
	}
	events := logging.NewProcessHandler(os.Stderr, 0)
	events.SetTargets(b.sys)
	log := slog.New(events)
	for _, pc := range b.cfg.Programs {
		o := program.Options{Name: pc.Name, Command: pc.Command, UID: pc.UID, GID: pc.GID,
			Log: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}
		r := program.New(o)
		b.g.programs = append(b.g.programs, &graphProgram{cfg: pc, opts: o, runner: r})
		b.g.starters = append(b.g.starters, r.Start)
		b.g.retirers = append(b.g.retirers, r.Stop)
		b.g.stoppers = append(b.g.stoppers, r.Stop)
	}
}

// inheritPrograms hands the running instance of each program with "no
// option start-on-reload" to the new graph, when it runs the same command.
func inheritPrograms(g, old *Graph) {
	if old == nil {
		return
	}
	for _, np := range g.programs {
		if !np.cfg.NoStartOnReload {
			continue
		}
		for _, op := range old.programs {
			if op.runner.Same(np.opts) && op.runner.PID() != 0 {
				np.runner.Adopt(op.runner)
				break
			}
		}
	}
}

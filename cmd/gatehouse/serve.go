package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/cfgwatch"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/process"
)

// load parses and builds a configuration, printing every diagnostic.
// With zero-warning (or -dW) any warning makes it fail, as in HAProxy;
// -dD shows the .diag messages.
func load(files []string, stderr io.Writer, opt options, ids *idCache) (*app.Graph, bool) {
	popt := ids.options()
	popt.Diagnostic = opt.diag
	popt.LocalPeer = opt.localPeer
	cfg, err := cfgparse.LoadPaths(files, popt)
	// -q or 'quiet': no warning while starting, as HAProxy (errors stay).
	quiet := opt.quiet || cfg != nil && cfg.Global.Process.Quiet
	if cfg != nil && !quiet {
		printWarnings(cfg.Warnings, stderr)
	}
	if err != nil {
		printDiagnostics(err, stderr)
		return nil, false
	}
	if (opt.zeroWarn || cfg.Global.Process.ZeroWarning) && countWarnings(cfg.Warnings) > 0 {
		fmt.Fprintln(stderr, "[ALERT] Some warnings were found and 'zero-warning' is set. Aborting.")
		return nil, false
	}
	parsed := len(cfg.Warnings)
	g, err := app.Build(cfg, buildStamp().Version)
	// Build adds the warnings of what it finds at start (a server whose
	// name does not resolve yet).
	if !quiet {
		printWarnings(cfg.Warnings[parsed:], stderr)
	}
	if err != nil {
		printDiagnostics(err, stderr)
		return nil, false
	}
	for _, w := range g.Warnings {
		if !quiet {
			fmt.Fprintf(stderr, "[WARNING] %s\n", w)
		}
	}
	return g, true
}

// printDiagnostics prints one line per diagnostic, as HAProxy does.
func printDiagnostics(err error, stderr io.Writer) {
	var diags cfgparse.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			fmt.Fprintf(stderr, "[%s] %s\n", d.Severity(), d.Error())
		}
	} else {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "[ALERT] %s\n", line)
		}
	}
	fmt.Fprintln(stderr, "[ALERT] Fatal errors found in configuration.")
}

func printWarnings(ws []config.Diag, stderr io.Writer) {
	for _, w := range ws {
		fmt.Fprintf(stderr, "[%s] %s\n", w.Severity(), w.Error())
	}
}

// runCheck is -c: build everything except the sockets.
func runCheck(files []string, stdout, stderr io.Writer, opt options) int {
	g, ok := load(files, stderr, opt, nil)
	if !ok {
		return 1
	}
	g.Close()
	if !opt.quiet && !g.Cfg.Global.Process.Quiet {
		fmt.Fprintln(stdout, "Configuration file is valid")
	}
	return 0
}

// serve runs until a stop signal; SIGHUP and SIGUSR2 reload. The order is
// HAProxy's: limits, bind (as the starting user), pidfile, then the chroot
// and the privilege drop, then "ready" (sd_notify, -D's parent, -sf/-st).
func serve(files []string, stderr io.Writer, opt options) int {
	// Process events go to stderr in HAProxy's format ("[NOTICE]   (pid) :
	// ...") and to the global log targets of the configuration running.
	events := logging.NewProcessHandler(stderr, 0)
	logger := slog.New(events)
	ids := &idCache{}
	// The content the first load reads: an edit from here on reloads.
	var since cfgwatch.Sum
	if opt.watch {
		since, _ = cfgwatch.Fingerprint(files)
	}
	g, ok := load(files, stderr, opt, ids)
	if !ok {
		return 1
	}
	events.SetTargets(g.SysLog)
	applyGCPolicy(g.Cfg)
	proc := g.Cfg.Global.Process
	// -D or 'daemon'; -db wins, and systemd mode (-Ws) ignores both, as
	// in HAProxy.
	if (opt.daemon || proc.Daemon) && !opt.foreground && !opt.notify && !isDaemonChild() {
		g.Close()
		return daemonize(opt.argv, stderr)
	}
	process.ApplyEnv(proc.Env)
	if msg, err := process.SetLimitsFor(proc, app.MaxSock(g.Cfg)); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		g.Close()
		return 1
	} else if msg != "" {
		fmt.Fprintf(stderr, "[WARNING] %s\n", msg)
	}
	rt := app.NewRuntime(logger)
	if err := rt.Apply(g); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		g.Close()
		return 1
	}
	pidfile := opt.pidfile
	if pidfile == "" {
		pidfile = proc.Pidfile
	}
	if pidfile != "" {
		if err := process.WritePidfile(pidfile, os.Getpid()); err != nil {
			fmt.Fprintf(stderr, "[ALERT] %v\n", err)
			rt.Shutdown()
			return 1
		}
	}
	stopWatch := watchCertificates(g, logger)
	jail := newJail(files, proc, ids)
	if err := process.Drop(proc); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		stopWatch()
		rt.Shutdown()
		return 1
	}
	notifier := process.NewNotifier()
	if opt.notify {
		if err := notifier.Send("READY=1"); err != nil {
			logger.Warn("systemd notification failed", "err", err)
		}
	} else {
		notifier = nil
	}
	signalOld(opt, logger)
	if isDaemonChild() {
		daemonReady()
	}
	if opt.ready != nil {
		opt.ready()
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	changes, stopConfigWatch := watchConfig(opt, jail, since, logger)
	defer stopConfigWatch()
	for {
		select {
		case <-changes:
			logger.Info("The configuration files changed (-watch)", "files", strings.Join(jail.files, " "))
		case sig := <-sigs:
			if sig != syscall.SIGHUP && sig != syscall.SIGUSR2 {
				logger.Info("stopping: finishing in-flight requests", "signal", sig.String())
				notifier.Send("STOPPING=1")
				stopWatch()
				if err := rt.Shutdown(); err != nil {
					logger.Warn("stopped", "err", err)
				}
				return 0
			}
		}
		// A signal or a change: the same reload, in this goroutine only.
		notifier.Reloading()
		if ng := reload(jail, rt, stderr, opt, logger); ng != nil {
			stopWatch()
			stopWatch = watchCertificates(ng, logger)
		}
		notifier.Send("READY=1")
	}
}

// watchConfig is -watch: a change of the -f files' content arrives on
// changes (coalesced: one pending change stands for any number), for the
// serve loop to reload exactly as on SIGHUP. It watches the files where
// the process sees them now, inside a chroot jail if it entered one.
func watchConfig(opt options, j *jail, since cfgwatch.Sum, logger *slog.Logger) (changes <-chan struct{}, stop func()) {
	if !opt.watch {
		return nil, func() {}
	}
	ch := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfgwatch.Watch(ctx, j.paths(), since, cfgwatch.Options{}, func() {
			select {
			case ch <- struct{}{}:
			default: // a reload is already pending; it reads the newest files
			}
		}, func(err error) { logger.Warn("watching the configuration", "err", err) })
	}()
	return ch, func() { cancel(); <-done }
}

// reload loads the files again and swaps the new graph in; on any failure
// the running configuration stays and nil is returned.
func reload(j *jail, rt *app.Runtime, stderr io.Writer, opt options, logger *slog.Logger) *app.Graph {
	logger.Info("Reloading the configuration", "files", strings.Join(j.files, " "))
	ng, ok := load(j.paths(), stderr, opt, j.ids)
	if !ok {
		j.explain(stderr)
		logger.Warn("Loading failure! (reload failed: the previous configuration keeps running)")
		return nil
	}
	if err := j.check(ng.Cfg.Global.Process); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		logger.Warn("Loading failure! (reload failed: the previous configuration keeps running)")
		ng.Close()
		return nil
	}
	if msg, err := process.SetLimitsFor(ng.Cfg.Global.Process, app.MaxSock(ng.Cfg)); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		logger.Warn("Loading failure! (reload failed: the previous configuration keeps running)")
		ng.Close()
		return nil
	} else if msg != "" {
		fmt.Fprintf(stderr, "[WARNING] %s\n", msg)
	}
	if err := rt.Apply(ng); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		j.explain(stderr)
		logger.Warn("Loading failure! (reload failed: the previous configuration keeps running)")
		ng.Close()
		return nil
	}
	process.ApplyEnv(ng.Cfg.Global.Process.Env)
	applyGCPolicy(ng.Cfg)
	if h, ok := logger.Handler().(*logging.ProcessHandler); ok {
		h.SetTargets(ng.SysLog)
	}
	// HAProxy's master says "Loading success." / "Loading failure!".
	logger.Info("Loading success (reload complete).")
	return ng
}

// signalOld is -sf and -st: once this process serves, the old ones finish
// (SIGUSR1) or stop (SIGTERM).
func signalOld(opt options, logger *slog.Logger) {
	for _, pid := range opt.finish {
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			logger.Warn("-sf: cannot signal the old process", "pid", pid, "err", err)
		}
	}
	for _, pid := range opt.terminate {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			logger.Warn("-st: cannot signal the old process", "pid", pid, "err", err)
		}
	}
}

// countWarnings counts the warnings proper: as HAProxy's zero-warning,
// notices and diagnostics (".notice", ".diag", what Gatehouse does in
// place of a keyword) do not count.
func countWarnings(ds []config.Diag) int {
	n := 0
	for _, d := range ds {
		if d.Level == "" || d.Level == "WARNING" {
			n++
		}
	}
	return n
}

// watchCertificates follows the certificate files of g, except in a
// chroot jail: the files were read before entering it and their paths
// mean nothing inside, so rather than failing at every check it says
// once that rotation needs a new process (-sf), as HAProxy's would.
func watchCertificates(g *app.Graph, logger *slog.Logger) (stop func()) {
	if root := g.Cfg.Global.Process.Chroot; root != "" {
		if len(g.Stores) > 0 {
			logger.Info("certificate files are not watched in the chroot jail; start a new process with -sf to take new certificates", "chroot", root)
		}
		return func() {}
	}
	return app.WatchCertificates(g, logger)
}

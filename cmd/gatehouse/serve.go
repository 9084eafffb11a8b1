package main

import (
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
	"github.com/gatehouse/gatehouse/internal/config"
)

// load parses and builds a configuration, printing every diagnostic.
func load(files []string, stderr io.Writer) (*app.Graph, bool) {
	cfg, err := cfgparse.LoadPaths(files, cfgparse.Options{})
	if cfg != nil {
		printWarnings(cfg.Warnings, stderr)
	}
	if err != nil {
		printDiagnostics(err, stderr)
		return nil, false
	}
	g, err := app.Build(cfg, version)
	if err != nil {
		printDiagnostics(err, stderr)
		return nil, false
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
func runCheck(files []string, stdout, stderr io.Writer, quiet bool) int {
	g, ok := load(files, stderr)
	if !ok {
		return 1
	}
	g.Close()
	if !quiet {
		fmt.Fprintln(stdout, "Configuration file is valid")
	}
	return 0
}

// serve runs until SIGTERM/SIGINT; SIGHUP reloads.
func serve(files []string, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	g, ok := load(files, stderr)
	if !ok {
		return 1
	}
	rt := app.NewRuntime(logger)
	if err := rt.Apply(g); err != nil {
		fmt.Fprintf(stderr, "[ALERT] %v\n", err)
		g.Close()
		return 1
	}
	stopWatch := app.WatchCertificates(g, logger)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			logger.Info("reloading configuration", "files", files)
			ng, ok := load(files, stderr)
			if !ok {
				logger.Error("reload failed; the previous configuration keeps running")
				continue
			}
			if err := rt.Apply(ng); err != nil {
				fmt.Fprintf(stderr, "[ALERT] %v\n", err)
				logger.Error("reload failed; the previous configuration keeps running")
				ng.Close()
				continue
			}
			stopWatch()
			stopWatch = app.WatchCertificates(ng, logger)
			logger.Info("reload complete")
			continue
		}
		logger.Info("stopping: finishing in-flight requests", "signal", sig.String())
		stopWatch()
		if err := rt.Shutdown(); err != nil {
			logger.Warn("stopped", "err", err)
		}
		return 0
	}
	return 0
}

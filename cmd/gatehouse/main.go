// Command gatehouse is an edge proxy for service meshes that runs HAProxy
// configurations. Flags follow HAProxy's where they overlap.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// pathList is the repeatable -f flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return runDemo(args[1:], stdout, stderr)
		case "reference":
			return runReference(stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files pathList
	fs.Var(&files, "f", "configuration `FILE|DIR` (repeatable; a directory loads its *.cfg in lexical order)")
	check := fs.Bool("c", false, "check the configuration, print diagnostics and exit (0: valid, 1: invalid)")
	showVersion := fs.Bool("v", false, "print the version and exit")
	quiet := fs.Bool("q", false, "quiet mode: with -c, print nothing on success")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the run to `FILE` when Gatehouse stops; cmd/gatehouse/default.pgo is made from these")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse -f FILE|DIR [-f ...] [-c] [-q] [-v] [-cpuprofile FILE]\n       gatehouse demo      (built-in demo: edge + mesh gateway, no config needed)\n       gatehouse reference (print the configuration keyword reference)\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatehouse: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 1
	}
	if *showVersion {
		fmt.Fprintf(stdout, "Gatehouse version %s\n", version)
		return 0
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "gatehouse: no configuration file given (-f FILE); try 'gatehouse demo'")
		return 1
	}
	if *check {
		if *cpuProfile != "" {
			fmt.Fprintln(stderr, "gatehouse: -cpuprofile profiles a running proxy; it has nothing to profile with -c")
			return 1
		}
		return runCheck(files, stdout, stderr, *quiet)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse: -cpuprofile: %v\n", err)
			return 1
		}
		defer stop(stderr)
	}
	return serve(files, stderr)
}

// startCPUProfile profiles the whole run into path; stop writes the rest
// and closes the file.
func startCPUProfile(path string) (stop func(io.Writer), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return func(stderr io.Writer) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "gatehouse: -cpuprofile: %v\n", err)
		}
	}, nil
}

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
	"runtime/trace"
	"strconv"
	"strings"
)

// pathList is the repeatable -f flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line's run settings beside the files.
type options struct {
	quiet      bool
	daemon     bool     // -D
	foreground bool     // -db: never detach, whatever 'daemon' says
	notify     bool     // -Ws: sd_notify
	zeroWarn   bool     // -dW
	diag       bool     // -dD
	watch      bool     // -watch: reload when the -f files change
	pidfile    string   // -p
	localPeer  string   // -L: the local peer name in 'peers' sections
	finish     []int    // -sf: sent SIGUSR1 once serving
	terminate  []int    // -st: sent SIGTERM once serving
	argv       []string // the arguments, for -D to start the daemon with
	ready      func()   // called once every listener is bound and serving (the demo's instructions)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return runDemo(args[1:], stdout, stderr)
		case "reference":
			return runReference(stdout, stderr)
		case "istio":
			return runIstio(args[1:], stdout, stderr)
		}
	}
	opt := options{argv: args}
	args, err := takePIDLists(args, &opt)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return 1
	}
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files pathList
	fs.Var(&files, "f", "configuration `FILE|DIR` (repeatable; a directory loads its *.cfg in lexical order)")
	check := fs.Bool("c", false, "check the configuration, print diagnostics and exit (0: valid, 1: invalid)")
	showVersion := fs.Bool("v", false, "print the version and the commit it was built from, and exit")
	showBuild := fs.Bool("vv", false, "print the version, commit, build, Go version and features, and exit")
	fs.BoolVar(&opt.quiet, "q", false, "quiet mode (as 'quiet'): no warning or notice while starting; with -c, print nothing on success")
	fs.BoolVar(&opt.daemon, "D", false, "detach into the background once serving (as the 'daemon' keyword)")
	fs.BoolVar(&opt.foreground, "db", false, "stay in the foreground even if the configuration says 'daemon'")
	fs.StringVar(&opt.pidfile, "p", "", "write the process ID to `FILE` (overrides 'pidfile')")
	fs.StringVar(&opt.localPeer, "L", "", "this process's peer `NAME` in the 'peers' sections (overrides 'localpeer'; default: the host name)")
	master := fs.Bool("W", false, "master-worker mode: accepted; Gatehouse reloads in place on SIGUSR2 or SIGHUP")
	fs.BoolVar(&opt.notify, "Ws", false, "as -W, and tell systemd (Type=notify) when ready, reloading and stopping")
	fs.BoolVar(&opt.zeroWarn, "dW", false, "refuse to start (or fail -c) if the configuration has any warning (as 'zero-warning')")
	fs.BoolVar(&opt.diag, "dD", false, "diagnostic mode: print the configuration's .diag messages")
	fs.BoolVar(&opt.watch, "watch", false, "reload when the content of the -f files changes (as SIGHUP: all or nothing), e.g. a Kubernetes ConfigMap update")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the run to `FILE` when Gatehouse stops; cmd/gatehouse/default.pgo is made from these")
	execTrace := fs.String("trace", "", "write a runtime execution trace of the run to `FILE` (go tool trace): where each goroutine waited, ran and was woken")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse -f FILE|DIR [-f ...] [-c] [-q] [-v|-vv] [-D|-db] [-W|-Ws] [-dW] [-dD] [-watch] [-p PIDFILE] [-L NAME] [-sf|-st PID...] [-cpuprofile FILE] [-trace FILE]\n       gatehouse demo      (built-in demo: edge + mesh gateway, no config needed)\n       gatehouse reference (print the configuration keyword reference)\n       gatehouse istio -f FILE [--check POLICY.yaml] (Istio policies for the identity tokens)\n\n  -sf PID...\n    \tonce serving, send SIGUSR1 (finish and leave) to these processes\n  -st PID...\n    \tonce serving, send SIGTERM (stop) to these processes\n")
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
	if *showBuild {
		writeBuildInfo(stdout)
		return 0
	}
	if *showVersion {
		writeVersion(stdout)
		return 0
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "gatehouse: no configuration file given (-f FILE); try 'gatehouse demo'")
		return 1
	}
	if *check {
		if *cpuProfile != "" || *execTrace != "" {
			fmt.Fprintln(stderr, "gatehouse: -cpuprofile and -trace record a running proxy; there is nothing to record with -c")
			return 1
		}
		return runCheck(files, stdout, stderr, opt)
	}
	if (*master || opt.notify) && !opt.quiet {
		fmt.Fprintln(stderr, "[NOTICE] master-worker mode: Gatehouse is one process that reloads in place on SIGUSR2 or SIGHUP; its sockets stay open across reloads")
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse: -cpuprofile: %v\n", err)
			return 1
		}
		defer stop(stderr)
	}
	if *execTrace != "" {
		stop, err := startTrace(*execTrace)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse: -trace: %v\n", err)
			return 1
		}
		defer stop(stderr)
	}
	return serve(files, stderr, opt)
}

// takePIDLists removes "-sf PID..." and "-st PID..." from args: as in
// HAProxy, each takes the PIDs that follow it up to the next argument
// starting with '-', and the list may be empty.
func takePIDLists(args []string, opt *options) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		var dst *[]int
		flagName := args[i]
		switch flagName {
		case "-sf", "--sf":
			dst = &opt.finish
		case "-st", "--st":
			dst = &opt.terminate
		default:
			out = append(out, args[i])
			continue
		}
		for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			pid, err := strconv.Atoi(args[i])
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("%s: '%s' is not a process ID", flagName, args[i])
			}
			*dst = append(*dst, pid)
		}
	}
	return out, nil
}

// startTrace records the run's execution trace into path; stop ends it
// and closes the file.
func startTrace(path string) (stop func(io.Writer), err error) {
	return startRecording(path, "-trace", trace.Start, trace.Stop)
}

// startCPUProfile profiles the whole run into path; stop writes the rest
// and closes the file.
func startCPUProfile(path string) (stop func(io.Writer), err error) {
	return startRecording(path, "-cpuprofile", pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// startRecording runs a runtime recorder (start, end) into a new file at
// path; a recorder that cannot start leaves no file behind.
func startRecording(path, flagName string, start func(io.Writer) error, end func()) (stop func(io.Writer), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return func(stderr io.Writer) {
		end()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "gatehouse: %s: %v\n", flagName, err)
		}
	}, nil
}

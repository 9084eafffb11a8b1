package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
)

// version and commit are stamped by the release build (make release):
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/gatehouse
//
// Left empty, they come from what Go records in the binary: the module's
// version under 'go install ...@v1.2.0', and vcs.revision when 'go build'
// runs in a git clone with VCS stamping on (not in a git worktree, nor
// with GOFLAGS=-buildvcs=false: hence the ldflags).
var version, commit string

// devVersion is the version of a build nothing stamped.
const devVersion = "0.1.0-dev"

// stamp is what -v, -vv and the stats page say about this build.
type stamp struct {
	Version  string
	Commit   string // "unknown" when nothing recorded it
	Time     string // the commit's date, when Go recorded it
	Modified bool   // built from a tree with uncommitted changes
}

// buildStamp resolves this binary's stamp once.
var buildStamp = sync.OnceValue(func() stamp {
	bi, _ := debug.ReadBuildInfo()
	return resolveStamp(version, commit, bi)
})

// resolveStamp prefers the -ldflags values, then Go's build information.
func resolveStamp(ldVersion, ldCommit string, bi *debug.BuildInfo) stamp {
	s := stamp{Version: ldVersion, Commit: ldCommit}
	var rev string
	if bi != nil {
		if v := bi.Main.Version; s.Version == "" && v != "" && v != "(devel)" {
			s.Version = strings.TrimPrefix(v, "v")
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.time":
				s.Time = kv.Value
			case "vcs.modified":
				s.Modified = kv.Value == "true"
			}
		}
	}
	if s.Commit == "" {
		s.Commit = rev
	}
	if s.Commit == "" {
		s.Commit = "unknown"
	}
	// A release build says "-dirty" in its commit itself (make release).
	if strings.HasSuffix(s.Commit, "-dirty") {
		s.Commit, s.Modified = strings.TrimSuffix(s.Commit, "-dirty"), true
	}
	if s.Version == "" {
		s.Version = devVersion
	}
	return s
}

// writeVersion is -v: the version and the commit it was built from.
func writeVersion(w io.Writer) {
	s := buildStamp()
	modified := ""
	if s.Modified {
		modified = ", modified"
	}
	fmt.Fprintf(w, "Gatehouse version %s (commit %s%s)\n", s.Version, s.Commit, modified)
}

// features are what this build can do, in -vv's "+NAME" form, so a bug
// report says which parts the binary has.
var features = []string{"+HTTP2", "+TLS", "+OIDC", "+JWT", "+PROXY_PROTOCOL", "+LINUX_SPLICE",
	"+PROMEX", "+SYSTEMD", "+CHROOT", "+SETUID", "+PRCTL", "+RT_API", "+GO_CRYPTO_TLS", "-OPENSSL", "-LUA", "+QUIC"}

// writeBuildInfo is -vv: version, commit, build settings, Go version,
// platform and features, as HAProxy's -vv is asked for in bug reports.
func writeBuildInfo(w io.Writer) {
	st := buildStamp()
	fmt.Fprintf(w, "Gatehouse version %s\n", st.Version)
	var settings []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if !strings.HasPrefix(s.Key, "vcs") && s.Value != "" {
				settings = append(settings, s.Key+"="+s.Value)
			}
		}
		fmt.Fprintf(w, "Module: %s\n", bi.Main.Path)
	}
	modified := ""
	if st.Modified {
		modified = " (modified)"
	}
	when := st.Time
	if when == "" {
		when = "unknown"
	}
	fmt.Fprintf(w, "Commit: %s%s\n", st.Commit, modified)
	fmt.Fprintf(w, "Commit date: %s\n", when)
	fmt.Fprintf(w, "Built with Go: %s (%s/%s, %s)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.Compiler)
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		fmt.Fprintf(w, "Running on: %s %s %s\n", utsString(u.Sysname[:]), utsString(u.Release[:]), utsString(u.Machine[:]))
	}
	fmt.Fprintf(w, "Build options :\n")
	for _, s := range settings {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "\nFeature list : %s\n", strings.Join(features, " "))
	fmt.Fprintf(w, "\nDefault settings :\n  GOMAXPROCS = %d (nbthread)\n", runtime.GOMAXPROCS(0))
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

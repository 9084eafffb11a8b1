package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// features are what this build can do, in -vv's "+NAME" form, so a bug
// report says which parts the binary has.
var features = []string{"+HTTP2", "+TLS", "+OIDC", "+JWT", "+PROXY_PROTOCOL", "+LINUX_SPLICE",
	"+PROMEX", "+SYSTEMD", "+CHROOT", "+SETUID", "+PRCTL", "+RT_API", "+GO_CRYPTO_TLS", "-OPENSSL", "-LUA", "-QUIC"}

// writeBuildInfo is -vv: version, commit, build settings, Go version,
// platform and features, as HAProxy's -vv is asked for in bug reports.
func writeBuildInfo(w io.Writer) {
	fmt.Fprintf(w, "Gatehouse version %s\n", version)
	commit, when, modified := "unknown", "unknown", ""
	var settings []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			default:
				if s.Value != "" {
					settings = append(settings, s.Key+"="+s.Value)
				}
			}
		}
		fmt.Fprintf(w, "Module: %s\n", bi.Main.Path)
	}
	fmt.Fprintf(w, "Commit: %s%s\n", commit, modified)
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

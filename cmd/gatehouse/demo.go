package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse/gatehouse/internal/demo"
)

// runDemo starts the whole picture with no configuration: an embedded
// OpenID provider, an Istio-like TLS gateway that verifies the edge's
// tokens, and the edge in front of it.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpPort := fs.Int("port", 8080, "edge plain HTTP port (redirects to the TLS port)")
	tlsPort := fs.Int("tls-port", 8443, "edge TLS port")
	statsPort := fs.Int("stats-port", 8404, "stats page port")
	idpPort := fs.Int("idp-port", 0, "embedded OpenID provider port (0: any free port)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	dir, err := os.MkdirTemp("", "gatehouse-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := demo.Start(demo.Options{HTTPPort: *httpPort, TLSPort: *tlsPort, StatsPort: *statsPort, IdPPort: *idpPort, Dir: dir})
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer s.Close()
	// The instructions once the edge serves: a port in use (8080 often
	// is) must not leave a page of URLs that answer nothing above the error.
	served := false
	code := serve([]string{s.ConfigFile}, stderr, options{ready: func() {
		served = true
		fmt.Fprint(stdout, s.Instructions())
	}})
	if !served {
		fmt.Fprintf(stderr, "demo: the edge did not start (the reason is above). If a port is in use, choose others with -port, -tls-port and -stats-port (now %d, %d and %d).\n",
			*httpPort, *tlsPort, *statsPort)
	}
	return code
}

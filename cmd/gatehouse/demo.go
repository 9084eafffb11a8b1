package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/demo"
)

// runDemo starts the whole picture with no configuration: an Istio-like
// TLS gateway on loopback and the edge in front of it.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	edgePort := fs.Int("port", 8080, "edge HTTP port")
	statsPort := fs.Int("stats-port", 8404, "stats page port")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	gw, err := demo.StartGateway("127.0.0.1:0", demo.Host)
	if err != nil {
		fmt.Fprintf(stderr, "demo: cannot start the mesh gateway: %v\n", err)
		return 1
	}
	defer gw.Close()
	dir, err := os.MkdirTemp("", "gatehouse-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "gatehouse.cfg")
	if err := os.WriteFile(cfgPath, []byte(demo.EdgeConfig(*edgePort, *statsPort, gw.Addr())), 0o644); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, `Gatehouse demo
  mesh gateway (Istio-like, TLS, SNI %[1]s only): %[2]s
  edge config: %[3]s

Try:
  curl -s http://127.0.0.1:%[4]d/hello            # through the edge, re-encrypted with SNI+Host %[1]s
  curl -s -X POST -d 'hi mesh' http://127.0.0.1:%[4]d/echo
  curl -si http://127.0.0.1:%[4]d/admin           # denied at the edge (403)
  curl -s http://127.0.0.1:%[4]d/edge-health      # answered by the edge itself
  curl -vk --connect-to other.local:443:%[2]s https://other.local/  # the gateway refuses a wrong SNI
  open http://127.0.0.1:%[5]d/stats               # stats page (health: L7OK/200); ;csv and ;json exports
  curl -s http://127.0.0.1:%[5]d/metrics          # Prometheus, HAProxy's metric names
Access logs follow (HAProxy httplog format). Ctrl-C stops.

`, demo.Host, gw.Addr(), cfgPath, *edgePort, *statsPort)
	return serve([]string{cfgPath}, stderr, options{})
}

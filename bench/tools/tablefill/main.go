// Command tablefill fills a stick table of type ip through a runtime API
// socket: one connection in interactive mode ("prompt"), -n commands
//
//	set table <table> key <ip> data.gpc0 1
//
// with distinct keys 10.0.0.0, 10.0.0.1, ... streamed while the answers are
// read, then "quit". It prints one line:
//
//	commands=N errors=E seconds=S
//
// where errors counts answer lines other than prompts (a refused key, an
// unknown table); it exits 1 when any command failed or the socket closed
// early.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	sock := flag.String("sock", "", "runtime API unix socket")
	table := flag.String("table", "", "table name")
	n := flag.Int("n", 1000000, "distinct keys (at most 2^24)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if *sock == "" || *table == "" || *n <= 0 || *n > 1<<24 {
		fmt.Fprintln(os.Stderr, "tablefill: -sock, -table and 0 < -n <= 2^24 are required")
		os.Exit(2)
	}
	c, err := net.Dial("unix", *sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tablefill:", err)
		os.Exit(1)
	}
	c.SetDeadline(time.Now().Add(*timeout))
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(c, 64<<10)
		w.WriteString("prompt\n")
		for i := 0; i < *n; i++ {
			fmt.Fprintf(w, "set table %s key 10.%d.%d.%d data.gpc0 1\n", *table, i>>16, (i>>8)&255, i&255)
		}
		w.WriteString("quit\n")
		werr <- w.Flush()
	}()
	// The answers: "> " prompts, empty lines, and text only on failure.
	r := bufio.NewReaderSize(c, 64<<10)
	errs := 0
	for {
		line, err := r.ReadString('\n')
		t := strings.TrimSpace(line)
		for strings.HasPrefix(t, ">") {
			t = strings.TrimSpace(t[1:])
		}
		if t != "" {
			if errs < 5 {
				fmt.Fprintf(os.Stderr, "tablefill: answer: %q\n", t)
			}
			errs++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tablefill: reading answers:", err)
			os.Exit(1)
		}
	}
	if err := <-werr; err != nil {
		fmt.Fprintln(os.Stderr, "tablefill: sending commands:", err)
		os.Exit(1)
	}
	fmt.Printf("commands=%d errors=%d seconds=%.1f\n", *n, errs, time.Since(start).Seconds())
	if errs > 0 {
		os.Exit(1)
	}
}

// Command ratioplot draws bench/run.sh's throughput ratios as an SVG: one
// row per scenario, a dot per round (Gatehouse / HAProxy in that round), a
// bar at the median the report quotes, and a mark at the scenario's target.
// The table gives the medians; the picture shows how far the rounds spread
// around them, which on a noisy VM is what decides a borderline target.
//
//	ratioplot -o report.svg plain:1.0:results/plain.gatehouse.ratio large:0.95:... h2:-:...
//
// Each argument is NAME:TARGET:FILE, FILE holding one ratio per line and
// TARGET a minimum ratio or "-" for none.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

type row struct {
	name   string
	target float64 // NaN: no target
	rounds []float64
}

func (r row) median() float64 {
	v := slices.Clone(r.rounds)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func main() {
	out := flag.String("o", "", "SVG `FILE` to write (default: stdout)")
	flag.Parse()
	rows, err := parseArgs(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratioplot:", err)
		os.Exit(2)
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ratioplot:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	render(bw, rows)
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "ratioplot:", err)
		os.Exit(1)
	}
}

func parseArgs(args []string) ([]row, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no NAME:TARGET:FILE argument")
	}
	var rows []row
	for _, a := range args {
		name, rest, ok1 := strings.Cut(a, ":")
		tgt, file, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || name == "" || file == "" {
			return nil, fmt.Errorf("%q: want NAME:TARGET:FILE", a)
		}
		r := row{name: name, target: math.NaN()}
		if tgt != "-" {
			t, err := strconv.ParseFloat(tgt, 64)
			if err != nil || t <= 0 {
				return nil, fmt.Errorf("%q: target %q is not a positive number or -", a, tgt)
			}
			r.target = t
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for i, l := range strings.Fields(string(b)) {
			v, err := strconv.ParseFloat(l, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: value %d (%q) is not a ratio", file, i+1, l)
			}
			r.rounds = append(r.rounds, v)
		}
		if len(r.rounds) == 0 {
			return nil, fmt.Errorf("%s: no rounds", file)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Layout, in SVG user units.
const (
	labelW = 130 // scenario names
	plotW  = 520
	valueW = 70 // median figures
	rowH   = 28
	top    = 40
	bottom = 34
)

// scale covers every round, every target and parity, padded and rounded
// out to a tenth, so the axis ticks fall on round numbers.
func scale(rows []row) (lo, hi float64) {
	lo, hi = 1, 1
	for _, r := range rows {
		for _, v := range r.rounds {
			lo, hi = min(lo, v), max(hi, v)
		}
		if !math.IsNaN(r.target) {
			lo, hi = min(lo, r.target), max(hi, r.target)
		}
	}
	return math.Floor(lo*10-0.5) / 10, math.Ceil(hi*10+0.5) / 10
}

func render(w io.Writer, rows []row) {
	lo, hi := scale(rows)
	x := func(v float64) float64 { return labelW + (v-lo)/(hi-lo)*plotW }
	width := labelW + plotW + valueW
	height := top + len(rows)*rowH + bottom
	plotBottom := float64(top + len(rows)*rowH)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="%d" y="18" font-size="13">Gatehouse / HAProxy throughput: rounds (dots), median (bar: blue met, red missed), target (orange)</text>`+"\n", labelW)
	// Grid and axis: a line every tenth, parity drawn darker.
	for t := math.Round(lo * 10); t <= math.Round(hi*10); t++ {
		v := t / 10
		stroke, wd := "#ddd", 1
		if t == 10 {
			stroke, wd = "#666", 1
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%d"/>`+"\n", x(v), top-6, x(v), plotBottom, stroke, wd)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%.1f</text>`+"\n", x(v), plotBottom+16, v)
	}
	for i, r := range rows {
		cy := float64(top + i*rowH + rowH/2)
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", labelW-10, cy+4, html.EscapeString(r.name))
		if !math.IsNaN(r.target) {
			fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e66100" stroke-width="2" stroke-dasharray="3 2"/>`+"\n", x(r.target), cy-10, x(r.target), cy+10)
		}
		for _, v := range r.rounds {
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="#888" fill-opacity="0.7"/>`+"\n", x(v), cy)
		}
		m := r.median()
		met := m >= r.target
		color := "#1a5fb4"
		switch {
		case math.IsNaN(r.target):
			color = "#333"
		case !met:
			color = "#c00"
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", x(m), cy-8, x(m), cy+8, color)
		fmt.Fprintf(w, `<text x="%d" y="%.1f" fill="%s">%.2f</text>`+"\n", labelW+plotW+10, cy+4, color, m)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#444">ratio (higher is better for Gatehouse)</text>`+"\n", labelW, height-4)
	fmt.Fprintln(w, `</svg>`)
}

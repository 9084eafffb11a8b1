package main

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRounds(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.ratio")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseArgs(t *testing.T) {
	good := writeRounds(t, "0.95\n1.02\n0.99\n")
	rows, err := parseArgs([]string{"plain:1.0:" + good, "h2:-:" + good})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].target != 1.0 || !math.IsNaN(rows[1].target) || len(rows[0].rounds) != 3 {
		t.Fatalf("rows = %+v", rows)
	}
	if m := rows[0].median(); m != 0.99 {
		t.Fatalf("median = %v, want 0.99", m)
	}
	if m := (row{rounds: []float64{1, 2, 4, 3}}).median(); m != 2.5 {
		t.Fatalf("even median = %v, want 2.5", m)
	}

	bad := map[string][]string{
		"no args":        nil,
		"no file":        {"plain:1.0"},
		"empty name":     {":1.0:" + good},
		"bad target":     {"plain:fast:" + good},
		"zero target":    {"plain:0:" + good},
		"missing file":   {"plain:1.0:/nonexistent/r.ratio"},
		"not a number":   {"plain:1.0:" + writeRounds(t, "0.9\nabc\n")},
		"negative":       {"plain:1.0:" + writeRounds(t, "-1\n")},
		"no rounds":      {"plain:1.0:" + writeRounds(t, "\n")},
		"infinite":       {"plain:1.0:" + writeRounds(t, "+Inf\n")},
		"one bad of two": {"plain:1.0:" + good, "x:1:/nonexistent"},
	}
	for name, args := range bad {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%s: %q accepted", name, args)
		}
	}
}

// TestRender: the SVG is well-formed XML and draws a dot per round, a
// target mark per scenario that has one, and the median figure the report
// quotes, red when the target is missed.
func TestRender(t *testing.T) {
	rows := []row{
		{name: "plain", target: 1.0, rounds: []float64{0.83, 0.95, 1.14, 0.97, 0.90}},
		{name: "h2c <cleartext>", target: math.NaN(), rounds: []float64{0.74, 0.78}},
	}
	var b strings.Builder
	render(&b, rows)
	svg := b.String()

	d := xml.NewDecoder(strings.NewReader(svg))
	counts := map[string]int{}
	var texts []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			counts[tok.Name.Local]++
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if counts["circle"] != 7 {
		t.Errorf("%d dots, want 7 (one per round)", counts["circle"])
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"plain", "h2c <cleartext>", "0.95", "0.76"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q in %q", want, all)
		}
	}
	if !strings.Contains(svg, `fill="#c00">0.95</text>`) {
		t.Error("plain's median 0.95 misses its 1.0 target but is not drawn red")
	}
	if strings.Count(svg, `stroke="#e66100"`) != 1 {
		t.Error("want exactly one target mark (h2c has none)")
	}
	lo, hi := scale(rows)
	if lo > 0.74 || hi < 1.14 || lo != math.Round(lo*10)/10 || hi != math.Round(hi*10)/10 {
		t.Errorf("scale [%v, %v] does not cover the rounds on tenths", lo, hi)
	}
}

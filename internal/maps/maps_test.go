package maps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countIndex records what the Ref tells it and refuses keys starting with '!'.
type countIndex struct{ live map[uint64]string }

func (c *countIndex) Check(key, value string) error {
	if strings.HasPrefix(key, "!") || strings.HasPrefix(value, "!") {
		return errors.New("refused")
	}
	return nil
}
func (c *countIndex) Insert(e *Entry) { c.live[e.ID()] = e.Key + "=" + e.Value }
func (c *countIndex) Remove(e *Entry) { delete(c.live, e.ID()) }
func (c *countIndex) Clear()          { clear(c.live) }

func load(t testing.TB, body string, twoCol bool) (*Registry, *Ref, *countIndex) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	r, err := g.Load(f, twoCol, "map", "c.cfg", 3)
	if err != nil {
		t.Fatal(err)
	}
	ix := &countIndex{live: map[uint64]string{}}
	if _, err := r.Index("k", func() Index { return ix }); err != nil {
		t.Fatal(err)
	}
	return g, r, ix
}

func dump(r *Ref) string {
	var b strings.Builder
	for _, e := range r.Entries() {
		fmt.Fprintf(&b, "%d:%s=%s ", e.ID, e.Key, e.Value)
	}
	return b.String()
}

// TestRefFileFormat: HAProxy's pat_ref_read_from_file(_smp) rules.
func TestRefFileFormat(t *testing.T) {
	_, r, _ := load(t, "#c\n  a   1 2  \n\t\n b\r\n #x y\nc\t3\n", true)
	if got := dump(r); got != "1:a=1 2 2:b= 3:#x=y 4:c=3 " {
		t.Errorf("two columns: %q", got)
	}
	_, r, _ = load(t, "#c\n  a 1  \n\nb\n", false)
	if got := dump(r); got != "1:a 1  = 2:b= " {
		t.Errorf("one column: %q", got)
	}
}

func TestRefChanges(t *testing.T) {
	g, r, ix := load(t, "a 1\nb 2\na 3\n", true)
	if err := r.SetFirst("a", "9"); err != nil || dump(r) != "1:a=9 2:b=2 3:a=3 " {
		t.Fatalf("SetFirst: %v %q", err, dump(r))
	}
	if err := r.Set("a", 0, false, "7"); err != nil || dump(r) != "1:a=7 2:b=2 3:a=7 " {
		t.Fatalf("Set: %v %q", err, dump(r))
	}
	if err := r.Set("", 2, true, "5"); err != nil || dump(r) != "1:a=7 2:b=5 3:a=7 " {
		t.Fatalf("Set by id: %v %q", err, dump(r))
	}
	if err := r.Set("a", 0, false, "!bad"); err == nil || dump(r) != "1:a=7 2:b=5 3:a=7 " {
		t.Fatalf("a refused value changed the file: %v %q", err, dump(r))
	}
	if err := r.Add("!k", "v"); err == nil || r.Len() != 3 {
		t.Fatalf("a refused key was added: %v", err)
	}
	if err := r.Delete("a", 0, false); err != nil || dump(r) != "2:b=5 " {
		t.Fatalf("Delete: %v %q", err, dump(r))
	}
	if err := r.Delete("a", 0, false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	r.AddMissing("b")
	r.AddMissing("c")
	if dump(r) != "2:b=5 4:c= " || len(ix.live) != 2 {
		t.Fatalf("AddMissing: %q, index %v", dump(r), ix.live)
	}
	if err := r.Delete("", 2, true); err != nil || dump(r) != "4:c= " {
		t.Fatalf("Delete by id: %v %q", err, dump(r))
	}
	r.Clear()
	if r.Len() != 0 || len(ix.live) != 0 || dump(r) != "" {
		t.Fatal("Clear")
	}
	r.Add("d", "1")
	if dump(r) != "5:d=1 " || ix.live[5] != "d=1" || r.Count() != 1 {
		t.Fatalf("after Clear: %q %v", dump(r), ix.live)
	}
	if g.Lookup("#0") != r || g.Lookup(r.File) != r || g.Lookup("#1") != nil {
		t.Error("Lookup by id and name")
	}
}

func TestRegistrySharesAndChecksColumns(t *testing.T) {
	g, r, _ := load(t, "a 1\n", true)
	r2, err := g.Load(r.File, true, "map", "c.cfg", 9)
	if err != nil || r2 != r {
		t.Fatalf("same file, same Ref: %v", err)
	}
	if !strings.HasSuffix(r.Display(), "used by map at file 'c.cfg' line 3, by map at file 'c.cfg' line 9") {
		t.Errorf("display: %q", r.Display())
	}
	if _, err := g.Load(r.File, false, "acl", "c.cfg", 10); err == nil {
		t.Error("a map file loaded as one column")
	}
	if _, err := g.Load(filepath.Join(t.TempDir(), "missing"), true, "map", "c.cfg", 1); err == nil || !strings.Contains(err.Error(), "failed to open pattern file") {
		t.Errorf("missing file: %v", err)
	}
}

// BenchmarkSetFirst10k: a set-map rule on a 10k-entry map costs the same
// as on a small one (no scan of the entries).
func BenchmarkSetFirst10k(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "k%d v\n", i)
	}
	_, r, _ := load(b, sb.String(), true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.SetFirst("k9999", "w")
	}
}

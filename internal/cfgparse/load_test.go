package cfgparse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPathsDirectoryOrderAndFreshSections(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		// Lexical order: 10 before 20; "notes.txt" is not a configuration.
		"10-defaults.cfg": "defaults\n  mode http\n  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\n",
		"20-proxies.cfg":  "frontend fe\n  bind :80\n  default_backend be\nbackend be\n  server s 10.0.0.1:80\n",
		"notes.txt":       "this is not parsed\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := LoadPaths([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Proxies) != 2 || cfg.Proxies[0].Timeouts.Client == 0 {
		t.Fatalf("defaults of the first file not applied to the second: %+v", cfg.Proxies)
	}
	if len(cfg.Warnings) != 0 {
		t.Fatalf("unexpected warnings: %v", cfg.Warnings)
	}

	// A file starts outside any section: a keyword at its top is an error
	// even though the previous file ended inside a backend.
	extra := filepath.Join(dir, "30-orphan.cfg")
	if err := os.WriteFile(extra, []byte("  server t 10.0.0.2:80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadPaths([]string{dir}, Options{})
	want := "parsing [" + extra + ":1] : unknown keyword 'server' out of section."
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestLoadPathsMissing(t *testing.T) {
	_, err := LoadPaths([]string{"/nonexistent/gatehouse.cfg"}, Options{})
	var d Diagnostics
	if !errors.As(err, &d) || len(d) != 1 || !strings.Contains(err.Error(), "/nonexistent/gatehouse.cfg") {
		t.Fatalf("error = %v", err)
	}
}

func TestParseSourcesCollectsAcrossFiles(t *testing.T) {
	_, err := ParseSources([]Source{
		{File: "a.cfg", Data: []byte("global\n  maxconn x\n")},
		{File: "b.cfg", Data: []byte("frontend f\n  mode htp\n  bind :80\n  timeout client 5s\n")},
	}, Options{})
	want := "parsing [a.cfg:2] : 'maxconn' expects an integer argument, got 'x'\n" +
		"parsing [b.cfg:2] : unknown proxy mode 'htp'."
	if err == nil || err.Error() != want {
		t.Fatalf("error =\n%v\nwant\n%s", err, want)
	}
	if len(err.(Diagnostics).Errors()) != 2 {
		t.Fatalf("Errors() = %v", err.(Diagnostics).Errors())
	}
}

func TestWriteReferenceCoversTables(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReference(&buf); err != nil {
		t.Fatal(err)
	}
	ref := buf.String()
	var names []string
	names = append(names, keywordNames(globalKeywords())...)
	names = append(names, keywordNames(proxyKeywords())...)
	names = append(names, "option httpchk", "timeout client", "stats uri", "http-check expect", "tcp-request content")
	names = append(names, bindOptionNames(bindOptions())...)
	names = append(names, serverOptionNames(serverOptions())...)
	for _, a := range httpActions() {
		names = append(names, a.name)
	}
	for _, n := range names {
		if !strings.Contains(ref, "| "+n+" |") {
			t.Errorf("reference lacks a row for %q", n)
		}
	}
}

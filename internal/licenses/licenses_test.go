package licenses

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/licenses.md and NOTICE")

// TestSPDX: each licence is named by its own text, several in one file
// are all named, and an unknown text names none.
func TestSPDX(t *testing.T) {
	apache, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	bsd3 := "Redistribution and use in source and binary forms, with or without modification, are permitted ... Neither the name of Google Inc. nor the names of its contributors may be used to endorse or promote products"
	bsd2 := "Redistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met"
	mit := "Permission is hereby granted, free of charge, to any person obtaining a copy"
	isc := "Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee"
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"apache", string(apache), []string{"Apache-2.0"}},
		{"bsd3", bsd3, []string{"BSD-3-Clause"}},
		{"bsd2 across lines", bsd2, []string{"BSD-2-Clause"}},
		{"mit", mit, []string{"MIT"}},
		{"isc", isc, []string{"ISC"}},
		{"mpl", "Mozilla Public License Version 2.0\n==================================", []string{"MPL-2.0"}},
		{"three in one file", bsd3 + "\n" + string(apache) + "\n" + mit, []string{"BSD-3-Clause", "Apache-2.0", "MIT"}},
		// A mention of Apache's licence is not its text.
		{"mention", "Licensed under the Apache License, Version 2.0 (the \"License\");", nil},
		{"unknown", "All rights reserved. Do not copy.", nil},
	} {
		if got := spdx(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestClassifyRefusesUnknown: a module whose licence is not recognised, or
// that has none, stops the list.
func TestClassifyRefusesUnknown(t *testing.T) {
	dir := t.TempDir()
	if _, _, _, err := Classify(dir); err == nil || !strings.Contains(err.Error(), "no licence file") {
		t.Errorf("no licence: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("Proprietary. All rights reserved."), 0o644)
	if _, _, _, err := Classify(dir); err == nil || !strings.Contains(err.Error(), "does not recognise") {
		t.Errorf("unknown licence: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("Permission is hereby granted, free of charge, to any person"), 0o644)
	os.WriteFile(filepath.Join(dir, "NOTICE"), []byte("Example\nCopyright 2026\n"), 0o644)
	ids, files, notice, err := Classify(dir)
	if err != nil || !reflect.DeepEqual(ids, []string{"MIT"}) || !reflect.DeepEqual(files, []string{"LICENSE"}) || notice != "Example\nCopyright 2026" {
		t.Errorf("MIT with a NOTICE: %v %v %q %v", ids, files, notice, err)
	}
}

// TestListIsCurrent: docs/licenses.md and NOTICE are what the modules of
// go.mod say today. After adding or updating a dependency:
// go test ./internal/licenses -update
func TestListIsCurrent(t *testing.T) {
	mods, err := Collect("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 || !mods[0].Linked {
		t.Fatalf("no module linked into the binary: %+v", mods)
	}
	files := map[string]string{
		"../../docs/licenses.md": Markdown(mods, runtime.Version()),
		"../../NOTICE":           Notice(mods),
	}
	for path, want := range files {
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s is stale: run `go test ./internal/licenses -update`", filepath.Base(path))
		}
	}
}

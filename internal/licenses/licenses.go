// Package licenses lists the licences of the modules Gatehouse is built
// from, read from their licence files in the module cache. It generates
// docs/licenses.md and the dependency part of NOTICE; its test fails when
// they are stale or when a licence is not one it recognises, so a new
// dependency is never shipped with an unread licence.
package licenses

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Module is one dependency and what its licence files say.
type Module struct {
	Path, Version string
	Linked        bool     // compiled into the gatehouse binary
	Licenses      []string // SPDX identifiers, in the order found
	Files         []string // the licence files, relative to the module
	Notice        string   // the module's NOTICE file (Apache-2.0 §4(d))
}

// spdx recognises a licence by phrases only its text has. A file can hold
// several (klauspost/compress's has BSD-3-Clause, Apache-2.0 and MIT).
func spdx(text string) []string {
	t := strings.Join(strings.Fields(text), " ")
	var out []string
	if strings.Contains(t, "Redistribution and use in source and binary forms") {
		if strings.Contains(t, "endorse or promote") {
			out = append(out, "BSD-3-Clause")
		} else {
			out = append(out, "BSD-2-Clause")
		}
	}
	if strings.Contains(t, "Apache License") && strings.Contains(t, "Version 2.0") &&
		strings.Contains(t, "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION") {
		out = append(out, "Apache-2.0")
	}
	if strings.Contains(t, "Permission is hereby granted, free of charge") {
		out = append(out, "MIT")
	}
	if strings.Contains(t, "Permission to use, copy, modify, and/or distribute this software for any purpose") ||
		strings.Contains(t, "Permission to use, copy, modify, and distribute this software for any purpose") {
		out = append(out, "ISC")
	}
	if strings.Contains(t, "Mozilla Public License Version 2.0") {
		out = append(out, "MPL-2.0")
	}
	return out
}

// Classify reads a module directory's licence files. A module without one,
// or with one it cannot name, is an error: someone must read it.
func Classify(dir string) (licenses, files []string, notice string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, "", err
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := strings.ToUpper(e.Name())
		if e.IsDir() {
			continue
		}
		if strings.HasPrefix(name, "NOTICE") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, nil, "", err
			}
			notice = strings.TrimSpace(string(b))
			continue
		}
		if !strings.HasPrefix(name, "LICENSE") && !strings.HasPrefix(name, "LICENCE") && !strings.HasPrefix(name, "COPYING") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, "", err
		}
		ids := spdx(string(b))
		if len(ids) == 0 {
			return nil, nil, "", fmt.Errorf("%s: a licence this list does not recognise; read it and add it to licenses.spdx", filepath.Join(dir, e.Name()))
		}
		files = append(files, e.Name())
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				licenses = append(licenses, id)
			}
		}
	}
	if len(files) == 0 {
		return nil, nil, "", fmt.Errorf("%s: no licence file", dir)
	}
	return licenses, files, notice, nil
}

// goCmd runs the go command in the module root and returns its output.
func goCmd(root string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// Collect lists the modules of root's go.mod (direct and indirect) and
// every module linked into ./cmd/gatehouse, with their licences.
func Collect(root string) ([]Module, error) {
	out, err := goCmd(root, "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}", "./cmd/gatehouse")
	if err != nil {
		return nil, err
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		linked[p] = true
	}
	out, err = goCmd(root, "mod", "edit", "-json")
	if err != nil {
		return nil, err
	}
	var gomod struct {
		Require []struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &gomod); err != nil {
		return nil, err
	}
	var mods []Module
	for _, r := range gomod.Require {
		mods = append(mods, Module{Path: r.Path, Version: r.Version, Linked: linked[r.Path]})
		delete(linked, r.Path)
	}
	for p := range linked {
		return nil, fmt.Errorf("%s is linked into the binary but not in go.mod (go mod tidy)", p)
	}
	for i := range mods {
		m := &mods[i]
		// Its directory in the module cache; a no-op once downloaded.
		out, err := goCmd(root, "mod", "download", "-json", m.Path+"@"+m.Version)
		if err != nil {
			return nil, err
		}
		var dl struct{ Dir, Error string }
		if err := json.Unmarshal(out, &dl); err != nil {
			return nil, err
		}
		if dl.Error != "" || dl.Dir == "" {
			return nil, fmt.Errorf("%s@%s: %s", m.Path, m.Version, dl.Error)
		}
		if m.Licenses, m.Files, m.Notice, err = Classify(dl.Dir); err != nil {
			return nil, err
		}
	}
	sort.Slice(mods, func(i, j int) bool {
		if mods[i].Linked != mods[j].Linked {
			return mods[i].Linked
		}
		return mods[i].Path < mods[j].Path
	})
	return mods, nil
}

// Markdown is docs/licenses.md.
func Markdown(mods []Module, goVersion string) string {
	var b strings.Builder
	b.WriteString(`# Licences of Gatehouse's dependencies

Gatehouse is licensed under the Apache License 2.0 ([LICENSE](../LICENSE)).
This list is generated from go.mod and the licence files in the module cache
(` + "`go test ./internal/licenses -update`" + ` rewrites it and NOTICE; the test fails
when either is stale or a licence is not recognised).

## Linked into the gatehouse binary (and the image)

| module | version | licence | files |
|---|---|---|---|
`)
	fmt.Fprintf(&b, "| Go standard library and runtime | %s | BSD-3-Clause | LICENSE, PATENTS |\n", goVersion)
	row := func(m Module) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.Path, m.Version, strings.Join(m.Licenses, " AND "), strings.Join(m.Files, ", "))
	}
	for _, m := range mods {
		if m.Linked {
			row(m)
		}
	}
	b.WriteString(`
## In go.mod for the tests only (not distributed)

| module | version | licence | files |
|---|---|---|---|
`)
	for _, m := range mods {
		if !m.Linked {
			row(m)
		}
	}
	b.WriteString(`
The Helm test tool has a module of its own (tools/helm/go.mod); it is run by
the tests and never distributed.
`)
	return b.String()
}

// Notice is the NOTICE file: Gatehouse's own notice, then the NOTICE texts
// of the linked modules, which Apache-2.0 §4(d) asks a distribution to carry.
func Notice(mods []Module) string {
	var b strings.Builder
	b.WriteString(`Gatehouse
Copyright 2026 The Gatehouse Authors

This product is licensed under the Apache License, Version 2.0 (LICENSE).
It includes software from the modules listed, with their licences, in
docs/licenses.md. Their NOTICE files follow.
`)
	for _, m := range mods {
		if m.Linked && m.Notice != "" {
			fmt.Fprintf(&b, "\n---- %s %s ----\n%s\n", m.Path, m.Version, m.Notice)
		}
	}
	return b.String()
}

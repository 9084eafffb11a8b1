// Package serverstate reads HAProxy's server-state file: the output of
// the runtime API's "show servers state", saved before a restart or a
// reload so the new process starts its servers where the old one left
// them (load-server-state-from-file). Only version 1 exists.
package serverstate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Line is one server's saved state, with HAProxy's field names and codes.
type Line struct {
	BackendID   int
	Backend     string
	ServerID    int
	Server      string
	Addr        string // "-" when unknown
	OpState     int    // 0 stopped, 1 starting, 2 running, 3 stopping
	AdminState  int    // SRV_ADMF_* bits
	UWeight     int
	IWeight     int
	SinceChange int64 // seconds since the last state change
	CheckStatus int
	CheckResult int
	CheckHealth int
	CheckState  int
	AgentState  int
	BkForcedID  bool
	SrvForcedID bool
	FQDN        string // "-" when none
	Port        int    // -1 when absent
}

// HAProxy's SRV_ADMF_* bits kept in the file.
const (
	AdmForcedMaint = 0x01
	AdmConfigMaint = 0x04
	AdmForcedDrain = 0x08
	// Inherited or runtime-only bits that a reader drops, as HAProxy does.
	admInheritedMaint = 0x02
	admInheritedDrain = 0x10
	admResolveMaint   = 0x20
	admFQDNChanged    = 0x40
)

// Operational states (SRV_ST_*).
const (
	OpStopped = iota
	OpStarting
	OpRunning
	OpStopping
)

// File is a parsed state file: lines by backend and server name.
type File struct {
	lines map[string]map[string]*Line
}

// Lookup returns the line saved for backend/server, or nil.
func (f *File) Lookup(backend, server string) *Line {
	if f == nil {
		return nil
	}
	return f.lines[backend][server]
}

// Read parses the file at path. A file that is missing or unreadable, or
// whose version is not 1, is an error; bad lines are skipped with a
// warning each, as HAProxy skips them.
func Read(path string) (*File, []string, error) {
	fd, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, fmt.Errorf("Can't open server state file '%s': %v", path, err)
	}
	defer fd.Close()
	return Parse(fd, path)
}

// minFields and maxFields bound a version 1 line: the 20 fields since
// HAProxy 1.8 (up to srvrecord), then srv_use_ssl, the check and agent
// ports and addresses that 2.2+ add.
const minFields, maxFields = 20, 25

// Parse reads a state file; name is used in messages.
func Parse(r io.Reader, name string) (*File, []string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if !sc.Scan() {
		return nil, nil, fmt.Errorf("Can't get version of the server state file '%s'", name)
	}
	if v := strings.TrimSpace(sc.Text()); v != "1" {
		return nil, nil, fmt.Errorf("Can't get version of the server state file '%s' (unsupported version '%s')", name, v)
	}
	f := &File{lines: map[string]map[string]*Line{}}
	var warns []string
	for n := 2; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		l, err := parseLine(strings.Fields(text))
		if err != nil {
			warns = append(warns, fmt.Sprintf("server state file '%s' line %d: %v; line ignored", name, n, err))
			continue
		}
		if f.lines[l.Backend] == nil {
			f.lines[l.Backend] = map[string]*Line{}
		}
		f.lines[l.Backend][l.Server] = l
	}
	if err := sc.Err(); err != nil {
		return nil, warns, fmt.Errorf("server state file '%s': %v", name, err)
	}
	return f, warns, nil
}

func parseLine(f []string) (*Line, error) {
	if len(f) < minFields || len(f) > maxFields {
		return nil, fmt.Errorf("%d fields, want %d to %d", len(f), minFields, maxFields)
	}
	l := &Line{Backend: f[1], Server: f[3], Addr: f[4], FQDN: f[17], Port: -1}
	ints := []struct {
		dst    *int
		i      int
		lo, hi int
	}{
		{&l.BackendID, 0, 0, 1 << 30}, {&l.ServerID, 2, 0, 1 << 30},
		{&l.OpState, 5, 0, 3}, {&l.AdminState, 6, 0, 0xff},
		{&l.UWeight, 7, 0, 256}, {&l.IWeight, 8, 0, 256},
		{&l.CheckStatus, 10, 0, 1 << 10}, {&l.CheckResult, 11, 0, 4},
		{&l.CheckHealth, 12, -1 << 20, 1 << 20}, {&l.CheckState, 13, 0, 0xff}, {&l.AgentState, 14, 0, 0xff},
	}
	names := []string{"be_id", "", "srv_id", "", "", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight",
		"", "srv_check_status", "srv_check_result", "srv_check_health", "srv_check_state", "srv_agent_state"}
	for _, it := range ints {
		v, err := strconv.Atoi(f[it.i])
		if err != nil || v < it.lo || v > it.hi {
			return nil, fmt.Errorf("invalid %s value '%s'", names[it.i], f[it.i])
		}
		*it.dst = v
	}
	since, err := strconv.ParseInt(f[9], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid srv_last_time_change value '%s'", f[9])
	}
	l.SinceChange = since
	for i, dst := range map[int]*bool{15: &l.BkForcedID, 16: &l.SrvForcedID} {
		switch f[i] {
		case "0":
		case "1":
			*dst = true
		default:
			return nil, fmt.Errorf("invalid forced id value '%s'", f[i])
		}
	}
	// Runtime-only and inherited bits are recomputed, never restored.
	l.AdminState &^= admInheritedMaint | admInheritedDrain | admResolveMaint | admFQDNChanged
	switch l.AdminState {
	case 0, AdmForcedMaint, AdmConfigMaint, AdmConfigMaint | AdmForcedMaint, AdmConfigMaint | AdmForcedDrain, AdmForcedDrain:
	default:
		return nil, fmt.Errorf("invalid srv_admin_state value '%s'", f[6])
	}
	if p, err := strconv.Atoi(f[18]); err == nil && p >= 0 && p <= 65535 {
		l.Port = p
	} else if f[18] != "-" {
		return nil, fmt.Errorf("invalid srv_port value '%s'", f[18])
	}
	return l, nil
}

package serverstate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// haproxyDump is what HAProxy 2.6 prints for "show servers state" after
// "set server be/s1 weight 5" and "set server be/s2 state drain", with a
// server given by name (s2) and a disabled one (s3).
const haproxyDump = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be 1 s1 127.0.0.1 2 0 5 10 3 1 0 2 0 0 0 0 - 1 - 0 0 - - 0
3 be 2 s2 127.0.0.1 0 8 1 1 1 8 2 0 6 0 0 0 localhost 2 - 0 0 - - 0
3 be 3 s3 127.0.0.1 0 5 1 1 3 1 0 0 8 0 0 0 - 3 - 0 0 - - 0
`

func TestParseHAProxyDump(t *testing.T) {
	f, warns, err := Parse(strings.NewReader(haproxyDump), "state")
	if err != nil || len(warns) != 0 {
		t.Fatalf("%v %v", err, warns)
	}
	s1, s2, s3 := f.Lookup("be", "s1"), f.Lookup("be", "s2"), f.Lookup("be", "s3")
	if s1 == nil || s2 == nil || s3 == nil || f.Lookup("be", "s4") != nil || f.Lookup("other", "s1") != nil {
		t.Fatalf("lookups: %v %v %v", s1, s2, s3)
	}
	if s1.BackendID != 3 || s1.ServerID != 1 || s1.OpState != OpRunning || s1.UWeight != 5 || s1.IWeight != 10 || s1.SinceChange != 3 || s1.Port != 1 || s1.Addr != "127.0.0.1" {
		t.Errorf("s1: %+v", s1)
	}
	if s2.AdminState != AdmForcedDrain || s2.FQDN != "localhost" || s2.OpState != OpStopped || s2.Port != 2 {
		t.Errorf("s2: %+v", s2)
	}
	if s3.AdminState != AdmConfigMaint|AdmForcedMaint {
		t.Errorf("s3: %+v", s3)
	}
}

// TestParseRefuses: a file that is not version 1 is refused, a bad line
// is skipped with a warning naming it, and runtime-only admin bits are
// dropped as HAProxy drops them.
func TestParseRefuses(t *testing.T) {
	for _, bad := range []string{"", "2\n", "# no version\n"} {
		if _, _, err := Parse(strings.NewReader(bad), "x"); err == nil || !strings.Contains(err.Error(), "Can't get version") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	lines := strings.Split(haproxyDump, "\n")
	text := strings.Join([]string{
		"1",
		lines[2],
		strings.Replace(lines[3], " 0 8 1 1 ", " 0 9 1 1 ", 1),                              // admin 0x09 (maint|drain): invalid
		strings.Replace(lines[4], "3 be 3 s3", "3 be x s3", 1),                              // id not a number
		"3 be 4 s4 127.0.0.1 2",                                                             // too short
		strings.Replace(lines[2], "3 be 1 s1 127.0.0.1 2 0", "3 be 5 s5 127.0.0.1 2 34", 1), // 0x22 (inherited/resolver maint): dropped
	}, "\n")
	f, warns, err := Parse(strings.NewReader(text), "st")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 3 || !strings.Contains(warns[0], "line 3: invalid srv_admin_state value '9'") ||
		!strings.Contains(warns[1], "invalid srv_id value 'x'") || !strings.Contains(warns[2], "6 fields") {
		t.Errorf("warnings: %q", warns)
	}
	if f.Lookup("be", "s1") == nil || f.Lookup("be", "s2") != nil {
		t.Error("good lines must stay, bad ones go")
	}
	if s5 := f.Lookup("be", "s5"); s5 == nil || s5.AdminState != 0 {
		t.Errorf("s5: %+v", s5)
	}
	if _, _, err := Read(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "Can't open server state file") || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "ok")
	os.WriteFile(p, []byte(haproxyDump), 0o644)
	if f, _, err := Read(p); err != nil || f.Lookup("be", "s3") == nil {
		t.Errorf("Read: %v", err)
	}
}

package identity

import (
	"bytes"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpmsg"
)

func TestSafeRedirect(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"/", "/"},
		{"/app/page?x=1#frag", "/app/page?x=1#frag"},
		{"/a%20b", "/a%20b"},
		{"//evil.example", "/"},
		{"//evil.example/path", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%252F%252Fevil", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\x00/evil", "/"},
		{"https://evil.example/", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"", "/"},
		{"/ok\x7f", "/"},
		{"/\u00e9", "/"},
	}
	for _, tc := range tests {
		if got := SafeRedirect(tc.in); got != tc.want {
			t.Errorf("SafeRedirect(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripSpoofable(t *testing.T) {
	tests := []struct {
		name  string
		strip bool
	}{
		{"X-Forwarded-User", true},
		{"x-forwarded-user", true},
		{"X_Forwarded_User", true},
		{"X.Forwarded.Email", true},
		{"X-FORWARDED-GROUPS", true},
		{"X-Forwarded-Preferred-Username", true},
		{"x-forwarded-preferred_username", true},
		{"X-Auth-Request-User", true},
		{"X-Auth-Request-Email", true},
		{"x_auth_request_access_token", true},
		{"X-Forwarded-For", false},
		{"X-Forwarded-Proto", false},
		{"X-Forwarded-Users", false},
		{"Host", false},
		{"Authorization", false},
	}
	for _, tc := range tests {
		h := httpmsg.Headers{{Name: "Host", Value: "a"}, {Name: tc.name, Value: "alice"}, {Name: "Accept", Value: "*/*"}}
		StripSpoofable(&h)
		_, present := h.Get(tc.name)
		if present == tc.strip {
			t.Errorf("%s: present after strip = %v, want stripped=%v", tc.name, present, tc.strip)
		}
		if !h.Has("Host") || !h.Has("Accept") {
			t.Errorf("%s: other headers lost: %v", tc.name, h)
		}
	}
}

func TestKeyringRotationAndTamper(t *testing.T) {
	oldS := bytes.Repeat([]byte("o"), 32)
	newS := bytes.Repeat([]byte("n"), 32)
	oldKR, err := newKeyring([][]byte{oldS}, "session")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := newKeyring([][]byte{newS, oldS}, "session")
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, _ := newKeyring([][]byte{newS}, "session")
	ad := []byte("cookie")
	sealedOld := oldKR.seal([]byte("payload"), ad)
	tests := []struct {
		name   string
		kr     *keyring
		sealed string
		ad     []byte
		ok     bool
	}{
		{"old key opens its own", oldKR, sealedOld, ad, true},
		{"rotated ring opens old", rotated, sealedOld, ad, true},
		{"new-only ring refuses old", onlyNew, sealedOld, ad, false},
		{"other ad refused", oldKR, sealedOld, []byte("other"), false},
		{"tampered refused", oldKR, flip(sealedOld, len(sealedOld)-3), ad, false},
		{"truncated refused", oldKR, sealedOld[:20], ad, false},
		{"garbage refused", oldKR, "!!!", ad, false},
		{"new seals with newest", onlyNew, rotated.seal([]byte("p"), ad), ad, true},
	}
	for _, tc := range tests {
		_, err := tc.kr.open(tc.sealed, tc.ad)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if _, err := newKeyring([][]byte{[]byte("short")}, "session"); err == nil {
		t.Error("short secret accepted")
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

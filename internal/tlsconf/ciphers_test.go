package tlsconf

import (
	"crypto/tls"
	"os/exec"
	"strings"
	"testing"
)

// Cipher strings as HAProxy users write them: Mozilla's lists, HAProxy's
// examples, and the operators OpenSSL's grammar has.
var cipherStrings = []string{
	"DEFAULT", "ALL", "HIGH", "HIGH:!aNULL", "HIGH:!aNULL:!MD5", "ECDHE+AESGCM:!aNULL:!MD5",
	"ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS",
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA",
	"EECDH+AESGCM:EDH+AESGCM", "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH",
	"ECDHE:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!3DES:!MD5:!PSK", "AES128+EECDH:AES128+EDH",
	"HIGH:!aNULL:!MD5:@STRENGTH", "ALL:@STRENGTH", "ALL:+AES128:+kRSA", "ALL:-ECDSA:+ECDSA", "ALL:-AESGCM:AES128",
	"kRSA", "RSA", "aRSA", "ECDSA", "aECDSA:AES256", "AES", "AES256", "AES128", "AESGCM", "CHACHA20", "CBC",
	"SHA", "SHA1", "SHA256", "SHA384", "TLSv1.2", "TLSv1", "TLSv1.0", "SSLv3", "FIPS", "MEDIUM", "HIGH+kRSA",
	"ECDHE+CHACHA20:ECDHE+AES128:RSA+AES128:ECDHE+AES256:RSA+AES256:!MD5", "AES128-SHA", "AES128-SHA+HIGH",
	"ECDHE-RSA-AES128-GCM-SHA256+TLSv1", "TLSv1.2+ECDHE", "TLSv1+ECDHE:TLSv1.2+kRSA", "DEFAULT:!ECDSA", "DEFAULT:-kRSA:kRSA",
	"ALL:!COMPLEMENTOFDEFAULT:!eNULL", "COMPLEMENTOFALL", "NOSUCH:HIGH", "NOSUCH+HIGH:AES128-SHA", "HIGH:@SECLEVEL=2",
	"ECDHE+AESGCM ECDHE+CHACHA20", "ECDHE+AESGCM;kRSA,AES128-SHA", "!aNULL:HIGH", ":-ALL:AES", "HIGH!aNULL", "HIGH-kRSA", "NOSUCH_x:HIGH", "HIGH+", "+AES:HIGH",
	"DHE-RSA-AES128-GCM-SHA256", "3DES", "RC4:DES", "eNULL", "ECDHE_RSA", "HIGH:@FOO", "HIGH:!",
}

// openSSLCiphers runs "openssl ciphers -V str" and returns the TLS <= 1.2
// suites it lists that Go implements, in order; ok is false when OpenSSL
// refuses the string.
func openSSLCiphers(t *testing.T, bin, str string) (names []string, ok bool) {
	out, err := exec.Command(bin, "ciphers", "-V", str).CombinedOutput()
	if err != nil {
		return nil, false
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[1] != "-" || f[3] == "TLSv1.3" {
			continue
		}
		if cipherByName(f[2]) != nil {
			names = append(names, f[2])
		}
	}
	return names, true
}

func TestParseCipherStringMatchesOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	for _, str := range cipherStrings {
		want, ok := openSSLCiphers(t, bin, str)
		ids, err := ParseCipherString(str)
		var got []string
		for _, id := range ids {
			got = append(got, CipherName(id))
		}
		switch {
		case !ok || len(want) == 0:
			if err == nil {
				t.Errorf("%q: OpenSSL selects none of Go's suites (refused: %v), but got %v", str, !ok, got)
			}
		case err != nil:
			t.Errorf("%q: %v; OpenSSL selects %v", str, err, want)
		case strings.Join(got, ":") != strings.Join(want, ":"):
			t.Errorf("%q:\n got  %v\n want %v", str, got, want)
		}
	}
}

func TestCheckCipherSuites(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", true},
		{"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256:TLS_AES_128_GCM_SHA256", true},
		{"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:NOSUCH", true},
		{"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", false},
		{"TLS_AES_128_GCM_SHA256", false},
		{"", false},
	} {
		err := CheckCipherSuites(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%q: err=%v, want ok=%v", c.in, err, c.ok)
		}
	}
	err := CheckCipherSuites("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
	if err == nil || !strings.Contains(err.Error(), "TLS_AES_128_GCM_SHA256") || !strings.Contains(err.Error(), "cannot exclude") {
		t.Errorf("message should name the missing suite and say why: %v", err)
	}
}

func TestParseCurves(t *testing.T) {
	got, err := ParseCurves("X25519:prime256v1:secp384r1:X448")
	if err != nil || len(got) != 3 || got[0] != tls.X25519 || got[1] != tls.CurveP256 || got[2] != tls.CurveP384 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := ParseCurves("X25519:nosuch"); err == nil {
		t.Error("unknown curve accepted")
	}
	if _, err := ParseCurves("X448:ffdhe2048"); err == nil {
		t.Error("a list of curves Go lacks accepted")
	}
}

package cfgparse

import (
	"strings"
	"testing"
)

// TestCaptureSlots: slots are numbered per direction in declaration order
// ("capture ... header", "declare capture", "http-request capture ... len"
// alike); a frontend's rule naming a missing slot is refused, a backend's
// is not (it uses the slots of whichever frontend routes to it); "len"
// needs a frontend; "capture cookie" and "declare" stay out of defaults.
func TestCaptureSlots(t *testing.T) {
	const head = "defaults\n mode http\n timeout client 5s\n timeout server 5s\n timeout connect 5s\n"
	cfg, err := Parse("c.cfg", []byte(head+`frontend f
 bind 127.0.0.1:8080
 capture request header Host len 10
 declare capture request len 8
 http-request capture path len 4
 http-request capture path id 1
 declare capture response len 3
 http-response capture res.hdr(x) id 0
 capture cookie S len 9
 default_backend b
backend b
 http-request capture path id 7
 server s 127.0.0.1:80
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Proxies[0]
	if len(f.Captures) != 4 || f.HTTPRequest[0].CaptureID != 2 || f.HTTPRequest[1].CaptureID != 1 || f.HTTPResponse[0].CaptureID != 0 {
		t.Errorf("slots: %d captures, rule ids %d %d %d", len(f.Captures), f.HTTPRequest[0].CaptureID, f.HTTPRequest[1].CaptureID, f.HTTPResponse[0].CaptureID)
	}
	if f.CaptureCookie == nil || f.CaptureCookie.Name != "S" || f.CaptureCookie.Len != 9 {
		t.Errorf("capture cookie: %+v", f.CaptureCookie)
	}
	for _, tc := range []struct{ cfg, want string }{
		{"frontend f\n bind :80\n http-request capture path id 0\n", "unable to find capture id '0' referenced by http-request capture rule"},
		{"frontend f\n bind :80\n declare capture request len 2\n http-response capture path id 0\n", "unable to find capture id '0' referenced by http-response capture rule"},
		{"backend b\n http-request capture path len 3\n", "has no frontend capability"},
		{"frontend f\n bind :80\n http-response capture res.hdr(x) len 3\n", "expects <expression> id <idx>"},
		{"defaults d\n capture cookie S len 3\n", "'capture'"},
		{"defaults d\n declare capture request len 3\n", "'declare'"},
		{"frontend f\n bind :80\n declare capture request len 0\n", "len"},
		{"frontend f\n bind :80\n capture cookie S\n", "expects 'cookie' <cookie_name> 'len' <len>"},
	} {
		_, err := Parse("c.cfg", []byte(head+tc.cfg), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

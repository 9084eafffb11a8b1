package cfgparse

import (
	"strings"
	"testing"
)

// TestSSLCaptureSize: both spellings as HAProxy 2.6 reads them.
func TestSSLCaptureSize(t *testing.T) {
	for _, c := range []struct {
		lines, err, warn string
		want             int
	}{
		{lines: "tune.ssl.capture-buffer-size 96", want: 96},
		{lines: "tune.ssl.capture-buffer-size 4k", want: 4}, // atoi
		{lines: "tune.ssl.capture-cipherlist-size 128", want: 128, warn: "'tune.ssl.capture-cipherlist-size' is deprecated and will be removed in version 2.7. Please use 'tune.ssl.capture-buffer-size' instead."},
		{lines: "tune.ssl.capture-buffer-size", err: "'tune.ssl.capture-buffer-size' expects an integer argument."},
		{lines: "tune.ssl.capture-buffer-size -1", err: "'tune.ssl.capture-buffer-size' expects a positive numeric value."},
		{lines: "tune.ssl.capture-buffer-size 1 2", err: "cannot handle unexpected argument '2'"},
		{lines: "tune.ssl.capture-buffer-size 0\n    tune.ssl.capture-cipherlist-size 64", err: "'tune.ssl.capture-cipherlist-size' is already configured."},
	} {
		cfg, err := Parse("c.cfg", []byte("global\n    "+c.lines+"\nfrontend f\n    bind 127.0.0.1:8080\n"), Options{LookupEnv: testEnv})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.lines, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Global.TuneSSLCaptureSize == nil || *cfg.Global.TuneSSLCaptureSize != c.want {
			t.Errorf("%q: %v, size %v, want %d", c.lines, err, cfg.Global.TuneSSLCaptureSize, c.want)
			continue
		}
		var warned bool
		for _, w := range cfg.Warnings {
			warned = warned || strings.Contains(w.Msg, c.warn) && c.warn != ""
		}
		if warned != (c.warn != "") {
			t.Errorf("%q: warnings %v, want %q", c.lines, cfg.Warnings, c.warn)
		}
	}
}

// TestSSLKeyLog: on or off, the last line wins, HAProxy 2.6's errors.
func TestSSLKeyLog(t *testing.T) {
	for lines, want := range map[string]string{
		"tune.ssl.keylog on":                          "on",
		"tune.ssl.keylog off":                         "off",
		"tune.ssl.keylog on\n    tune.ssl.keylog off": "off",
		"tune.ssl.keylog":                             "'tune.ssl.keylog' expects either 'on' or 'off' but got ''.",
		"tune.ssl.keylog 1":                           "'tune.ssl.keylog' expects either 'on' or 'off' but got '1'.",
		"tune.ssl.keylog on x":                        "cannot handle unexpected argument 'x'",
	} {
		cfg, err := Parse("c.cfg", []byte("global\n    "+lines+"\nfrontend f\n    bind 127.0.0.1:8080\n"), Options{LookupEnv: testEnv})
		switch want {
		case "on", "off":
			if err != nil || cfg.Global.TuneSSLKeyLog != (want == "on") {
				t.Errorf("%q: %v, keylog %v, want %s", lines, err, cfg != nil && cfg.Global.TuneSSLKeyLog, want)
			}
		default:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%q: %v, want %q", lines, err, want)
			}
		}
	}
}

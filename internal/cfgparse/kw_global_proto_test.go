package cfgparse

import (
	"strings"
	"testing"
)

// TestProtoGlobalKeywords: pp2-never-send-local and
// h1-accept-payload-with-any-method set their switch and take no
// argument, HAProxy 2.6's too_many_args error otherwise.
func TestProtoGlobalKeywords(t *testing.T) {
	cfg, err := parseProcess(t, "    pp2-never-send-local\n    h1-accept-payload-with-any-method\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Global.PP2NeverSendLocal || !cfg.Global.H1AcceptPayloadAnyMethod {
		t.Errorf("PP2NeverSendLocal %v, H1AcceptPayloadAnyMethod %v, want both set", cfg.Global.PP2NeverSendLocal, cfg.Global.H1AcceptPayloadAnyMethod)
	}
	cfg, err = parseProcess(t, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Global.PP2NeverSendLocal || cfg.Global.H1AcceptPayloadAnyMethod {
		t.Errorf("set by default")
	}
	for _, kw := range []string{"pp2-never-send-local", "h1-accept-payload-with-any-method"} {
		_, err := parseProcess(t, "    "+kw+" x\n", Options{})
		if want := "'" + kw + "' cannot handle unexpected argument 'x'."; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s x: err %v, want %q", kw, err, want)
		}
	}
}

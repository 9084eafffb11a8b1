package cfgparse

import "fmt"

// The TLS capture keywords. HAProxy 2.6 names the ClientHello capture "tune.ssl.capture-buffer-size"
// and still reads 2.5's "tune.ssl.capture-cipherlist-size", with a warning.
func sslCaptureKeywords() []keyword {
	const desc = "The bytes kept of each TLS ClientHello's lists, in this order until the buffer is full: the cipher list, the extension types, the supported groups and the point formats. They feed ssl_fc_cipherlist_bin/_hex/_xxh, ssl_fc_extlist_bin, ssl_fc_eclist_bin, ssl_fc_ecformats_bin and ssl_fc_protocol_hello_id, which return nothing at 0 (the default: no capture). Only one of the two spellings, once."
	return []keyword{
		{name: "tune.ssl.capture-buffer-size", where: wGlobal, syntax: "tune.ssl.capture-buffer-size <bytes>",
			desc: desc, parse: parseSSLCaptureSize},
		{name: "tune.ssl.capture-cipherlist-size", where: wGlobal, syntax: "tune.ssl.capture-cipherlist-size <bytes>",
			desc: "Deprecated spelling of 'tune.ssl.capture-buffer-size', read with HAProxy 2.6's warning.", parse: parseSSLCaptureSize},
		{name: "tune.ssl.keylog", where: wGlobal, syntax: "tune.ssl.keylog on|off",
			desc: "on: each TLS connection keeps its TLS 1.3 secrets for the ssl_fc_*_secret fetches, to write NSS key log lines with log-format (e.g. \"CLIENT_TRAFFIC_SECRET_0 %[ssl_fc_client_random,hex] %[ssl_fc_client_traffic_secret_0]\"). Costs memory and two tls.Config copies per handshake. off (the default): none kept.", parse: parseSSLKeyLog},
	}
}

// parseSSLCaptureSize reads both spellings as HAProxy 2.6's
// ssl_parse_global_capture_buffer: atoi, and the capture pool is created
// once, so a second line, even of 0, is an error.
func parseSSLCaptureSize(p *parser, args []token) error {
	kw := args[0].Text
	if kw == "tune.ssl.capture-cipherlist-size" {
		p.warnf("'%s' is deprecated and will be removed in version 2.7. Please use 'tune.ssl.capture-buffer-size' instead.", kw)
	}
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", kw, args[2].Text)
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects an integer argument.", kw)
	}
	n := int(int32(atol(args[1].Text)))
	if n < 0 {
		return fmt.Errorf("'%s' expects a positive numeric value.", kw)
	}
	if p.cfg.Global.TuneSSLCaptureSize != nil {
		return fmt.Errorf("'%s' is already configured.", kw)
	}
	p.cfg.Global.TuneSSLCaptureSize = &n
	return nil
}

// parseSSLKeyLog reads tune.ssl.keylog as HAProxy 2.6: on or off, a later
// line wins.
func parseSSLKeyLog(p *parser, args []token) error {
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[2].Text)
	}
	v := ""
	if len(args) > 1 {
		v = args[1].Text
	}
	switch v {
	case "on", "off":
		p.cfg.Global.TuneSSLKeyLog = v == "on"
		return nil
	}
	return fmt.Errorf("'%s' expects either 'on' or 'off' but got '%s'.", args[0].Text, v)
}

package logging

import "github.com/gatehouse/gatehouse/internal/config"

// ProxyLogFormat returns the log-format string of a proxy's traffic logs:
// its "log-format", else the format of "option httpslog", "option httplog"
// or "option tcplog". As in HAProxy, "option httplog" in a mode tcp proxy
// falls back to the TCP format. "" means the proxy logs no traffic.
func ProxyLogFormat(p *config.Proxy) string {
	switch {
	case p.LogFormat != "":
		return p.LogFormat
	case p.HTTPSLog && p.Mode == config.ModeHTTP:
		return HTTPSLogFormat
	case p.HTTPLog && p.Mode == config.ModeHTTP:
		return HTTPLogFormat
	case p.HTTPLog || p.HTTPSLog || p.TCPLog:
		return TCPLogFormat
	}
	return ""
}

// Preset log formats. The first four are HAProxy's, character for
// character (option httplog, option tcplog, option httpslog, option httplog
// clf); JSONLogFormat is Gatehouse's own.
const (
	// HTTPLogFormat is "option httplog".
	HTTPLogFormat = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"

	// TCPLogFormat is "option tcplog".
	TCPLogFormat = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"

	// HTTPSLogFormat is "option httpslog": the HTTP format followed by the
	// connection/TLS error codes, whether the session was resumed, the SNI,
	// the TLS version and the cipher. The %[...] fetches need the acl
	// expression compiler.
	HTTPSLogFormat = HTTPLogFormat + " %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc"

	// CLFLogFormat is "option httplog clf": Common Log Format followed by
	// HAProxy's own fields.
	CLFLogFormat = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"

	// CLFTCPLogFormat is "option tcplog clf".
	CLFTCPLogFormat = "%{+Q}o %{-Q}ci - - [%T] \"TCP \" 000 %B \"\" \"\" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq \"\" \"\" "

	// JSONLogFormat writes one JSON object per line for log pipelines. Every
	// value goes through +json: strings are quoted and escaped (invalid
	// UTF-8 becomes U+FFFD), missing strings are null, numbers are bare,
	// timers are -1 when the event did not happen. Fields:
	//
	//	time               request date, "dd/Mmm/yyyy:hh:mm:ss.mmm" local time
	//	timestamp          accept date, Unix seconds
	//	client_ip/port     the client (after PROXY protocol)
	//	frontend           frontend name, '~' suffix when TLS
	//	backend, server    "<NOSRV>" when no server was reached
	//	timers             TR Tw Tc Tr Ta (configuration.txt 8.4), Tt
	//	status             HTTP status, -1 when none was sent
	//	bytes_read         server to client; bytes_uploaded: client to server
	//	termination_state  %tsc, e.g. "----", "SH--"
	//	conns, retries     %ac %fc %bc %sc, %rc (no '+' in JSON)
	//	queues             %sq %bq
	//	request            the request line, "<BADREQ>" when none
	//	request_id         unique-id, null when not configured
	//	tls                %sslv %sslc, null when the client did not use TLS
	JSONLogFormat = `%{+json}o{"time":%tr,"timestamp":%Ts,"client_ip":%ci,"client_port":%cp,` +
		`"frontend":%ft,"backend":%b,"server":%s,` +
		`"timers":{"TR":%TR,"Tw":%Tw,"Tc":%Tc,"Tr":%Tr,"Ta":%Ta,"Tt":%Tt},` +
		`"status":%ST,"bytes_read":%B,"bytes_uploaded":%U,"termination_state":%tsc,` +
		`"conns":{"active":%ac,"frontend":%fc,"backend":%bc,"server":%sc},"retries":%rc,` +
		`"queues":{"server":%sq,"backend":%bq},` +
		`"request":%r,"request_id":%ID,"tls":{"version":%sslv,"cipher":%sslc}}`
)

package logging

// varID identifies one log-format node type.
type varID uint8

const (
	vLiteral varID = iota // literal text
	vSep                  // run of spaces
	vExpr                 // %[sample expression]

	vClientIP     // %ci
	vClientPort   // %cp
	vFrontIP      // %fi
	vFrontPort    // %fp
	vBackIP       // %bi
	vBackPort     // %bp
	vServerIP     // %si
	vServerPort   // %sp
	vDate         // %t
	vDateGMT      // %T
	vDateLocal    // %Tl
	vReqDate      // %tr
	vReqDateGMT   // %trg
	vReqDateLocal // %trl
	vTs           // %Ts
	vMs           // %ms
	vFrontend     // %f
	vFrontendXprt // %ft
	vBackend      // %b
	vServer       // %s
	vTh           // %Th
	vTi           // %Ti
	vTR           // %TR
	vTq           // %Tq
	vTw           // %Tw
	vTc           // %Tc
	vTr           // %Tr
	vTd           // %Td
	vTa           // %Ta
	vTt           // %Tt
	vTu           // %Tu
	vStatus       // %ST
	vBytesOut     // %B
	vBytesIn      // %U
	vCookieReq    // %CC
	vCookieRes    // %CS
	vTermState    // %ts
	vTermStateCk  // %tsc
	vActConn      // %ac
	vFeConn       // %fc
	vBeConn       // %bc
	vSrvConn      // %sc
	vRetries      // %rc
	vSrvQueue     // %sq
	vBeQueue      // %bq
	vHdrReq       // %hr
	vHdrReqList   // %hrl
	vHdrRes       // %hs
	vHdrResList   // %hsl
	vRequest      // %r
	vMethod       // %HM
	vURI          // %HU
	vPath         // %HP
	vPathOnly     // %HPO
	vQuery        // %HQ
	vVersion      // %HV
	vUniqueID     // %ID
	vPID          // %pid
	vHostname     // %H
	vReqCounter   // %rt
	vLogCounter   // %lc
	vSSLVersion   // %sslv
	vSSLCipher    // %sslc
)

// VarInfo describes one log-format variable, for lookups and for the
// generated keyword reference.
type VarInfo struct {
	Name string // without the '%'
	Desc string
	HTTP bool // only meaningful in mode http
	id   varID
}

// Variables returns the table of supported log-format variables, in the
// order of HAProxy's configuration manual (section 8.2.6).
func Variables() []VarInfo {
	return []VarInfo{
		{"o", "special variable, apply flags on all next var", false, 0},
		{"B", "bytes_read (from server to client)", false, vBytesOut},
		{"CC", "captured_request_cookie", true, vCookieReq},
		{"CS", "captured_response_cookie", true, vCookieRes},
		{"H", "hostname", false, vHostname},
		{"HM", "HTTP method (ex: POST)", true, vMethod},
		{"HP", "HTTP request URI without query string", true, vPath},
		{"HPO", "HTTP path only (without host nor query string)", true, vPathOnly},
		{"HQ", "HTTP request URI query string (ex: ?bar=baz)", true, vQuery},
		{"HU", "HTTP request URI (ex: /foo?bar=baz)", true, vURI},
		{"HV", "HTTP version (ex: HTTP/1.0)", true, vVersion},
		{"ID", "unique-id", false, vUniqueID},
		{"ST", "status_code", true, vStatus},
		{"T", "gmt_date_time", false, vDateGMT},
		{"Ta", "Active time of the request (from TR to end)", true, vTa},
		{"Tc", "Tc", false, vTc},
		{"Td", "Td = Tt - (Tq + Tw + Tc + Tr)", false, vTd},
		{"Tl", "local_date_time", false, vDateLocal},
		{"Th", "connection handshake time (SSL, PROXY proto)", false, vTh},
		{"Ti", "idle time before the HTTP request", true, vTi},
		{"Tq", "Th + Ti + TR", true, vTq},
		{"TR", "time to receive the full request from 1st byte", true, vTR},
		{"Tr", "Tr (response time)", true, vTr},
		{"Ts", "timestamp", false, vTs},
		{"Tt", "Tt", false, vTt},
		{"Tu", "Tu", false, vTu},
		{"Tw", "Tw", false, vTw},
		{"U", "bytes_uploaded (from client to server)", false, vBytesIn},
		{"ac", "actconn", false, vActConn},
		{"b", "backend_name", false, vBackend},
		{"bc", "beconn (backend concurrent connections)", false, vBeConn},
		{"bi", "backend_source_ip (connecting address)", false, vBackIP},
		{"bp", "backend_source_port (connecting address)", false, vBackPort},
		{"bq", "backend_queue", false, vBeQueue},
		{"ci", "client_ip (accepted address)", false, vClientIP},
		{"cp", "client_port (accepted address)", false, vClientPort},
		{"f", "frontend_name", false, vFrontend},
		{"fc", "feconn (frontend concurrent connections)", false, vFeConn},
		{"fi", "frontend_ip (accepting address)", false, vFrontIP},
		{"fp", "frontend_port (accepting address)", false, vFrontPort},
		{"ft", "frontend_name_transport ('~' suffix for SSL)", false, vFrontendXprt},
		{"hr", "captured_request_headers default style", true, vHdrReq},
		{"hrl", "captured_request_headers CLF style", true, vHdrReqList},
		{"hs", "captured_response_headers default style", true, vHdrRes},
		{"hsl", "captured_response_headers CLF style", true, vHdrResList},
		{"lc", "frontend_log_counter", false, vLogCounter},
		{"ms", "accept date milliseconds (left-padded with 0)", false, vMs},
		{"pid", "PID", false, vPID},
		{"r", "http_request", true, vRequest},
		{"rc", "retries", false, vRetries},
		{"rt", "request_counter (HTTP req or TCP session)", false, vReqCounter},
		{"s", "server_name", false, vServer},
		{"sc", "srv_conn (server concurrent connections)", false, vSrvConn},
		{"si", "server_IP (target address)", false, vServerIP},
		{"sp", "server_port (target address)", false, vServerPort},
		{"sq", "srv_queue", false, vSrvQueue},
		{"sslc", "ssl_ciphers (ex: AES-SHA)", false, vSSLCipher},
		{"sslv", "ssl_version (ex: TLSv1)", false, vSSLVersion},
		{"t", "date_time (with millisecond resolution)", false, vDate},
		{"tr", "date_time of HTTP request", true, vReqDate},
		{"trg", "gmt_date_time of start of HTTP request", true, vReqDateGMT},
		{"trl", "local_date_time of start of HTTP request", true, vReqDateLocal},
		{"ts", "termination_state", false, vTermState},
		{"tsc", "termination_state with cookie status", true, vTermStateCk},
	}
}

// lookupVar finds a variable by its exact (case-sensitive) name.
func lookupVar(name string) (VarInfo, bool) {
	for _, v := range Variables() {
		if v.Name == name {
			return v, true
		}
	}
	return VarInfo{}, false
}

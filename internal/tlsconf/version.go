package tlsconf

import "crypto/tls"

// VersionName is a TLS version as HAProxy logs it (%sslv, ssl_fc_protocol).
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return ""
}

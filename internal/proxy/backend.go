package proxy

import (
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/counters"
	"github.com/gatehouse/gatehouse/internal/httpcomp"
	"github.com/gatehouse/gatehouse/internal/proxyproto"
	"github.com/gatehouse/gatehouse/internal/tlsconf"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// RetryOn is the compiled "retry-on" bitmask.
type RetryOn uint16

const (
	RetryConnFailure RetryOn = 1 << iota
	RetryEmptyResponse
	RetryJunkResponse
	RetryResponseTimeout
	Retry0RTTRejected
	Retry401
	Retry403
	Retry404
	Retry408
	Retry425
	Retry500
	Retry501
	Retry502
	Retry503
	Retry504
)

// retryStatus maps a status to its retry-on bit (0 if none).
func retryStatus(status int) RetryOn {
	switch status {
	case 401:
		return Retry401
	case 403:
		return Retry403
	case 404:
		return Retry404
	case 408:
		return Retry408
	case 425:
		return Retry425
	case 500:
		return Retry500
	case 501:
		return Retry501
	case 502:
		return Retry502
	case 503:
		return Retry503
	case 504:
		return Retry504
	}
	return 0
}

// Backend is the compiled runtime of a backend (or the backend half of a listen).
type Backend struct {
	Stick    *StickTables // nil when the backend has no table
	Name     string
	ID       int
	Counters *counters.Proxy
	Farm     *upstream.Farm
	Servers  []*Server

	Timeouts   config.Timeouts
	Retries    int
	RetryOn    RetryOn
	Redispatch bool
	// RedispatchAfter: "option redispatch <interval>" (upstream.RedispatchTurn).
	RedispatchAfter int
	// HashExpr is "balance hash <expr>": its value picks the server.
	HashExpr *acl.Expr
	// AbortOnClose: option abortonclose (a queued HTTP/1 request whose
	// client closed its side is dropped).
	AbortOnClose bool
	ConnMode     config.ConnMode
	// Reuse is "http-reuse": which idle server connections a request may
	// take (reuse.go).
	Reuse config.HTTPReuse
	// PreferLast: option prefer-last-server, with a balance that is not a hash.
	PreferLast bool
	// MaxKAQueue: max-keep-alive-queue plus one; 0 no limit (config.Proxy).
	MaxKAQueue int
	// BufferRequest ("option http-buffer-request"): the request body is
	// waited for before the backend's rules.
	BufferRequest bool
	// PretendKeepAlive: option http-pretend-keepalive.
	PretendKeepAlive bool
	ReqRules         []*Rule
	RespRules        []*Rule
	AfterRules       []*Rule // http-after-response
	// ContentRules: the backend's tcp-request content rules, run when a
	// request enters it, before its http-request rules.
	ContentRules []ContentRule
	ForwardFor   *ForwardFor
	OriginalTo   *OriginalTo // option originalto
	Errors       *ErrorPages
	// Comp is "compression"; nil without it.
	Comp *httpcomp.Settings

	Stats       Service
	StatsPrefix string
	// Persist is the cookie persistence stage; nil without cookie,
	// use-server or persist rules.
	Persist *Persistence
	// StickRules is persistence by stick table; nil without stick rules.
	StickRules *StickPersist

	// NoDelay ("option http-no-delay"): response data goes to the client
	// as soon as it comes, whatever the body's size.
	NoDelay bool
	// CaseAdjust: header names as HTTP/1 servers get them ("option
	// h1-case-adjust-bogus-server"); nil: unchanged.
	CaseAdjust map[string]string
	// SendNameHeader ("http-send-name-header"): each attempt's request
	// carries its server's name in this header; "" for none.
	SendNameHeader string
	// AcceptInvalidResp ("option accept-invalid-http-response"): the
	// HTTP/1 response parser and the client's writer take field names
	// HAProxy then accepts (http1.Limits.AcceptInvalid).
	AcceptInvalidResp bool
	// CheckCache ("option checkcache"): responses a shared cache could
	// store with the server's Set-Cookie are blocked (checkcache.go), and
	// Alert, when set, logs it to the backend's log targets.
	CheckCache bool
	Alert      func(msg string)
}

// Server is a backend server with what the proxy needs to reach it.
type Server struct {
	*upstream.Server
	TLS  *tlsconf.ClientTemplate // nil: plain TCP
	SNI  *acl.Expr               // nil: the outgoing Host decides
	ALPN string                  // ALPN offered, comma-joined for the pool key
	// H2 holds the HTTP/2 connections of a server that may speak it
	// ("alpn h2" or "proto h2"); nil for HTTP/1-only servers.
	H2 *H2Upstream

	SendProxy int                // 0 none, 1 PROXY v1, 2 PROXY v2 (send-proxy / send-proxy-v2)
	ProxyV2   proxyproto.Options // proxy-v2-options

	// Cookie is the server's persistence cookie value ("cookie"); dyn
	// caches a dynamic one (Persistence.CookieValue).
	Cookie string
	dyn    atomic.Pointer[dynCookie]
}

// server finds the proxy's view of an upstream server.
func (b *Backend) server(us *upstream.Server) *Server {
	// Server IDs are 1-based in declaration order, the index of Servers.
	if i := us.ID - 1; i >= 0 && i < len(b.Servers) && b.Servers[i].Server == us {
		return b.Servers[i]
	}
	for _, s := range b.Servers {
		if s.Server == us {
			return s
		}
	}
	return nil
}

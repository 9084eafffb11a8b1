package stats

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// Identity statistics: one row per oidc section and per identity-token
// section, Gatehouse's own (HAProxy has no such sections). As for the
// proxies, one column table (OIDCColumns, TokenColumns) drives both the
// stats page's "Identity" section and the Prometheus families
// gatehouse_oidc_* and gatehouse_identity_token_*.

// ReasonCount is a counter split by reason (a "reason" label).
type ReasonCount struct {
	Reason string
	N      uint64
}

// OIDCStats are plain copies of one oidc section's counters.
type OIDCStats struct {
	Name   string
	Issuer string
	// Ready: discovery succeeded; until then requests needing the
	// provider get 503.
	Ready             bool
	DiscoveryFailures uint64

	LoginRedirects  uint64
	Logins          uint64
	LoginFailures   []ReasonCount
	Refreshes       uint64
	RefreshFailures uint64
	SignOuts        uint64
	BearerAccepted  uint64
	BearerRejected  []ReasonCount
	Unauthorized    uint64 // 401 answers
	Unavailable     uint64 // 503 answers
	StoreErrors     uint64 // session store operations that failed
	JWKSFetches     uint64
	JWKSFailures    uint64
	JWKSKeys        int // keys held; 0 before the first fetch

	// Back-channel logout tokens taken, and logout requests refused (400).
	BackchannelLogouts uint64
	BackchannelRefused uint64

	// Sessions held by a server-side store; SessionsKnown is false for
	// cookie sessions (they live in browsers) or a store that cannot tell.
	SessionStore   string
	SessionsActive int64
	SessionsKnown  bool
}

// TokenStats are plain copies of one identity-token section's counters.
type TokenStats struct {
	Name         string
	Issuer       string
	Minted       uint64
	MintFailures uint64
	JWKSServed   uint64
}

// IdentityColumn is one statistic of an identity section: a stats page
// cell and a Prometheus family.
type IdentityColumn[T any] struct {
	Title string // the page's column title
	Prom  string // family name after the prefix
	Help  string
	Type  PromType
	// Value is the number; ok false leaves the metric out and the cell "-".
	Value func(*T) (v float64, ok bool)
	// Reasons, when set, splits the family by a "reason" label (the cell
	// shows the total, the reasons in a tooltip).
	Reasons func(*T) []ReasonCount
	// Label, when set, adds a label to the family (sessions: the store).
	Label func(*T) (name, value string)
}

// OIDCColumns are the statistics of an oidc section, in page order.
func OIDCColumns() []IdentityColumn[OIDCStats] {
	num := func(get func(*OIDCStats) uint64) func(*OIDCStats) (float64, bool) {
		return func(s *OIDCStats) (float64, bool) { return float64(get(s)), true }
	}
	return []IdentityColumn[OIDCStats]{
		{Title: "Discovery", Prom: "discovery_ready", Help: "Whether the provider's discovery succeeded (1) or is still being retried (0).", Type: PromGauge,
			Value: func(s *OIDCStats) (float64, bool) { return float64(b2i(s.Ready)), true }},
		{Title: "Disc. failures", Prom: "discovery_failures_total", Help: "Failed discovery attempts.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.DiscoveryFailures })},
		{Title: "Redirects", Prom: "login_redirects_total", Help: "Browsers sent to the provider to log in.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.LoginRedirects })},
		{Title: "Logins", Prom: "logins_total", Help: "Completed logins (callbacks accepted).", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.Logins })},
		{Title: "Login failures", Prom: "login_failures_total", Help: "Refused login callbacks, by reason.", Type: PromCounter,
			Reasons: func(s *OIDCStats) []ReasonCount { return s.LoginFailures }},
		{Title: "Refreshes", Prom: "refreshes_total", Help: "Sessions renewed with a refresh token.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.Refreshes })},
		{Title: "Refresh failures", Prom: "refresh_failures_total", Help: "Failed session refreshes.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.RefreshFailures })},
		{Title: "Sign-outs", Prom: "sign_outs_total", Help: "Sign-outs.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.SignOuts })},
		{Title: "BC logouts", Prom: "backchannel_logouts_total", Help: "Back-channel logout tokens taken (their sessions ended).", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.BackchannelLogouts })},
		{Title: "BC refused", Prom: "backchannel_refused_total", Help: "Back-channel logout requests refused (400: a bad request or token).", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.BackchannelRefused })},
		{Title: "Bearer OK", Prom: "bearer_accepted_total", Help: "Bearer tokens accepted (verified or from the cache of verified tokens).", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.BearerAccepted })},
		{Title: "Bearer refused", Prom: "bearer_rejected_total", Help: "Bearer tokens refused, by reason.", Type: PromCounter,
			Reasons: func(s *OIDCStats) []ReasonCount { return s.BearerRejected }},
		{Title: "401", Prom: "unauthorized_total", Help: "401 answers.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.Unauthorized })},
		{Title: "503", Prom: "unavailable_total", Help: "503 answers while the provider is not discovered or the session store fails.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.Unavailable })},
		{Title: "Store errors", Prom: "session_store_errors_total", Help: "Session store operations that failed (the requests that needed them got 503).", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.StoreErrors })},
		{Title: "JWKS fetches", Prom: "jwks_fetches_total", Help: "Requests for the provider's JWKS.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.JWKSFetches })},
		{Title: "JWKS failures", Prom: "jwks_fetch_failures_total", Help: "Failed requests for the provider's JWKS.", Type: PromCounter,
			Value: num(func(s *OIDCStats) uint64 { return s.JWKSFailures })},
		{Title: "Keys", Prom: "jwks_keys", Help: "Keys held from the provider's JWKS.", Type: PromGauge,
			Value: func(s *OIDCStats) (float64, bool) { return float64(s.JWKSKeys), true }},
		{Title: "Sessions", Prom: "sessions_active", Help: "Sessions held by the server-side session store (absent for cookie sessions).", Type: PromGauge,
			Value: func(s *OIDCStats) (float64, bool) { return float64(s.SessionsActive), s.SessionsKnown },
			Label: func(s *OIDCStats) (string, string) { return "store", s.SessionStore }},
	}
}

// TokenColumns are the statistics of an identity-token section.
func TokenColumns() []IdentityColumn[TokenStats] {
	num := func(get func(*TokenStats) uint64) func(*TokenStats) (float64, bool) {
		return func(s *TokenStats) (float64, bool) { return float64(get(s)), true }
	}
	return []IdentityColumn[TokenStats]{
		{Title: "Minted", Prom: "minted_total", Help: "Identity tokens signed (a token reused for the same identity is counted once).", Type: PromCounter,
			Value: num(func(s *TokenStats) uint64 { return s.Minted })},
		{Title: "Failures", Prom: "mint_failures_total", Help: "Identity tokens that could not be signed.", Type: PromCounter,
			Value: num(func(s *TokenStats) uint64 { return s.MintFailures })},
		{Title: "JWKS served", Prom: "jwks_served_total", Help: "Answers of the section's JWKS endpoint (use-service jwks:NAME).", Type: PromCounter,
			Value: num(func(s *TokenStats) uint64 { return s.JWKSServed })},
	}
}

func reasonTotal(rs []ReasonCount) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.N
	}
	return n
}

// promIdentity writes the identity families.
func promIdentity(p *promWriter) {
	p.seen = map[string]bool{}
	for _, c := range OIDCColumns() {
		for i := range p.snap.OIDC {
			promIdentityColumn(p, "gatehouse_oidc_", "oidc", p.snap.OIDC[i].Name, &p.snap.OIDC[i], c)
		}
	}
	for _, c := range TokenColumns() {
		for i := range p.snap.Tokens {
			promIdentityColumn(p, "gatehouse_identity_token_", "identity_token", p.snap.Tokens[i].Name, &p.snap.Tokens[i], c)
		}
	}
}

func promIdentityColumn[T any](p *promWriter, prefix, label, name string, s *T, c IdentityColumn[T]) {
	family := prefix + c.Prom
	typ := promTypeName(c.Type)
	labels := []promLabel{{label, name}}
	if c.Reasons != nil {
		for _, r := range c.Reasons(s) {
			p.sample(family, c.Help, typ, append(labels[:1:1], promLabel{"reason", r.Reason}), strconv.FormatUint(r.N, 10))
		}
		return
	}
	v, ok := c.Value(s)
	if !ok {
		return
	}
	if c.Label != nil {
		n, lv := c.Label(s)
		labels = append(labels, promLabel{n, lv})
	}
	p.sample(family, c.Help, typ, labels, strconv.FormatFloat(v, 'f', -1, 64))
}

// htmlIdentity is the page's "Identity" section.
type htmlIdentity struct {
	OIDCTitles  []string
	OIDCRows    [][]template.HTML
	TokenTitles []string
	TokenRows   [][]template.HTML
}

func buildIdentity(snap *Snapshot) *htmlIdentity {
	if len(snap.OIDC) == 0 && len(snap.Tokens) == 0 {
		return nil
	}
	h := &htmlIdentity{}
	oc := OIDCColumns()
	h.OIDCTitles = []string{"oidc", "Issuer"}
	for _, c := range oc {
		h.OIDCTitles = append(h.OIDCTitles, c.Title)
	}
	for i := range snap.OIDC {
		s := &snap.OIDC[i]
		row := []template.HTML{template.HTML(html.EscapeString(s.Name)), template.HTML(html.EscapeString(s.Issuer))}
		for _, c := range oc {
			row = append(row, identityCell(s, c))
		}
		h.OIDCRows = append(h.OIDCRows, row)
	}
	tc := TokenColumns()
	h.TokenTitles = []string{"identity-token", "Issuer"}
	for _, c := range tc {
		h.TokenTitles = append(h.TokenTitles, c.Title)
	}
	for i := range snap.Tokens {
		s := &snap.Tokens[i]
		row := []template.HTML{template.HTML(html.EscapeString(s.Name)), template.HTML(html.EscapeString(s.Issuer))}
		for _, c := range tc {
			row = append(row, identityCell(s, c))
		}
		h.TokenRows = append(h.TokenRows, row)
	}
	return h
}

// identityCell renders a value; a reason-split counter shows its total with
// the reasons in a tooltip, as HAProxy's page details its error counters.
func identityCell[T any](s *T, c IdentityColumn[T]) template.HTML {
	if c.Reasons != nil {
		rs := c.Reasons(s)
		var b strings.Builder
		b.WriteString("<u>" + strconv.FormatUint(reasonTotal(rs), 10) + "<div class=tips><table class=det>")
		for _, r := range rs {
			b.WriteString("<tr><th>" + html.EscapeString(r.Reason) + ":</th><td>" + strconv.FormatUint(r.N, 10) + "</td></tr>")
		}
		b.WriteString("</table></div></u>")
		return template.HTML(b.String())
	}
	v, ok := c.Value(s)
	if !ok {
		return "-"
	}
	if c.Prom == "discovery_ready" {
		if v == 1 {
			return "ready"
		}
		return "<b>retrying</b>"
	}
	out := strconv.FormatFloat(v, 'f', -1, 64)
	if c.Label != nil {
		_, lv := c.Label(s)
		out += " (" + lv + ")"
	}
	return template.HTML(html.EscapeString(out))
}

package stats

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/httpmsg"
	"github.com/gatehouse/gatehouse/internal/userlist"
)

// DefaultURI and DefaultRealm are HAProxy's defaults for "stats uri" and "stats realm".
const (
	DefaultURI   = "/haproxy?stats"
	DefaultRealm = "HAProxy Statistics"
)

// maxAdminBody bounds an admin POST body; larger ones are refused with st=EXCD.
const maxAdminBody = 16 << 10

// Source gives the Service a fresh snapshot per request.
type Source interface {
	Snapshot() *Snapshot
}

// Admin is optionally implemented by a Source to enable the admin form
// ("stats admin if COND").
type Admin interface {
	// AdminAllowed evaluates the "stats admin" condition for req; user is the
	// authenticated "stats auth" user, "" without authentication.
	AdminAllowed(req *httpmsg.Request, user string) bool
	// ApplyAdmin applies a to the named servers of the backend and reports
	// how many were changed and how many could not be.
	ApplyAdmin(a AdminAction) (changed, failed int)
}

// AdminAction is a decoded admin form submission.
type AdminAction struct {
	Backend   string   // backend name
	BackendID int      // backend iid
	Action    string   // ready, drain, maint, dhlth, ehlth, hrunn, hnolb, hdown, dagent, eagent, arunn, adown, shutdown
	Servers   []string // servers of Backend, in submission order, all known
}

// Reply is the response the Service produces; the caller writes it with
// whatever codec serves the connection. Header carries Content-Length; Body
// is nil for HEAD.
type Reply struct {
	Status int
	Header httpmsg.Headers
	Body   []byte
}

// Service serves the stats page of one frontend or listen ("stats enable").
type Service struct {
	uri         string
	realm       string
	auth        [][sha256.Size]byte // sha256("user:pass") of each "stats auth"
	users       []string
	refresh     time.Duration
	hideVersion bool
	legends     bool
	admin       bool // "stats admin" configured
	showNode    bool
	node        string // "": the snapshot's (global "node")
	showDesc    bool
	showModules bool
	desc        string          // "": the snapshot's (global "description")
	scope       map[string]bool // "stats scope"; nil: every proxy
	src         Source
}

// NewService builds the stats service for cfg; src supplies the snapshots.
func NewService(cfg *config.Stats, src Source) *Service {
	s := &Service{uri: DefaultURI, realm: DefaultRealm, src: src}
	if cfg == nil {
		return s
	}
	if cfg.URI != "" {
		s.uri = cfg.URI
	}
	if cfg.Realm != "" {
		s.realm = cfg.Realm
	}
	for _, up := range cfg.Auth {
		s.auth = append(s.auth, sha256.Sum256([]byte(up.User+":"+up.Pass)))
		s.users = append(s.users, up.User)
	}
	s.refresh = cfg.Refresh
	s.hideVersion = cfg.HideVersion
	s.legends = cfg.ShowLegends
	s.admin = cfg.Admin != nil
	s.showNode, s.node = cfg.ShowNode, cfg.Node
	s.showDesc, s.desc = cfg.ShowDesc, cfg.Desc
	s.showModules = cfg.ShowModules
	if len(cfg.Scope) > 0 {
		// "." (this proxy) is resolved by the caller, which knows the name.
		s.scope = map[string]bool{}
		for _, name := range cfg.Scope {
			s.scope[name] = true
		}
	}
	return s
}

// WithSource returns a copy of s reading from src: the app passes a
// per-request source so that "stats admin if COND" sees the request's
// connection (src, TLS, ...), not only its head.
func (s *Service) WithSource(src Source) *Service {
	c := *s
	c.src = src
	return &c
}

// target returns the request-target in origin form (path and query, as
// httpmsg.ParseTarget splits it for every stage), "" when it has no path.
func target(uri string) string {
	tg := httpmsg.SplitTarget(uri)
	p, _ := tg.OriginForm()
	return p
}

// Matches reports whether a request-target (path with its query, as the
// request carries it) is for the stats page: it starts with the stats uri,
// as HAProxy compares them.
func (s *Service) Matches(uri string) bool {
	return s != nil && strings.HasPrefix(target(uri), s.uri)
}

// options are the ";..." flags after the stats uri.
type options struct {
	format    string // "html", "csv", "json", "json-schema", "typed"
	up        bool
	norefresh bool
	st        string
	scope     string
}

func parseOptions(rest string) options {
	o := options{format: "html"}
	for _, part := range strings.Split(rest, ";")[1:] {
		switch {
		case part == "csv":
			o.format = "csv"
		case part == "json":
			o.format = "json"
		case part == "json-schema":
			o.format = "json-schema"
		case part == "typed":
			o.format = "typed"
		case part == "up":
			o.up = true
		case part == "norefresh":
			o.norefresh = true
		case strings.HasPrefix(part, "st="):
			o.st = part[3:]
		case strings.HasPrefix(part, "scope="):
			o.scope, _ = url.QueryUnescape(part[6:])
		}
	}
	return o
}

// Serve answers one stats request. body is the request body (admin POSTs).
func (s *Service) Serve(req *httpmsg.Request, body []byte) *Reply {
	user, ok := s.authenticate(req)
	if !ok {
		return s.unauthorized(req)
	}
	rest := strings.TrimPrefix(target(req.URI), s.uri)
	o := parseOptions(rest)
	switch req.Method {
	case "GET", "HEAD":
	case "POST":
		return s.post(req, user, body, o)
	default:
		r := reply(req, 405, "text/html", []byte("<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n"))
		r.Header.Add("Allow", "GET, HEAD, POST")
		return r
	}
	snap := *s.src.Snapshot() // shallow copy: the page-specific flags stay ours
	snap.Legends = s.legends
	f := Filter{HideDown: o.up, Scope: o.scope, Only: s.scope}
	var b bytes.Buffer
	ctype := "text/plain"
	cols := Columns()
	var err error
	switch o.format {
	case "csv":
		err = writeCSV(&b, &snap, cols, f)
	case "typed":
		err = writeTyped(&b, &snap, cols, f)
	case "json":
		ctype = "application/json"
		err = writeJSON(&b, &snap, cols, f)
	case "json-schema":
		ctype = "application/json"
		b.WriteString(JSONSchema())
	default:
		ctype = "text/html"
		err = WriteHTML(&b, &snap, HTMLOptions{
			URI: s.uri, Refresh: s.refresh, NoRefresh: o.norefresh, HideVersion: s.hideVersion,
			Filter: f, Admin: s.adminAllowed(req, user), Status: o.st,
			Node: s.nodeName(&snap), Desc: s.description(&snap), ShowModules: s.showModules,
		})
	}
	if err != nil {
		return reply(req, 500, "text/html", []byte("<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"))
	}
	r := reply(req, 200, ctype, b.Bytes())
	if o.format == "html" && s.refresh > 0 && !o.norefresh {
		r.Header.Add("Refresh", strconv.Itoa(max(int(s.refresh/time.Second), 1)))
	}
	return r
}

func reply(req *httpmsg.Request, status int, ctype string, body []byte) *Reply {
	r := &Reply{Status: status}
	r.Header.Add("Cache-Control", "no-cache")
	r.Header.Add("Content-Type", ctype)
	r.Header.Add("Content-Length", strconv.Itoa(len(body)))
	if req.Method != "HEAD" {
		r.Body = body
	}
	return r
}

// authenticate checks "stats auth" credentials (Basic), read as the
// userlist fetches read them (userlist.ParseAuthorization: one header,
// strict base64). Every configured pair is compared, in constant time,
// whatever matches.
func (s *Service) authenticate(req *httpmsg.Request) (user string, ok bool) {
	if len(s.auth) == 0 {
		return "", true
	}
	a, _ := userlist.ParseAuthorization(req.Header, nil)
	if a.Scheme != userlist.SchemeBasic {
		return "", false
	}
	h := sha256.New()
	h.Write(a.User)
	h.Write([]byte{':'})
	h.Write(a.Pass)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	match := -1
	for i := range s.auth {
		if subtle.ConstantTimeCompare(sum[:], s.auth[i][:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return "", false
	}
	return s.users[match], true
}

func (s *Service) unauthorized(req *httpmsg.Request) *Reply {
	return Unauthorized(req, s.realm)
}

// Unauthorized is HAProxy's 401 asking for Basic credentials in realm
// ("stats auth", "stats http-request auth").
func Unauthorized(req *httpmsg.Request, realm string) *Reply {
	if realm == "" {
		realm = DefaultRealm
	}
	r := reply(req, 401, "text/html", []byte("<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"))
	r.Header.Add("WWW-Authenticate", `Basic realm="`+strings.ReplaceAll(realm, `"`, `\"`)+`"`)
	return r
}

// nodeName is the page's node name: "" unless "stats show-node".
func (s *Service) nodeName(snap *Snapshot) string {
	if !s.showNode {
		return ""
	}
	return cmpOr(s.node, snap.Info.Node)
}

// description follows the node name with "stats show-desc".
func (s *Service) description(snap *Snapshot) string {
	if !s.showDesc {
		return ""
	}
	return cmpOr(s.desc, snap.Info.Description)
}

func (s *Service) adminAllowed(req *httpmsg.Request, user string) bool {
	if !s.admin {
		return false
	}
	a, ok := s.src.(Admin)
	return ok && a.AdminAllowed(req, user)
}

// post handles an admin form submission and redirects (303) to the page
// with ";st=" telling the result, as HAProxy does.
func (s *Service) post(req *httpmsg.Request, user string, body []byte, o options) *Reply {
	code := s.applyPost(req, user, body)
	loc := s.uri + ";st=" + code
	if o.up {
		loc += ";up"
	}
	if o.norefresh {
		loc += ";norefresh"
	}
	if o.scope != "" {
		loc += ";scope=" + url.QueryEscape(o.scope)
	}
	r := reply(req, 303, "text/html", nil)
	r.Header.Add("Location", loc)
	return r
}

func (s *Service) applyPost(req *httpmsg.Request, user string, body []byte) string {
	if !s.adminAllowed(req, user) {
		return "DENY"
	}
	if len(body) > maxAdminBody {
		return "EXCD"
	}
	a, unknown, code := DecodeAdmin(body, s.src.Snapshot())
	if code != "" {
		return code
	}
	changed, failed := 0, unknown
	if len(a.Servers) > 0 {
		c, f := s.src.(Admin).ApplyAdmin(a)
		changed, failed = c, failed+f
	}
	return adminResult(changed, failed)
}

func adminResult(changed, failed int) string {
	switch {
	case failed == 0 && changed == 0:
		return "NONE"
	case failed == 0:
		return "DONE"
	}
	return "PART"
}

// DecodeAdmin decodes an admin form body (s=SRV&...&action=ACT&b=#ID, in
// any order) against snap. It returns the action with the known servers, the
// number of unknown or ambiguous server names (the result is then PART), and
// a ";st=" code when nothing can be applied: ERRP for an invalid body or an
// unknown action or backend, NONE when no server is selected.
func DecodeAdmin(body []byte, snap *Snapshot) (a AdminAction, unknown int, code string) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return AdminAction{}, 0, "ERRP"
	}
	a.Action = q.Get("action")
	known := false
	for _, act := range AdminActions() {
		known = known || act.Value == a.Action
	}
	if !known {
		return a, 0, "ERRP"
	}
	px := findBackend(snap, q.Get("b"))
	if px == nil {
		return a, 0, "ERRP"
	}
	a.Backend, a.BackendID = px.Name, px.ID
	for _, name := range q["s"] {
		n := 0
		for _, sv := range px.Servers {
			if sv.Name == name {
				n++
			}
		}
		if n != 1 { // unknown or ambiguous
			unknown++
			continue
		}
		a.Servers = append(a.Servers, name)
	}
	if len(q["s"]) == 0 {
		return a, 0, "NONE"
	}
	return a, unknown, ""
}

// findBackend resolves "#ID" or a name to a unique proxy with a backend.
func findBackend(snap *Snapshot, b string) *Proxy {
	if snap == nil || b == "" {
		return nil
	}
	var found *Proxy
	for _, px := range snap.Proxies {
		if px.Backend == nil {
			continue
		}
		match := px.Name == b
		if id, ok := strings.CutPrefix(b, "#"); ok {
			n, err := strconv.Atoi(id)
			match = err == nil && n == px.ID
		}
		if match {
			if found != nil {
				return nil // ambiguous
			}
			found = px
		}
	}
	return found
}

package cfgparse

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// HAProxy 2.6's header case adjustment (mux_h1.c): global pairs, a file of
// pairs, and the proxy options that apply them to HTTP/1 output.

func h1CaseGlobalKeywords() []keyword {
	return []keyword{
		{name: "h1-case-adjust", where: wGlobal, syntax: "h1-case-adjust <from> <to>",
			desc: "Write header <from> (lower case) as <to> to the HTTP/1 clients of frontends with 'option h1-case-adjust-bogus-client' and the HTTP/1 servers of backends with 'option h1-case-adjust-bogus-server'; they may differ only by case; repeat it for more headers, once each. A workaround for peers that read header names case-sensitively.",
			parse: func(p *parser, args []token) error {
				if len(args) > 3 {
					return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", args[0].Text, args[3].Text)
				}
				if len(args) < 3 || args[1].Text == "" || args[2].Text == "" {
					return fmt.Errorf("'%s' expects <from> and <to> as argument.", args[0].Text)
				}
				hc := &p.cfg.Global.H1Case
				if hc.Pairs == nil {
					hc.Pairs = map[string]string{}
				}
				if _, dup := hc.FilePairs[args[1].Text]; dup {
					return fmt.Errorf("'%s' : duplicate entry '%s' (also in '%s')", args[0].Text, args[1].Text, hc.File)
				}
				if err := addCasePair(hc.Pairs, args[1].Text, args[2].Text); err != nil {
					return fmt.Errorf("'%s' : %v", args[0].Text, err)
				}
				return nil
			}},
		{name: "h1-case-adjust-file", where: wGlobal, syntax: "h1-case-adjust-file <hdrs-file>",
			desc: "'h1-case-adjust' pairs from a file, two names a line ('#' comments and blank lines skipped); only the last such line counts.",
			parse: func(p *parser, args []token) error {
				if len(args) != 2 || args[1].Text == "" {
					return fmt.Errorf("'%s' expects <file> as argument.", args[0].Text)
				}
				path := p.path(args[1].Text)
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("'%s' : failed to open file '%s' : %v", args[0].Text, args[1].Text, err)
				}
				pairs, err := parseCaseFile(b)
				if err != nil {
					return fmt.Errorf("'%s' : %s: %v", args[0].Text, args[1].Text, err)
				}
				hc := &p.cfg.Global.H1Case
				for from := range pairs {
					if _, dup := hc.Pairs[from]; dup {
						return fmt.Errorf("'%s' : %s: duplicate entry '%s' (also an 'h1-case-adjust' line)", args[0].Text, args[1].Text, from)
					}
				}
				hc.File, hc.FilePos, hc.FilePairs = path, p.pos(), pairs
				return nil
			}},
	}
}

// addCasePair adds from -> to as HAProxy's add_hdr_case_adjust does.
func addCasePair(m map[string]string, from, to string) error {
	if !strings.EqualFold(from, to) {
		return fmt.Errorf("<from> and <to> must not differ except the case")
	}
	if _, dup := m[from]; dup {
		return fmt.Errorf("duplicate entry '%s'", from)
	}
	m[from] = to
	return nil
}

// parseCaseFile reads "<from> <to>" lines; leading and trailing blanks are
// stripped, '#' lines and blank ones skipped.
func parseCaseFile(b []byte) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.Trim(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: expects <from> and <to>", n)
		}
		if err := addCasePair(m, f[0], f[1]); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
	}
	return m, sc.Err()
}

func h1CaseOptions() []keyword {
	return []keyword{
		{name: "h1-case-adjust-bogus-client", where: wFEOnly, capWarn: true, syntax: "[no] option h1-case-adjust-bogus-client",
			desc:  "Write the header names 'h1-case-adjust' lists in its case to this frontend's HTTP/1 clients (responses, the proxy's own answers included). Names it does not list keep the case they came with (HAProxy writes them in lower case).",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.H1CaseClient })},
		{name: "h1-case-adjust-bogus-server", where: wBEOnly, capWarn: true, syntax: "[no] option h1-case-adjust-bogus-server",
			desc:  "Write the header names 'h1-case-adjust' lists in its case to this backend's HTTP/1 servers (requests). Names it does not list keep the case they came with.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.H1CaseServer })},
		{name: "accept-invalid-http-request", where: wFEOnly, capWarn: true, syntax: "[no] option accept-invalid-http-request",
			desc:  "Relax the HTTP/1 request parser as HAProxy 2.6 does: the request-target may hold '#' and bytes 0x80-0xff, a field name any byte but ':', CR and LF; they are relayed as received. Controls, space and DEL in the target, bare CR, obsolete line folding and every framing rule (Content-Length, Transfer-Encoding) stay refused, and so does a name that is a framing field once its whitespace is trimmed. HAProxy's version relaxations (HTTP/0.9, other protocol names) are not taken. Off by default; never enable it without a confirmed need.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.AcceptInvalidReq })},
		{name: "accept-invalid-http-response", where: wBEOnly, capWarn: true, syntax: "[no] option accept-invalid-http-response",
			desc:  "Relax the HTTP/1 response parser as HAProxy 2.6 does: a field name may hold any byte but ':', CR and LF, relayed to the client as received (HTTP/1 clients). Framing stays strict as with accept-invalid-http-request. Off by default.",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.AcceptInvalidResp })},
		{name: "http-use-proxy-header", where: wFEOnly, capWarn: true, syntax: "[no] option http-use-proxy-header",
			desc:  "A proxied request (its target begins with neither '/' nor '*': absolute-form, CONNECT) authenticates as to a proxy, as HAProxy 2.6 does: 'http-request auth' answers 407 with Proxy-Authenticate, and http_auth, http_auth_group, http_auth_type, http_auth_user, http_auth_pass and http_auth_bearer read Proxy-Authorization. (HAProxy 2.6 no longer reads Proxy-Connection for it.)",
			parse: boolOption(func(px *config.Proxy) *bool { return &px.Sock.UseProxyHeader })},
	}
}

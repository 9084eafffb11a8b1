package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// stickRuleKeywords is persistence by table: "stick on|match|store-request|
// store-response" (HAProxy 2.6's "stick" rules).
func stickRuleKeywords() []keyword {
	return []keyword{
		{name: "stick", where: wBE, capWarn: true,
			syntax: "stick on|match|store-request|store-response <pattern> [table <table>] [{if|unless} <condition>]",
			desc: "Persistence by stick table. 'match' looks <pattern>'s key up in the table (the backend's own, or <table>) and sends the request to the server stored there " +
				"if it is up ('option persist' or 'force-persist': even down), unless a cookie or 'use-server' already chose one; the first matching rule wins. " +
				"'store-request' and 'store-response' (the pattern read from the response) record the server that served the request under the key, once it answers " +
				"(the first rule of each table applies, up to 8 stores per request; servers with 'non-stick' are not recorded). 'on' is 'match' plus 'store-request'. " +
				"The table stores server_id and server_key automatically. Tables start empty after a reload, as HAProxy's without peers.",
			parse: parseStickRule},
	}
}

func parseStickRule(p *parser, args []token) error {
	if len(args) < 2 {
		return fmt.Errorf("'stick' expects 'on', 'match', or 'store'.")
	}
	r := &config.StickRule{Pos: p.pos()}
	switch args[1].Text {
	case "on":
		r.Match, r.Store = true, true
	case "match":
		r.Match = true
	case "store", "store-request":
		r.Store = true
	case "store-response":
		r.Store, r.Response = true, true
	default:
		return fmt.Errorf("'stick' expects 'on', 'match', or 'store'.")
	}
	if len(args) < 3 || args[2].Text == "" || args[2].Text == "table" || args[2].Text == "if" || args[2].Text == "unless" {
		return fmt.Errorf("'stick' expects a fetch method.")
	}
	r.Expr = args[2].Text
	i := 3
	if i < len(args) && args[i].Text == "table" {
		if i+1 >= len(args) {
			// HAProxy then looks up a table named '' and fails there.
			return fmt.Errorf("Proxy '%s': unable to find stick-table ''.", p.ps.px.Name)
		}
		r.Table = args[i+1].Text
		i += 2
	}
	if i < len(args) {
		if args[i].Text != "if" && args[i].Text != "unless" {
			return fmt.Errorf("'stick': unknown keyword '%s'.", args[i].Text)
		}
		c, err := parseCond(p, args, i)
		if err != nil {
			return err
		}
		r.Cond = c
	}
	p.ps.px.StickRules = append(p.ps.px.StickRules, r)
	return nil
}

// checkStickRules resolves the tables stick rules use, as HAProxy's
// check_config_validity: the proxy's own without 'table', else a proxy of
// that name with a stick-table.
func (p *parser) checkStickRules(px *config.Proxy) {
	for _, r := range px.StickRules {
		name := r.Table
		if name == "" {
			name = px.Name
		}
		if p.findStickTable(name) == nil {
			p.errs = append(p.errs, config.Errorf(r.Pos, "Proxy '%s': unable to find stick-table '%s'.", px.Name, name))
		}
	}
}

// parseSrvKey reads a stick-table's "srvkey name|addr".
func parseSrvKey(v string) (string, error) {
	switch v {
	case "name", "addr":
		return v, nil
	}
	return "", fmt.Errorf("stick-table : unknown server key type '%s'.", strings.TrimSpace(v))
}

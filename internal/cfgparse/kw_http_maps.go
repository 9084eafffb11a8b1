package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// mapHTTPActions are the rules changing a pattern file at run time, as
// HAProxy's http_action_set_map: the file is named in parentheses and must
// be used by a map converter or an ACL's -f (the rule does nothing
// otherwise, as in HAProxy); key and value are log-format strings.
func mapHTTPActions() []httpAction {
	return []httpAction{
		{name: "set-map", syntax: "set-map(<file>) <key fmt> <value fmt>", req: true, resp: true,
			desc: "Set the value of the map's first entry with the key, or add the entry; applied at once to every user of the file, lost on reload.", parse: parseMapAction},
		{name: "del-map", syntax: "del-map(<file>) <key fmt>", req: true, resp: true,
			desc: "Delete every entry of the map with the key.", parse: parseMapAction},
		{name: "add-acl", syntax: "add-acl(<file>) <key fmt>", req: true, resp: true,
			desc: "Add the pattern to the ACL file unless it is there.", parse: parseMapAction},
		{name: "del-acl", syntax: "del-acl(<file>) <key fmt>", req: true, resp: true,
			desc: "Delete every entry of the ACL file equal to the pattern.", parse: parseMapAction},
	}
}

func isMapAction(name string) bool {
	switch name {
	case "set-map", "del-map", "add-acl", "del-acl":
		return true
	}
	return false
}

func parseMapAction(p *parser, a *config.HTTPAction, args []token) error {
	name, rest, ok := strings.Cut(a.Action, "(")
	if !ok || !strings.HasSuffix(rest, ")") || len(rest) < 2 {
		return fmt.Errorf("expects a file name in parentheses: '%s(<file>)'", name)
	}
	a.Action, a.MapFile = name, rest[:len(rest)-1]
	if name == "set-map" {
		if len(args) != 2 {
			return fmt.Errorf("expects exactly 2 arguments")
		}
		a.MapKey, a.Value = args[0].Text, args[1].Text
		return nil
	}
	if len(args) != 1 {
		return fmt.Errorf("expects exactly 1 arguments")
	}
	a.MapKey = args[0].Text
	return nil
}

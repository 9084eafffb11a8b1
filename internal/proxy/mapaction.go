package proxy

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// compileMapAction builds set-map, del-map, add-acl and del-acl as HAProxy's
// http_action_set_map: the file is looked up when the rule runs (a file no
// converter or ACL loads makes the rule do nothing), the key and value are
// log-format strings, and a value the file's users cannot take (a bad
// regex, a non-integer for an _int map) leaves the file unchanged.
func compileMapAction(a *config.HTTPAction, env *RuleEnv) (func(t *Txn) bool, error) {
	key, err := env.Format(a.MapKey, a.Pos)
	if err != nil {
		return nil, err
	}
	var val *logging.Format
	if a.Action == "set-map" {
		if val, err = env.Format(a.Value, a.Pos); err != nil {
			return nil, err
		}
	}
	reg, file, action := env.ACLs.Maps(), a.MapFile, a.Action
	return func(t *Txn) bool {
		ref := reg.Lookup(file)
		if ref == nil {
			return false
		}
		// the strings outlive the request: copy them out of the arena
		k := strings.Clone(t.evalFormat(key))
		switch action {
		case "set-map":
			_ = ref.SetFirst(k, strings.Clone(t.evalFormat(val)))
		case "add-acl":
			_ = ref.AddMissing(k)
		default:
			_ = ref.Delete(k, 0, false)
		}
		return false
	}, nil
}

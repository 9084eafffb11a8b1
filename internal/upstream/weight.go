package upstream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DynamicWeights reports whether the farm's algorithm follows weight
// changes (HAProxy's BE_LB_PROP_DYN): every algorithm but static-rr and
// map-based hashing.
func (f *Farm) DynamicWeights() bool {
	switch f.algo {
	case "static-rr":
		return false
	case "source", "uri", "url_param", "hdr", "hash", "rdp-cookie":
		h, ok := f.bal.(*hashBalancer)
		return ok && h.chash
	}
	return true
}

// ChangeWeight applies a weight change request as HAProxy's
// server_parse_weight_change_request reads it (runtime API "set weight",
// an agent's "75%"): "N" is absolute (0..256), "N%" relative to the
// configured weight; a static algorithm only takes 0 or the configured
// weight. The error texts are HAProxy's.
func (s *Server) ChangeWeight(weight string) error {
	num, pct := strings.CutSuffix(weight, "%")
	i := 0
	for i < len(num) && (num[i] >= '0' && num[i] <= '9' || i == 0 && (num[i] == '-' || num[i] == '+')) {
		i++
	}
	w, convErr := strconv.Atoi(num[:i])
	switch {
	case weight == "":
		return errors.New("Require <weight> or <weight%>.\n")
	case convErr != nil:
		return errors.New("Empty weight string empty or preceded by garbage")
	case i != len(num):
		return errors.New("Trailing garbage in weight string")
	case pct && w < 0:
		return errors.New("Relative weight must be positive.\n")
	case pct:
		w = s.InitialWeight() * min(w, 25600) / 100
		w = min(w, MaxWeight)
	case w < 0 || w > MaxWeight:
		return fmt.Errorf("Absolute weight can only be between 0 and %d inclusive.\n", MaxWeight)
	}
	if f := s.Farm(); w != 0 && w != s.InitialWeight() && f != nil && !f.DynamicWeights() {
		return errors.New("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n")
	}
	if err := s.SetWeight(w); err != nil {
		return fmt.Errorf("%v\n", err)
	}
	return nil
}

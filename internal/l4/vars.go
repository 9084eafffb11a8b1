package l4

import (
	"github.com/gatehouse/gatehouse/internal/acl"
	"github.com/gatehouse/gatehouse/internal/logging"
)

// VarRule is a tcp-request set-var, set-var-fmt (Format) or unset-var.
type VarRule struct {
	Action *acl.VarAction
	Format *logging.Format // set-var-fmt; nil otherwise
}

func (s *session) runVar(v *VarRule) {
	if v.Format == nil {
		v.Action.Run(&s.txn)
		return
	}
	c := logging.NewContext()
	s.fill(c)
	v.Action.SetString(&s.txn, string(v.Format.Append(nil, c)))
}

package app

import (
	"github.com/gatehouse/gatehouse/internal/userlist"
)

// buildUserlists builds the "userlist" sections the http_auth fetches of
// every proxy's ACLs refer to. Each gets a new verdict cache: a reload
// never reuses a verdict computed against another configuration.
func (b *builder) buildUserlists() error {
	b.userlists = map[string]*userlist.List{}
	for _, c := range b.cfg.Userlists {
		l, err := userlist.New(c)
		if err != nil {
			return err
		}
		b.userlists[c.Name] = l
	}
	return nil
}

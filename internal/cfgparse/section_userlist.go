package cfgparse

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwd"
)

// The "userlist" section (HAProxy's configuration.txt 3.4), read as 2.6's
// cfg_parse_users reads it. The hashes are checked here, as HAProxy checks
// them by calling crypt(3) while parsing: cfgparse imports the passwd
// package for that, a leaf that knows nothing of the runtime.

func userlistSection() sectionDef {
	return sectionDef{name: "userlist", kind: secIdentity, syntax: "userlist <name>", open: openUserlist,
		kws: userlistKeywords(), ownTable: true,
		desc: "Users and groups for HTTP Basic authentication: checked by the http_auth(<name>) and http_auth_group(<name>) fetches, challenged by 'http-request auth'."}
}

func openUserlist(p *parser, sec *sectionDef, toks []token) {
	name, ok := p.identitySectionName(sec, toks)
	if !ok {
		return
	}
	for _, u := range p.cfg.Userlists {
		if u.Name == name {
			// HAProxy keeps adding the lines that follow to the userlist
			// declared last.
			p.warnf("ignoring duplicated userlist '%s'.", name)
			p.ul = p.cfg.Userlists[len(p.cfg.Userlists)-1]
			return
		}
	}
	p.ul = &config.Userlist{Pos: p.pos(), Name: name}
	p.cfg.Userlists = append(p.cfg.Userlists, p.ul)
}

func userlistKeywords() []keyword {
	return []keyword{
		{name: "user", syntax: "user <name> [password <hash>|insecure-password <password>] [groups <group>[,<group>...]]",
			desc:  "A user. <hash> is a crypt(3) hash: SHA-512 crypt ($6$), SHA-256 crypt ($5$), bcrypt ($2a$, $2b$, $2y$), or MD5-crypt ($1$, accepted with a warning: weak). Verdicts are cached, so a costly hash is paid once per user and password, not per request. A user without a password never authenticates.",
			parse: parseUserlistUser},
		{name: "group", syntax: "group <name> [users <user>[,<user>...]]",
			desc: "A group, with its members (users may also name their groups).", parse: parseUserlistGroup},
	}
}

func parseUserlistGroup(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'group' expects <name> as arguments.")
	}
	name := args[1].Text
	if c, bad := invalidChar(name); bad {
		return fmt.Errorf("character '%c' is not permitted in 'group' name '%s'.", c, name)
	}
	if p.ul == nil {
		return nil
	}
	for _, g := range p.ul.Groups {
		if g.Name == name {
			return warning("ignoring duplicated group '%s' in userlist '%s'.", name, p.ul.Name)
		}
	}
	g := config.UserlistGroup{Pos: p.pos(), Name: name}
	for i := 2; i < len(args); i += 2 {
		if args[i].Text != "users" {
			return fmt.Errorf("'group' only supports 'users' option.")
		}
		if i+1 >= len(args) {
			return fmt.Errorf("'group %s': 'users' expects a comma-separated list of users.", name)
		}
		g.Users = commaList(args[i+1].Text)
	}
	p.ul.Groups = append(p.ul.Groups, g)
	return nil
}

func parseUserlistUser(p *parser, args []token) error {
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'user' expects <name> as arguments.")
	}
	name := args[1].Text
	if p.ul == nil {
		return nil
	}
	for _, u := range p.ul.Users {
		if u.Name == name {
			return warning("ignoring duplicated user '%s' in userlist '%s'.", name, p.ul.Name)
		}
	}
	u := config.UserlistUser{Pos: p.pos(), Name: name}
	var weak bool
	problem := ""
	for i := 2; i < len(args); i += 2 {
		opt := args[i].Text
		switch opt {
		case "password", "insecure-password", "groups":
		default:
			return fmt.Errorf("'user' only supports 'password', 'insecure-password' and 'groups' options.")
		}
		if i+1 >= len(args) {
			return fmt.Errorf("'user %s': '%s' expects an argument.", name, opt)
		}
		v := args[i+1].Text
		switch opt {
		case "password":
			h, err := passwd.Parse(v)
			if err != nil {
				return fmt.Errorf("the encrypted password used for user '%s' is not supported: %v.", name, err)
			}
			u.Password, u.Insecure, weak, problem = v, false, h.Weak(), h.Problem()
		case "insecure-password":
			u.Password, u.Insecure, weak, problem = v, true, false, ""
		case "groups":
			u.Groups = commaList(v)
		}
	}
	p.ul.Users = append(p.ul.Users, u)
	if problem != "" {
		// HAProxy takes it too (crypt(3) accepts the settings or fails
		// without an error it reports) and refuses every password.
		p.warnf("the password hash of user '%s' in userlist '%s' cannot match any password (%s); this user cannot log in.", name, p.ul.Name, problem)
	} else if weak {
		p.warnf("user '%s' in userlist '%s' has an MD5-crypt password ($1$), which is weak (fast to brute-force); prefer SHA-512 crypt ($6$) or bcrypt ($2b$).", name, p.ul.Name)
	}
	return nil
}

// commaList splits a comma-separated list, skipping empty items (strtok).
func commaList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// finishUserlists resolves the groups users name and the users groups
// name, as HAProxy's userlist_postinit does once everything is read.
func (p *parser) finishUserlists() {
	for _, ul := range p.cfg.Userlists {
		groups := map[string]bool{}
		for _, g := range ul.Groups {
			groups[g.Name] = true
		}
		users := map[string]bool{}
		for _, u := range ul.Users {
			users[u.Name] = true
		}
		for _, u := range ul.Users {
			for _, g := range u.Groups {
				if !groups[g] {
					p.errs = append(p.errs, config.Errorf(u.Pos, "userlist '%s': no such group '%s' specified in user '%s'", ul.Name, g, u.Name))
				}
			}
		}
		for _, g := range ul.Groups {
			for _, m := range g.Users {
				if !users[m] {
					p.errs = append(p.errs, config.Errorf(g.Pos, "userlist '%s': no such user '%s' specified in group '%s'", ul.Name, m, g.Name))
				}
			}
		}
	}
}

package config

// Userlist is a "userlist" section (HAProxy's configuration.txt 3.4): users
// and groups that http_auth, http_auth_group and "http-request auth" check
// Basic credentials against.
type Userlist struct {
	Pos    Pos
	Name   string
	Users  []UserlistUser
	Groups []UserlistGroup
}

// UserlistUser is "user NAME [password HASH|insecure-password PW] [groups G1,G2]".
type UserlistUser struct {
	Pos      Pos
	Name     string
	Password string `json:"-"` // a crypt(3) hash, or the password itself when Insecure
	Insecure bool
	Groups   []string
}

// UserlistGroup is "group NAME [users U1,U2]".
type UserlistGroup struct {
	Pos   Pos
	Name  string
	Users []string
}

package runtimeapi

import "bufio"

// DynCookieTarget is a Target whose backends' dynamic persistence cookies
// can be switched and rekeyed at run time.
type DynCookieTarget interface {
	// SetDynamicCookie turns "cookie ... dynamic" on or off.
	SetDynamicCookie(backend string, on bool) error
	// SetDynamicCookieKey replaces the "dynamic-cookie-key".
	SetDynamicCookieKey(backend, key string) error
}

func cookieCommands() []command {
	return []command{
		{[]string{"set", "dynamic-cookie-key", "backend"}, "set dynamic-cookie-key backend <bk> <k> : change a backend secret key for dynamic cookies", LevelAdmin,
			func(ss *session, w *bufio.Writer, a []string) {
				ss.dynCookie(w, func(t DynCookieTarget) error { return t.SetDynamicCookieKey(arg(a, 3), arg(a, 4)) })
			}},
		{[]string{"enable", "dynamic-cookie", "backend"}, "enable dynamic-cookie backend <bk>      : enable dynamic cookies on a specific backend", LevelAdmin,
			func(ss *session, w *bufio.Writer, a []string) {
				ss.dynCookie(w, func(t DynCookieTarget) error { return t.SetDynamicCookie(arg(a, 3), true) })
			}},
		{[]string{"disable", "dynamic-cookie", "backend"}, "disable dynamic-cookie backend <bk>     : disable dynamic cookies on a specific backend", LevelAdmin,
			func(ss *session, w *bufio.Writer, a []string) {
				ss.dynCookie(w, func(t DynCookieTarget) error { return t.SetDynamicCookie(arg(a, 3), false) })
			}},
	}
}

// dynCookie runs a dynamic cookie command; success answers nothing, as
// in HAProxy 2.6.
func (ss *session) dynCookie(w *bufio.Writer, f func(DynCookieTarget) error) {
	t, ok := ss.target.(DynCookieTarget)
	if !ok {
		w.WriteString("No such backend.\n")
		return
	}
	if err := f(t); err != nil {
		w.WriteString(err.Error())
	}
}

// arg is args[i], or "" when the line is shorter.
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

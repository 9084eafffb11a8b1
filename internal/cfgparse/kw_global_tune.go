package cfgparse

import "fmt"

// tuneKeywords are the global keywords that size the data path.
func tuneKeywords() []keyword {
	return []keyword{
		{name: "maxpipes", where: wGlobal, syntax: "maxpipes <number>",
			desc: "Kernel pipes that splicing ('option splice-*', mode tcp) may hold at once, in use or kept free; past it a tunnel copies through user space instead, as HAProxy falls back to its buffers. Default: a quarter of the splicing proxies' maxconn, at most a quarter of the global maxconn (unlimited when neither is set). 'show info' reports Maxpipes, PipesUsed and PipesFree.", parse: parseMaxPipes},
		{name: "tune.maxrewrite", where: wGlobal, syntax: "tune.maxrewrite <number>",
			desc: "Buffer room kept for rules to add to a message head (default 1024, at most half of tune.bufsize): a client or server head may take tune.bufsize minus it (longer: 400 or 502); a rule whose header rewrite makes a head outgrow tune.bufsize fails the request with a 500, counted in wrew, as HAProxy's strict-mode does.", parse: parseMaxRewrite},
		{name: "tune.http.maxhdr", where: wGlobal, syntax: "tune.http.maxhdr <number>",
			desc: "The most lines a message head may have, its start line counted (default 101, range 1..32767), so at most <number>-1 header fields: a request with more is refused with 400, a server response with more is answered 502. A Connection field naming only close/keep-alive does not count. Over HTTP/2 a head must fit a list of 2*<number> entries, pseudo-fields included, as in HAProxy: more is a connection error (COMPRESSION_ERROR) from a client, a 502 from a server; HTTP/3 requests are bounded as HTTP/1.1's.", parse: parseMaxHdr},
		{name: "tune.maxaccept", where: wGlobal, syntax: "tune.maxaccept <-1|number>",
			desc: "Connections a listener accepts in a row before it lets other work run (default 4, HAProxy's; -1: no limit).", parse: parseMaxAccept},
		{name: "tune.rcvbuf.client", where: wGlobal, syntax: "tune.rcvbuf.client <number>",
			desc: "SO_RCVBUF, in bytes, set on every accepted TCP connection of every frontend (HTTP and TCP mode), as HAProxy sets it after accept; the kernel doubles it and stops auto-tuning that buffer. Read as C's atol, as HAProxy 2.6 does (no unit suffix). Default 0: the kernel's size.", parse: parseSockBuf},
		{name: "tune.rcvbuf.server", where: wGlobal, syntax: "tune.rcvbuf.server <number>",
			desc: "SO_RCVBUF, in bytes, set before connect(2) on every TCP socket to a server: HTTP and TCP mode connections and health checks, as HAProxy's tcp_connect_server. The kernel doubles it. Default 0: the kernel's size.", parse: parseSockBuf},
		{name: "tune.sndbuf.client", where: wGlobal, syntax: "tune.sndbuf.client <number>",
			desc: "SO_SNDBUF, in bytes, set on every accepted TCP connection of every frontend (HTTP and TCP mode), as HAProxy sets it after accept; the kernel doubles it and stops auto-tuning that buffer. Default 0: the kernel's size.", parse: parseSockBuf},
		{name: "tune.sndbuf.server", where: wGlobal, syntax: "tune.sndbuf.server <number>",
			desc: "SO_SNDBUF, in bytes, set before connect(2) on every TCP socket to a server: HTTP and TCP mode connections and health checks, as HAProxy's tcp_connect_server. The kernel doubles it. Default 0: the kernel's size.", parse: parseSockBuf},
		{name: "tune.pipesize", where: wGlobal, syntax: "tune.pipesize <number>",
			desc: "The size, in bytes, asked for each kernel pipe that splicing uses (F_SETPIPE_SZ, best effort as HAProxy: the kernel rounds it up to a power of two pages and refuses more than fs.pipe-max-size to an unprivileged process, leaving the pipe as it was). A free pipe is resized when next taken after a reload changes it. Read as C's atol, as HAProxy 2.6 (\"64k\" is 64, so one page). Default (or <= 0): 1 MiB, where HAProxy leaves the system's 64 KiB; a larger pipe moves a full receive queue in one splice call.", parse: parsePipeSize},
		{name: "tune.http.cookielen", where: wGlobal, syntax: "tune.http.cookielen <number>",
			desc: "The longest a 'capture cookie ... len' may be: a longer one is cut to it with a warning (\"truncating capture length to <number> bytes for frontend '<name>'.\"), so %CC and %CS show at most <number> bytes. Read as C's atol, a later line wins, as HAProxy 2.6. Default (or -1): 63.", parse: parseTuneLen},
		{name: "tune.http.logurilen", where: wGlobal, syntax: "tune.http.logurilen <number>",
			desc: "The most bytes of the request line (\"METHOD URI VERSION\") the logs keep: a longer line is cut there, and %r, %HM, %HU, %HP, %HPO, %HQ and %HV show the cut line as HAProxy parses its kept copy (cut before the version: %HV is HTTP/0.9), as do the capture.req.method and capture.req.uri fetches. Read as C's atol, a later line wins, as HAProxy 2.6. Default (or -1): 1023 bytes, HAProxy's 1024-byte buffer with its NUL.", parse: parseTuneLen},
	}
}

// parseTuneLen reads tune.http.logurilen and tune.http.cookielen as
// HAProxy 2.6 (atol, no duplicate check). Below -1 HAProxy would size its
// buffers negatively.
func parseTuneLen(p *parser, args []token) error {
	kw := args[0].Text
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", kw, args[2].Text)
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects an integer argument.", kw)
	}
	n := int(int32(atol(args[1].Text)))
	if n < -1 {
		return fmt.Errorf("'%s' expects a positive integer, got '%s'.", kw, args[1].Text)
	}
	if kw == "tune.http.cookielen" {
		p.cfg.Global.TuneCookieLen = &n
	} else {
		p.cfg.Global.TuneLogURILen = &n
	}
	return nil
}

// parsePipeSize reads tune.pipesize as HAProxy 2.6: atol, a later line
// wins.
func parsePipeSize(p *parser, args []token) error {
	if len(args) > 2 {
		return fmt.Errorf("'tune.pipesize' cannot handle unexpected argument '%s'.", args[2].Text)
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'tune.pipesize' expects an integer argument.")
	}
	p.cfg.Global.TunePipeSize = int(int32(atol(args[1].Text)))
	return nil
}

// parseSockBuf reads tune.{rcv,snd}buf.{client,server} as HAProxy 2.6:
// atol, so "4k" is 4 and "x" is 0; a second line after a non-zero value
// is ignored with a non-fatal alert.
func parseSockBuf(p *parser, args []token) error {
	kw := args[0].Text
	if len(args) > 2 {
		return fmt.Errorf("'%s' cannot handle unexpected argument '%s'.", kw, args[2].Text)
	}
	b := &p.cfg.Global.SockBuf
	v := map[string]*int{
		"tune.rcvbuf.client": &b.ClientRcv, "tune.sndbuf.client": &b.ClientSnd,
		"tune.rcvbuf.server": &b.ServerRcv, "tune.sndbuf.server": &b.ServerSnd,
	}[kw]
	if *v != 0 {
		// HAProxy 2.6 alerts without failing and keeps the first value.
		p.infof("ALERT", "'%s' already specified. Continuing.", kw)
		return nil
	}
	if len(args) < 2 || args[1].Text == "" {
		return fmt.Errorf("'%s' expects an integer argument.", kw)
	}
	*v = int(int32(atol(args[1].Text))) // HAProxy keeps an int
	return nil
}

func parseMaxPipes(p *parser, args []token) error {
	if err := wantArgs(args, "maxpipes", 1, 1, "an integer argument"); err != nil {
		return err
	}
	if p.cfg.Global.MaxPipes != 0 {
		return fmt.Errorf("'maxpipes' already specified. Continuing.")
	}
	n, err := parseInt("'maxpipes'", args[1].Text, 0, 1<<30)
	if err != nil {
		return err
	}
	p.cfg.Global.MaxPipes = n
	return nil
}

func parseMaxAccept(p *parser, args []token) error {
	if err := wantArgs(args, "tune.maxaccept", 1, 1, "an integer argument"); err != nil {
		return err
	}
	if p.cfg.Global.MaxAccept != 0 {
		return fmt.Errorf("'tune.maxaccept' already specified. Continuing.")
	}
	n, err := parseInt("'tune.maxaccept'", args[1].Text, -1, 1<<31-1)
	if err != nil {
		return fmt.Errorf("'tune.maxaccept' expects -1 or an integer from 0 to INT_MAX.")
	}
	p.cfg.Global.MaxAccept = n
	return nil
}

func parseMaxRewrite(p *parser, args []token) error {
	if err := wantArgs(args, "tune.maxrewrite", 1, 1, "an integer argument"); err != nil {
		return err
	}
	if p.cfg.Global.TuneMaxRewrite != nil {
		return fmt.Errorf("'tune.maxrewrite' already specified. Continuing.")
	}
	n, err := parseInt("'tune.maxrewrite'", args[1].Text, 0, 1<<30)
	if err != nil {
		return err
	}
	p.cfg.Global.TuneMaxRewrite = &n
	return nil
}

func parseMaxHdr(p *parser, args []token) error {
	if err := wantArgs(args, "tune.http.maxhdr", 1, 1, "a numeric value"); err != nil {
		return err
	}
	if p.cfg.Global.TuneMaxHdr != 0 {
		return fmt.Errorf("'tune.http.maxhdr' already specified. Continuing.")
	}
	n, err := parseInt("'tune.http.maxhdr'", args[1].Text, 1, 32767)
	if err != nil {
		return err
	}
	p.cfg.Global.TuneMaxHdr = n
	return nil
}

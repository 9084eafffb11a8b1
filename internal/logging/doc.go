// Package logging produces HAProxy-compatible log lines and ships them.
//
// The log-format engine (Compile, Format.Append) understands HAProxy's
// custom log format language (configuration.txt section 8.2.6): "%var",
// "%{+Q,-X}var", "%o" defaults, "%[sample expression]" and "%%". Runs of
// spaces are separators: they collapse, and a separator is only written when
// something was written since the previous one, exactly as HAProxy does (so
// "%hr %hs" without captures leaves no double space).
//
// Targets (stdout, stderr, UDP syslog, unix datagram syslog) frame messages
// as raw, rfc3164, local, rfc5424, short, priority, timed or iso and are fed
// through bounded queues that never block the data path (Logger).
package logging

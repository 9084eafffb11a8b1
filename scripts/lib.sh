# shellcheck shell=bash
# Shared helpers for scripts/*.sh and bench/run.sh. Source it; do not run it.

# as_root CMD...: runs CMD as root (directly when root, through sudo otherwise).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@" || sudo "$@"
	else
		echo "error: need root (or sudo) to run: $*" >&2
		return 1
	fi
}

# have_tool NAME: true when NAME is on PATH or in an sbin directory
# (Debian installs nginx and haproxy in /usr/sbin, outside a user's PATH).
have_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	local d
	for d in /usr/sbin /sbin /usr/local/sbin; do
		[ -x "$d/$1" ] && return 0
	done
	return 1
}

# ensure_packages PKG...: installs the Debian packages that are not installed yet.
# Runs apt-get update only when something is missing, so a ready machine stays offline.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq >/dev/null
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_hosts_entry NAME: maps NAME to 127.0.0.1 in /etc/hosts when absent.
ensure_hosts_entry() {
	local name="$1"
	if ! awk -v n="$name" '$1 == "127.0.0.1" { for (i = 2; i <= NF && $i !~ /^#/; i++) if ($i == n) found = 1 } END { exit !found }' /etc/hosts; then
		echo "adding 127.0.0.1 $name to /etc/hosts" >&2
		local nl=""
		[ -s /etc/hosts ] && [ "$(tail -c1 /etc/hosts | od -An -c | tr -d ' ')" != '\n' ] && nl=$'\n'
		printf '%s127.0.0.1 %s\n' "$nl" "$name" | as_root tee -a /etc/hosts >/dev/null
	fi
}

# The nginx/haproxy packages start system services on install; tests run their own
# instances on free ports, so stop the system ones if they happen to be running.
stop_system_services() {
	local s
	for s in nginx haproxy redis-server redis-sentinel named caddy; do
		if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$s" 2>/dev/null; then
			as_root systemctl stop "$s" || true
		fi
	done
}

export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"

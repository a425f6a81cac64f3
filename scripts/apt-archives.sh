# shellcheck shell=bash
# Sourced by fetch-upstream and check-debian-updates: the Debian archive
# roots this machine's apt is configured with.  No host is ever written
# into the repository; the archives are read from apt at run time.

# apt's archive URIs, one per line, in file order: one-line style
# (sources.list, *.list) and deb822 style (*.sources, without the stanzas
# that say "Enabled: no")
apt_source_uris() {
	local sl sp f
	eval "$(apt-config shell sl Dir::Etc::sourcelist/f sp Dir::Etc::sourceparts/d)"
	for f in "$sl" "$sp"/*.list; do
		[ -f "$f" ] || continue
		# deb [opt=val ...] URI suite components
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" || $1 == "deb-src" { print $2 }'
	done
	for f in "$sp"/*.sources; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' "$f" | awk '
			function flush() { if (en && uris != "") print uris; uris = ""; en = 1 }
			BEGIN { en = 1 }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "enabled:" && tolower($2) == "no" { en = 0 }
			tolower($1) == "uris:" { $1 = ""; uris = $0 }
			END { flush() }' | tr ' \t' '\n\n'
	done
}

# debian_roots REGEX: the archive roots whose path matches REGEX at its end
# ("/debian", "/debian-security", "/debian(-security)?"), each once; other
# repositories configured on the machine are never asked for Debian's files
debian_roots() {
	apt_source_uris | sed -e 's,/*$,,' | grep -E "^(https?|file):.*$1\$" |
		awk '!seen[$0]++' || true
}

#!/bin/bash
# The repository holds only our delta: no file tracked in git is an upstream
# file or a file of Debian's packaging (Debian's patches are fetched, never
# committed), and the prepared trees are not inside the checkout's tracked paths.
# usage: delta-only.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp

git -C "$repo" rev-parse --git-dir > /dev/null 2>&1 ||
	die "$repo is not a git checkout, cannot list tracked files"
tarball=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" 2>/dev/null) || die "no tarball"
tar -tzf "$tarball" | sed 's|^[^/]*/||' | grep -v '/$' | sort -u > "$TMP/upstream"
git -C "$repo" ls-files | sort -u > "$TMP/ours"
check "upstream file list is real ($(wc -l < "$TMP/upstream") files)" [ "$(wc -l < "$TMP/upstream")" -gt 1000 ]
# a tracked path that upstream also has (CMakeLists.txt, README.md...) must
# be our own file: its content differs from upstream's
tar -xzf "$tarball" -C "$TMP" || die "extract"
same=""
for f in $(comm -12 "$TMP/upstream" "$TMP/ours"); do
	cmp -s "$TMP/libwebsockets-4.3.5/$f" "$repo/$f" && same="$same $f"
done
check "no tracked file is a copy of the upstream file at its path (found:${same:- none})" [ -z "$same" ]
check "no tracked .c/.h file is byte-identical to an upstream file" \
	bash -c "cd '$repo' && \
		! (git ls-files '*.c' '*.h' | while read -r f; do \
			find '$TMP/libwebsockets-4.3.5' -name \"\$(basename \"\$f\")\" -exec cmp -s {} \"\$f\" \; -print; done | grep -q .)"
# Debian's packaging: no tracked file has the content of one of its files
deb=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" debian 2>/dev/null) || die "no Debian packaging"
mkdir -p "$TMP/debian" && tar -xJf "$deb" -C "$TMP/debian" || die "extract $deb"
(cd "$TMP/debian" && find . -type f -size +0 -exec sha256sum {} + | cut -d' ' -f1 | sort -u) > "$TMP/deb.sums"
check "Debian's packaging has its patches ($(ls "$TMP/debian/debian/patches" | wc -l) files)" \
	[ "$(ls "$TMP/debian/debian/patches" | wc -l)" -ge 5 ]
copies=$(cd "$repo" && git ls-files -z | xargs -0 sha256sum 2>/dev/null | \
	grep -F -f "$TMP/deb.sums" | awk '{ print $2 }' | tr '\n' ' ')
check "no tracked file is a copy of a file of Debian's packaging (found: ${copies:-none})" [ -z "$copies" ]
finish

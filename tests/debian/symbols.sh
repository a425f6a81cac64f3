#!/bin/bash
# Symbols: our libwebsockets.so.19 exports everything Debian's does.
# Debian's binary package of the pinned revision is unpacked (never
# installed).  The hardened and vanilla libraries of BACKEND must export
# every dynamic symbol Debian's exports; the mbedTLS and wolfSSL builds may
# lack only the OpenSSL-specific ones listed, with the reason, in
# openssl-only-symbols.txt (an exception that is no longer needed fails
# too, so the list stays true).  With OpenSSL, dpkg-gensymbols also checks
# the library against Debian's symbols file (debian/libwebsockets19t64.symbols):
# no symbol may disappear.
# usage: symbols.sh REPO STAGE_ROOT BACKEND
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo} stage=$(readlink -f "${2:?stage root}") backend=${3:?backend}
mk_tmp
. "$(dirname "$0")/debian-lib.sh"
unpack_debian

exported "$DEB_SO" > "$TMP/debian.syms"
n_deb=$(wc -l < "$TMP/debian.syms")
check "Debian's binary exports a real symbol table ($n_deb symbols)" [ "$n_deb" -gt 300 ]

allowed=/dev/null
if [ "$backend" != openssl ]; then
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$(dirname "$0")/openssl-only-symbols.txt" |
		awk -v b="$backend" '{ n = split($2, l, ","); for (i = 1; i <= n; i++) if (l[i] == b) print $1 }' |
		sort -u > "$TMP/allowed"
	allowed="$TMP/allowed"
fi

for flavour in hardened vanilla; do
	so="$stage/$flavour-$backend/lib/libwebsockets.so.19"
	[ -f "$so" ] || die "$so missing: build first"
	exported "$so" > "$TMP/$flavour.syms"
	comm -23 "$TMP/debian.syms" "$TMP/$flavour.syms" > "$TMP/$flavour.missing"
	lost=$(comm -23 "$TMP/$flavour.missing" "$allowed" | tr '\n' ' ')
	check "$flavour-$backend exports every symbol of Debian's $(basename "$DEB_SO") (missing beyond the OpenSSL-only list: ${lost:-none})" \
		[ -z "$lost" ]
	if [ "$backend" != openssl ]; then
		stale=$(comm -13 "$TMP/$flavour.missing" "$allowed" | tr '\n' ' ')
		check "$flavour-$backend: every listed OpenSSL-only exception is still missing (exported after all: ${stale:-none})" \
			[ -z "$stale" ]
	fi
	echo "    $flavour-$backend: $(wc -l < "$TMP/$flavour.syms") symbols," \
		"$(comm -13 "$TMP/debian.syms" "$TMP/$flavour.syms" | wc -l) not in Debian's," \
		"$(wc -l < "$TMP/$flavour.missing") of Debian's missing"
done
check "hardened adds lws_hardened_version to Debian's set" grep -qx lws_hardened_version "$TMP/hardened.syms"

if [ "$backend" = openssl ]; then
	command -v dpkg-gensymbols > /dev/null || die "dpkg-gensymbols missing (apt-get install dpkg-dev)"
	so="$stage/hardened-$backend/lib/libwebsockets.so.19"
	mkdir -p "$TMP/pkg/DEBIAN"
	# -c1: fail if a symbol of the symbols file has disappeared
	out=$(cd "$TMP/deb" && dpkg-gensymbols -plibwebsockets19t64 -v4.3.5 \
		-P"$TMP/pkg" -e"$so" -I"$DEB_SYMBOLS" -O"$TMP/gen.symbols" -c1 2>&1); rc=$?
	sed 's/^/    | /' <<< "$out" | head -40
	check "dpkg-gensymbols against Debian's symbols file: nothing lost (exit $rc)" [ $rc -eq 0 ]
	check "dpkg-gensymbols lists our additions as new" grep -q '^+ *lws_hardened_version@Base' <<< "$out"
	# control: the same check with one symbol the library lacks must fail
	sed 's/^ lws_hdr_copy@Base .*/&\n lws_not_exported_anywhere@Base 1.2/' "$DEB_SYMBOLS" > "$TMP/ctl.symbols"
	(cd "$TMP/deb" && dpkg-gensymbols -plibwebsockets19t64 -v4.3.5 -P"$TMP/pkg" -e"$so" \
		-I"$TMP/ctl.symbols" -O"$TMP/ctl.out" -c1 > "$TMP/ctl.log" 2>&1); rc=$?
	check "control: dpkg-gensymbols fails when a symbol of the file is lost (exit $rc)" \
		bash -c "[ $rc -ne 0 ] && grep -q '^- *lws_not_exported_anywhere@Base' '$TMP/ctl.log'"
fi
finish

#!/bin/bash
# Debian's applications: a program built against Debian's own headers and
# library (from libwebsockets-dev and libwebsockets19t64 of the pinned
# revision, unpacked, never installed) runs on our libraries, and the
# interface it was built against is ours.
#   1. lws_config.h: every feature switch (LWS_WITH_*, LWS_ROLE_*,
#      LWS_WITHOUT_*, LWS_NO_*, LWS_IPV6...) of our OpenSSL builds is
#      Debian's; the probes of the build machine's libraries (LWS_HAVE_*)
#      and install paths may differ and are listed
#   2. every public struct (pahole over the DWARF of a unit that includes
#      libwebsockets.h) has the same size and member offsets with Debian's
#      headers as with ours
#   3. the drop-in program, compiled against Debian's headers and linked
#      against Debian's libwebsockets.so.19, refers to the functions only
#      Debian's configuration exports and runs its wss round trips on the
#      hardened and the vanilla library, every symbol bound at load
#      (LD_BIND_NOW=1)
#   4. the evlib plugins for libuv, libev and glib are staged where Debian
#      installs them (lib/libwebsockets-evlib_<name>.so) and load against our
#      library with every symbol bound
# usage: headers.sh REPO STAGE_ROOT BACKEND   (openssl: Debian builds no other)
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo} stage=$(readlink -f "${2:?stage root}") backend=${3:?backend}
mk_tmp
. "$(dirname "$0")/debian-lib.sh"
unpack_debian
command -v pahole > /dev/null || die "pahole missing (apt-get install dwarves)"
hardened="$stage/hardened-$backend" vanilla="$stage/vanilla-$backend"
for d in "$hardened" "$vanilla"; do
	[ -e "$d/lib/libwebsockets.so.19" ] || die "$d/lib/libwebsockets.so.19 missing: build first"
done

# 1. the configuration
switches() { # lws_config.h -> the feature switches it turns on, sorted
	grep -E '^#define (LWS_(WITH|ROLE|WITHOUT|NO|IPV6|UNIX|CLIENT|SSL|OPENSSL|MAX_SMP|PLAT)[A-Z0-9_]*)' "$1" |
		awk '{ print $2 }' | sort -u
}
switches "$DEB_INC/lws_config.h" > "$TMP/debian.sw"
check "Debian's lws_config.h has its switches ($(wc -l < "$TMP/debian.sw"))" [ "$(wc -l < "$TMP/debian.sw")" -gt 30 ]
for d in "$vanilla" "$hardened"; do
	switches "$d/include/lws_config.h" > "$TMP/ours.sw"
	delta=$(diff "$TMP/debian.sw" "$TMP/ours.sw" | grep '^[<>]' | tr '\n' ' ')
	check "$(basename "$d") turns on exactly Debian's feature switches (differences: ${delta:-none})" [ -z "$delta" ]
done
have=$(diff <(grep -E '^#define LWS_HAVE_' "$DEB_INC/lws_config.h" | sort) \
	<(grep -E '^#define LWS_HAVE_' "$hardened/include/lws_config.h" | sort) | grep '^[<>]' | tr '\n' ' ')
echo "    build-machine probes that differ (< Debian's trixie build, > ours): ${have:-none}"

# 2. struct layouts
layouts() { # INCLUDE_DIR OUT: pahole of every struct named lws* or lejp*
	echo '#include <libwebsockets.h>' > "$TMP/u.c"
	cc -g -fno-eliminate-unused-debug-types -c -o "$TMP/u.o" -I"$1" "$TMP/u.c" ||
		die "cannot compile against $1"
	pahole --suppress_aligned_attribute "$TMP/u.o" > "$TMP/all.pahole" || die "pahole failed"
	awk '/^struct (lws|lejp|lecp|lhp)[a-z0-9_]* \{/ { p = 1 } p { print } /^};/ { p = 0 }' \
		"$TMP/all.pahole" | sed '/--- cacheline .* boundary/d' > "$2"
}
layouts "$DEB_INC" "$TMP/debian.layout"
n=$(grep -c '^struct ' "$TMP/debian.layout")
check "pahole saw Debian's public structs ($n)" [ "$n" -gt 50 ]
cci=$(awk '/^struct lws_context_creation_info \{/ { p = 1 } p && /size:/ { print; exit }' "$TMP/debian.layout")
check "lws_context_creation_info is 744 bytes with Debian's headers ($cci)" grep -q 'size: 744,' <<< "$cci"
for d in "$vanilla" "$hardened"; do
	layouts "$d/include" "$TMP/ours.layout"
	# our headers may add structs of their own; every struct of Debian's must be the same
	missing="" differ=""
	for s in $(sed -n 's/^struct \([a-z0-9_]*\) {.*/\1/p' "$TMP/debian.layout" | sort -u); do
		a=$(awk -v s="$s" '$0 ~ "^struct " s " \\{" { p = 1 } p { print } p && /^};/ { exit }' "$TMP/debian.layout")
		b=$(awk -v s="$s" '$0 ~ "^struct " s " \\{" { p = 1 } p { print } p && /^};/ { exit }' "$TMP/ours.layout")
		[ -n "$b" ] || { missing="$missing $s"; continue; }
		[ "$a" = "$b" ] || differ="$differ $s"
	done
	check "$(basename "$d"): all $n public structs have Debian's size and offsets (different:${differ:- none}; missing:${missing:- none})" \
		[ -z "$differ$missing" ]
done

# 3. the drop-in program, built the way a Debian application is built
"$repo/test-apps/stress/gen-certs.sh" "$TMP/pki" > /dev/null 2>&1 || die "gen-certs failed"
debian_libdir=$(dirname "$DEB_SO")
cc -DDROPIN_DEBIAN_API -o "$TMP/dropin" "$repo/tests/dropin/dropin.c" -I"$DEB_INC" \
	-L"$debian_libdir" -lwebsockets -ldl -Wl,--disable-new-dtags -Wl,--allow-shlib-undefined ||
	die "cannot compile the drop-in program against Debian's headers and library"
needed=$(readelf -d "$TMP/dropin" | sed -n 's/.*NEEDED.*\[\(libwebsockets[^]]*\)\]/\1/p')
check "built against Debian's library: it needs $needed" [ "$needed" = libwebsockets.so.19 ]
for sym in lws_daemonize lws_plugins_init lws_plugins_destroy lws_context_init_extensions \
	   lws_ext_parse_options lws_buflist_describe; do
	check "the program refers to Debian's $sym" bash -c "nm -D --undefined-only '$TMP/dropin' | grep -qw $sym"
done
for d in "$vanilla" "$hardened"; do
	out=$(LD_BIND_NOW=1 LD_LIBRARY_PATH="$d/lib" timeout 60 "$TMP/dropin" \
		"$TMP/pki/ca.pem" "$TMP/pki/server.pem" "$TMP/pki/server.key" 5 2>&1); rc=$?
	echo "--- Debian-built program on $(basename "$d") (LD_BIND_NOW=1):"; sed 's/^/    /' <<< "$out"
	check "runs with every symbol bound and echoes 5/5 rounds on $(basename "$d") (exit $rc)" [ $rc -eq 0 ]
	check "the loader mapped $(basename "$d")'s library" \
		grep -qF "library file: $d/lib/libwebsockets.so.19" <<< "$out"
	check "all six Debian-only functions resolved on $(basename "$d")" \
		grep -q "Debian-only API resolved: 6 of 6" <<< "$out"
done
check "the hardened library identifies itself to the Debian-built program" \
	grep -q "library identity: lws-hardened" <<< "$out"
# Debian's evlib plugins, staged where Debian installs them: each must load
# against our library with every symbol resolved at once
for evlib in uv ev glib; do
	plugin="$hardened/lib/libwebsockets-evlib_$evlib.so"
	check "hardened stages Debian's plugin libwebsockets-evlib_$evlib.so" [ -f "$plugin" ]
	out=$(LD_BIND_NOW=1 LD_LIBRARY_PATH="$hardened/lib" python3 -c \
		"import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('loaded')" "$plugin" 2>&1)
	check "the $evlib plugin loads against hardened with every symbol bound (${out:0:120})" \
		grep -qx loaded <<< "$out"
done
finish

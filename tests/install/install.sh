#!/bin/bash
# Install as a replacement: the hardened variant installs with upstream's
# layout (same files as vanilla, plus our one new header), and applications
# build against it with pkg-config and with the CMake package.  With
# --superbuild, 'cmake --install' of the top-level build is checked too
# (DESTDIR + --prefix).
# usage: install.sh REPO BUILD_ROOT BACKEND [--superbuild]
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo} bin=${2:?build root} backend=${3:?backend} super=${4:-}
mk_tmp
h="$bin/lws/hardened-$backend" v="$bin/lws/vanilla-$backend"

"$repo/scripts/install-variant" "$h" "$TMP/h" 2>/dev/null || die "install of hardened failed"
"$repo/scripts/install-variant" "$v" "$TMP/v" 2>/dev/null || die "install of vanilla failed"

for f in include/libwebsockets.h include/lws_config.h \
	 include/libwebsockets/lws-hardened.h lib/libwebsockets.so.19 \
	 lib/libwebsockets.so lib/pkgconfig/libwebsockets.pc \
	 lib/cmake/libwebsockets/libwebsockets-config.cmake \
	 lib/cmake/libwebsockets/LibwebsocketsTargets.cmake; do
	check "installed $f" [ -e "$TMP/h/$f" ]
done
check "libwebsockets.so points at libwebsockets.so.19" \
	[ "$(readlink "$TMP/h/lib/libwebsockets.so")" = libwebsockets.so.19 ]

(cd "$TMP/h" && find . | sort) > "$TMP/h.list"
(cd "$TMP/v" && find . | sort) > "$TMP/v.list"
extra=$(comm -13 "$TMP/v.list" "$TMP/h.list" | tr '\n' ' ')
missing=$(comm -23 "$TMP/v.list" "$TMP/h.list" | tr '\n' ' ')
check "hardened installs every file vanilla installs (missing: ${missing:-none})" [ -z "$missing" ]
# the only additions allowed are our overlay's public headers
expected=$(cd "$repo" && find ./include -type f | sort | tr '\n' ' ')
check "hardened adds only the overlay's headers (extra: ${extra:-none})" \
	[ "$extra" = "$expected" ]
check "libwebsockets.pc names the install prefix" \
	grep -qx "prefix=\"$TMP/h\"" "$TMP/h/lib/pkgconfig/libwebsockets.pc"

# an application built with pkg-config
flags=$(PKG_CONFIG_PATH="$TMP/h/lib/pkgconfig" pkg-config --cflags --libs libwebsockets) ||
	die "pkg-config cannot resolve libwebsockets"
cc -o "$TMP/pc-consumer" "$repo/tests/install/consumer/consumer.c" $flags ||
	die "pkg-config build failed"
out=$(LD_LIBRARY_PATH="$TMP/h/lib" "$TMP/pc-consumer"); rc=$?
check "pkg-config consumer runs on the installed library: '$out'" \
	bash -c "[ $rc -eq 0 ] && grep -q 'consumer: lws-hardened' <<< '$out'"

# an application built with find_package(libwebsockets)
cmake -S "$repo/tests/install/consumer" -B "$TMP/cm" -DCMAKE_PREFIX_PATH="$TMP/h" > "$TMP/cm.log" 2>&1 &&
	cmake --build "$TMP/cm" >> "$TMP/cm.log" 2>&1 || { cat "$TMP/cm.log"; die "CMake consumer build failed"; }
out=$("$TMP/cm/consumer"); rc=$?
check "CMake-package consumer runs: '$out'" \
	bash -c "[ $rc -eq 0 ] && grep -q 'consumer: lws-hardened' <<< '$out'"
check "CMake consumer links the installed library" \
	bash -c "ldd '$TMP/cm/consumer' | grep -q '$TMP/h/lib/libwebsockets.so.19'"

if [ "$super" = --superbuild ]; then
	variant=$(sed -n 's/^LWSH_INSTALL_VARIANT:STRING=//p' "$bin/CMakeCache.txt")
	DESTDIR="$TMP/dd" cmake --install "$bin" --prefix /opt/lwsh > "$TMP/inst.log" 2>&1
	rc=$?
	check "top-level cmake --install with DESTDIR and --prefix (exit $rc, variant $variant)" [ $rc -eq 0 ]
	check "installed into DESTDIR/prefix" [ -e "$TMP/dd/opt/lwsh/lib/libwebsockets.so.19" ]
	check "its libwebsockets.pc names the prefix, not the DESTDIR" \
		grep -qx 'prefix="/opt/lwsh"' "$TMP/dd/opt/lwsh/lib/pkgconfig/libwebsockets.pc"
	check "the installed library is the selected variant ($variant)" \
		cmp -s "$TMP/dd/opt/lwsh/lib/libwebsockets.so.19" "$bin/stage/$variant/lib/libwebsockets.so.19"
fi
finish

# shellcheck shell=bash
# Shared by the tests that compare our libraries with Debian's own binary
# packages of the pinned revision: unpack them (dpkg-deb -x, never
# installed) and Debian's packaging into $TMP/deb.
# needs: tests/lib.sh sourced, mk_tmp called, $repo set
unpack_debian() {
	local f
	command -v dpkg-deb > /dev/null || die "dpkg-deb missing (scripts/install-deps)"
	mkdir -p "$TMP/deb"
	for f in lib-deb dev-deb; do
		f=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" $f 2> /dev/null) ||
			die "Debian's $f is not in the cache (configure the build first)"
		dpkg-deb -x "$f" "$TMP/deb" || die "dpkg-deb -x $f failed"
	done
	f=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" debian 2> /dev/null) ||
		die "Debian's packaging is not in the cache (configure the build first)"
	tar -xJf "$f" -C "$TMP/deb" || die "cannot extract $f"
	DEB_SO=$(find "$TMP/deb/usr/lib" -name libwebsockets.so.19 | head -1)
	DEB_INC="$TMP/deb/usr/include"
	DEB_SYMBOLS="$TMP/deb/debian/libwebsockets19t64.symbols"
	[ -f "$DEB_SO" ] && [ -f "$DEB_INC/libwebsockets.h" ] && [ -f "$DEB_SYMBOLS" ] ||
		die "Debian's packages lack the library, headers or symbols file"
}

# defined dynamic function and data symbols of a shared library, sorted
exported() { nm -D --defined-only "$1" | awk '{ print $3 }' | sort -u; }

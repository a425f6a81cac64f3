#!/bin/bash
# build-mosquitto.sh: build mosquitto, a real consumer of libwebsockets, from
# Debian's source: its clients once per version, its broker (with websockets
# and TLS) against each staged lws variant.
#
# usage: build-mosquitto.sh REPO VERSION --clients OUT_DIR
#        build-mosquitto.sh REPO VERSION STAGE_DIR OUT_DIR CLIENTS_DIR
#   VERSION    a mosquitto version pinned in scripts/upstream.conf
#              (LWSH_MOSQUITTO_VERSIONS), fetched from Debian's archive and
#              verified by scripts/fetch-upstream
#   --clients  build libmosquitto, mosquitto_pub and mosquitto_sub into
#              OUT_DIR/bin (they do not use libwebsockets)
#   STAGE_DIR  a variant's staged install (include/, lib/libwebsockets.so.19):
#              the broker is built against it into OUT_DIR/bin/mosquitto,
#              with a runpath that names STAGE_DIR/lib, so it runs on exactly
#              that variant's library (checked with ldd); the clients of
#              CLIENTS_DIR/bin (a --clients build) are linked beside it
# Built like Debian builds it, minus what the tests do not need (docs,
# cJSON output, systemd, SRV lookups).  A rebuild happens only when the
# tarball, this script or the variant's library changed.  Fails loudly with the reason.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
fail() { echo "build-mosquitto: error: $*" >&2; exit 1; }
usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 4 ] || usage
repo=$1 version=$2
if [ "$3" = --clients ]; then
	[ $# -eq 4 ] || usage
	stage="" out=$4 clients=""
else
	[ $# -eq 5 ] || usage
	stage=$(readlink -f "$3") out=$4 clients=$(readlink -f "$5")
	[ -f "$stage/include/libwebsockets.h" ] ||
		fail "$stage has no include/libwebsockets.h (not a staged variant)"
	[ -e "$stage/lib/libwebsockets.so.19" ] || fail "$stage has no lib/libwebsockets.so.19"
	for c in mosquitto_pub mosquitto_sub; do
		[ -x "$clients/bin/$c" ] || fail "$clients/bin/$c missing (build --clients first)"
	done
fi

tarball=$("$repo/scripts/fetch-upstream" "mosquitto-$version") ||
	fail "cannot obtain mosquitto $version (see above)"
mkdir -p "$out"
out=$(readlink -f "$out")
stamp="$out/.built"
# the tarball, this script and the variant's library decide
want="$(sha256sum "$tarball" | cut -d' ' -f1) $(sha256sum "$0" | cut -d' ' -f1)"
[ -n "$stage" ] && want="$want $(sha256sum "$stage/lib/libwebsockets.so.19" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "build-mosquitto: $out is up to date"
	exit 0
fi

rm -rf "$out/src" "$out/bin" "$stamp"
mkdir -p "$out/src" "$out/bin"
tar -xzf "$tarball" -C "$out/src" --strip-components=1 ||
	fail "cannot unpack $tarball"
opts=(WITH_TLS=yes WITH_DOCS=no WITH_CJSON=no WITH_SYSTEMD=no WITH_SRV=no
      WITH_STRIP=no WITH_BUNDLED_DEPS=yes "CFLAGS=-O2 -g -Wall")
make_in() {
	make -C "$out/src/$1" -j2 "${opts[@]}" "${@:2}" > "$out/make-$1.log" 2>&1 ||
		{ tail -30 "$out/make-$1.log" >&2; fail "make in $1 failed (log: $out/make-$1.log)"; }
}

if [ -z "$stage" ]; then
	make_in lib "LDFLAGS=-Wl,-rpath,$out/bin"
	make_in client "LDFLAGS=-Wl,-rpath,$out/bin"
	cp "$out/src/client/mosquitto_pub" "$out/src/client/mosquitto_sub" "$out/bin/"
	cp -P "$out/src/lib/libmosquitto.so"* "$out/bin/"
	echo "$want" > "$stamp"
	echo "build-mosquitto: mosquitto $version clients in $out/bin"
	exit 0
fi

make_in src WITH_WEBSOCKETS=yes "CPPFLAGS=-I$stage/include" \
	"LDFLAGS=-L$stage/lib -Wl,-rpath,$stage/lib -Wl,--disable-new-dtags"
cp "$out/src/src/mosquitto" "$out/bin/"
ln -s "$clients/bin/"* "$out/bin/"

# the broker must load this variant's library, not another one
got=$(ldd "$out/bin/mosquitto" | awk '$1 ~ /^libwebsockets\.so/ { print $3 }')
[ "$(readlink -f "$got")" = "$(readlink -f "$stage/lib/libwebsockets.so.19")" ] ||
	fail "the broker loads '$got', not $stage/lib/libwebsockets.so.19"
echo "$want" > "$stamp"
echo "build-mosquitto: mosquitto $version broker on $stage in $out/bin"

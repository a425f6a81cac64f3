#!/bin/bash
# build-mosquitto.sh: build mosquitto (broker and clients), a real consumer of
# libwebsockets, with websockets and TLS against one staged lws variant.
#
# usage: build-mosquitto.sh REPO VERSION STAGE_DIR OUT_DIR
#   VERSION    a mosquitto version pinned in scripts/upstream.conf
#              (LWSH_MOSQUITTO_VERSIONS), fetched from Debian's archive and
#              verified by scripts/fetch-upstream
#   STAGE_DIR  the variant's staged install (include/, lib/libwebsockets.so.19)
#   OUT_DIR    where the build goes; OUT_DIR/bin then holds mosquitto,
#              mosquitto_pub and mosquitto_sub, whose runpath names
#              STAGE_DIR/lib first: each binary runs on exactly that
#              variant's library (check: ldd OUT_DIR/bin/mosquitto)
# Built like Debian builds it, minus what the tests do not need (docs,
# cJSON output, systemd, SRV lookups).  A rebuild happens only when the
# tarball or the variant's library changed.  Fails loudly with the reason.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -eq 4 ] || { echo "usage: build-mosquitto.sh REPO VERSION STAGE_DIR OUT_DIR" >&2; exit 2; }
repo=$1 version=$2 stage=$(readlink -f "$3") out=$4
fail() { echo "build-mosquitto: error: $*" >&2; exit 1; }
[ -f "$stage/include/libwebsockets.h" ] || fail "$stage has no include/libwebsockets.h (not a staged variant)"
[ -e "$stage/lib/libwebsockets.so.19" ] || fail "$stage has no lib/libwebsockets.so.19"

tarball=$("$repo/scripts/fetch-upstream" "mosquitto-$version") ||
	fail "cannot obtain mosquitto $version (see above)"
mkdir -p "$out"
out=$(readlink -f "$out")
stamp="$out/.built"
want="$(sha256sum "$tarball" | cut -d' ' -f1) $(sha256sum "$stage/lib/libwebsockets.so.19" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$out/bin/mosquitto" ]; then
	echo "build-mosquitto: $out is up to date"
	exit 0
fi

rm -rf "$out/src" "$out/bin" "$stamp"
mkdir -p "$out/src" "$out/bin"
tar -xzf "$tarball" -C "$out/src" --strip-components=1 ||
	fail "cannot unpack $tarball"
rpath="$stage/lib:$out/bin"
opts=(WITH_WEBSOCKETS=yes WITH_TLS=yes WITH_DOCS=no WITH_CJSON=no
      WITH_SYSTEMD=no WITH_SRV=no WITH_STRIP=no WITH_BUNDLED_DEPS=yes
      "CPPFLAGS=-I$stage/include" "CFLAGS=-O2 -g -Wall"
      "LDFLAGS=-L$stage/lib -Wl,-rpath,$rpath -Wl,--disable-new-dtags")
for dir in lib src client; do
	make -C "$out/src/$dir" -j2 "${opts[@]}" > "$out/make-$dir.log" 2>&1 ||
		{ tail -30 "$out/make-$dir.log" >&2; fail "make in $dir failed (log: $out/make-$dir.log)"; }
done
cp "$out/src/src/mosquitto" "$out/src/client/mosquitto_pub" \
   "$out/src/client/mosquitto_sub" "$out/bin/"
cp -P "$out/src/lib/libmosquitto.so"* "$out/bin/"

# the broker must load this variant's library, not another one
got=$(ldd "$out/bin/mosquitto" | awk '$1 ~ /^libwebsockets\.so/ { print $3 }')
[ "$(readlink -f "$got")" = "$(readlink -f "$stage/lib/libwebsockets.so.19")" ] ||
	fail "the broker loads '$got', not $stage/lib/libwebsockets.so.19"
echo "$want" > "$stamp"
echo "build-mosquitto: mosquitto $version on $stage in $out/bin"

#!/bin/bash
# Drop-in: a program built against the *vanilla* headers and library runs
# unchanged against the hardened libwebsockets.so.19 via LD_LIBRARY_PATH.
# The program does real wss round trips (server + client, TLS session cache)
# and prints the library file the loader mapped, so the test can prove which
# library ran.  Control run: the same binary on vanilla.
# usage: dropin.sh REPO STAGE_ROOT BACKEND
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo} stage=${2:?stage root} backend=${3:?backend}
mk_tmp
vanilla="$stage/vanilla-$backend" hardened="$stage/hardened-$backend"
for d in "$vanilla" "$hardened"; do
	[ -e "$d/lib/libwebsockets.so.19" ] || die "$d/lib/libwebsockets.so.19 missing: build first"
done

"$repo/test-apps/stress/gen-certs.sh" "$TMP/pki" > /dev/null 2>&1 || die "gen-certs failed"

# built against vanilla only; no runpath, so LD_LIBRARY_PATH decides
cc -o "$TMP/dropin" "$repo/tests/dropin/dropin.c" -I"$vanilla/include" \
	-L"$vanilla/lib" -lwebsockets -ldl -Wl,--disable-new-dtags ||
	die "cannot compile against the vanilla headers"
check "binary has no runpath (the library is chosen at run time)" \
	bash -c "! readelf -d '$TMP/dropin' | grep -qE 'RPATH|RUNPATH'"

run() { # LIBDIR
	LD_LIBRARY_PATH="$1/lib" timeout 60 "$TMP/dropin" \
		"$TMP/pki/ca.pem" "$TMP/pki/server.pem" "$TMP/pki/server.key" 5 2>&1
}

out=$(run "$hardened"); rc=$?
echo "--- vanilla-built binary on hardened-$backend:"; sed 's/^/    /' <<< "$out"
check "runs and echoes 5/5 rounds on the hardened library (exit $rc)" [ $rc -eq 0 ]
check "the loader mapped the hardened .so" \
	grep -qF "library file: $hardened/lib/libwebsockets.so.19" <<< "$out"
check "the library identifies as lws-hardened" \
	grep -q "library identity: lws-hardened .*(libwebsockets 4.3.5" <<< "$out"

out=$(run "$vanilla"); rc=$?
echo "--- control: the same binary on vanilla-$backend:"; sed 's/^/    /' <<< "$out"
check "control: runs on the vanilla library (exit $rc)" [ $rc -eq 0 ]
check "control: vanilla does not export lws_hardened_version" \
	grep -q "library identity: vanilla libwebsockets" <<< "$out"
finish

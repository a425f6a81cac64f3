#!/bin/bash
# ABI: hardened libwebsockets.so.19 against vanilla, public headers only.
# Additions are allowed; a removed or changed function, variable or type is
# a failure.  The known addition (lws_hardened_version) must be reported, so
# a comparison that silently saw nothing cannot pass.  The report is kept in
# REPORT_DIR/abidiff-<backend>.txt.
# usage: abidiff.sh STAGE_ROOT BACKEND REPORT_DIR
. "$(dirname "$0")/../lib.sh"
stage=${1:?stage root} backend=${2:?backend} reports=${3:?report dir}
command -v abidiff > /dev/null || die "abidiff missing (apt-get install abigail-tools)"
v="$stage/vanilla-$backend" h="$stage/hardened-$backend"
mkdir -p "$reports"
report="$reports/abidiff-$backend.txt"

abidiff --headers-dir1 "$v/include" --headers-dir2 "$h/include" \
	"$v/lib/libwebsockets.so.19" "$h/lib/libwebsockets.so.19" > "$report" 2>&1
rc=$?
echo "abidiff exit $rc; report $report:"; sed 's/^/    /' "$report"

# abidiff exit bits: 1 error, 2 usage, 4 ABI change, 8 incompatible change
check "abidiff ran (no error/usage bits, exit $rc)" [ $((rc & 3)) -eq 0 ]
check "no incompatible ABI change (bit 8 clear)" [ $((rc & 8)) -eq 0 ]
summaries=$(grep -E 'changes summary:' "$report")
check "abidiff printed change summaries" [ -n "$summaries" ]
check "nothing removed or changed: $(tr '\n' ' ' <<< "$summaries")" \
	bash -c "! grep -E 'changes summary:' '$report' | grep -qE '[1-9][0-9]* (Removed|Changed)'"
check "the known addition lws_hardened_version is reported as added" \
	grep -qE '\[A\].*lws_hardened_version' "$report"
check "both libraries have the upstream soname" bash -c \
	"for f in '$v' '$h'; do readelf -d \$f/lib/libwebsockets.so.19 | grep -q 'SONAME.*\[libwebsockets.so.19\]' || exit 1; done"
finish

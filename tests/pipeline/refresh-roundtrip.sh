#!/bin/bash
# scripts/refresh-patches turns an edited quilt workspace back into patches:
# refreshing an unedited workspace changes nothing, and an edit made in the
# workspace lands in the right patch with its DEP-3 header kept.
# Works on a copy of the repository's delta, never on the checkout itself.
# usage: refresh-roundtrip.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp

command -v quilt > /dev/null || die "quilt is not installed (scripts/install-deps)"
cp -r "$repo/scripts" "$repo/patches" "$TMP/"
cp -r "$repo/lib" "$repo/include" "$TMP/"
copy="$TMP"
p="$copy/patches/4.3.5"
first=$(grep -v '^[[:space:]]*\(#\|$\)' "$p/series" | head -1 | cut -d' ' -f1)
before=$(cd "$p" && sha256sum ./* | sort)

check "init makes a workspace" "$copy/scripts/refresh-patches" init "$TMP/ws"
check "workspace has every patch applied" \
	bash -c "cd '$TMP/ws' && [ \"\$(quilt --quiltrc /dev/null applied 2>/dev/null | wc -l)\" -eq \"\$(grep -cv '^[[:space:]]*\(#\|\$\)' patches/series)\" ]"
check "refresh of an unedited workspace" "$copy/scripts/refresh-patches" "$TMP/ws"
after=$(cd "$p" && sha256sum ./* | sort)
check "an unedited refresh leaves every patch byte-identical" [ "$before" = "$after" ]

# edit a file the first patch already touches, with that patch on top of
# the stack (the quilt way), then refresh
file=$(grep -m1 '^+++ b/' "$p/$first" | sed 's|^+++ b/||')
(cd "$TMP/ws" && { [ "$(basename "$(quilt --quiltrc /dev/null top)")" = "$first" ] ||
	quilt --quiltrc /dev/null pop "$first" > /dev/null; }) || die "quilt pop $first"
echo "# lws-hardened roundtrip marker" >> "$TMP/ws/$file"
check "refresh after an edit" "$copy/scripts/refresh-patches" "$TMP/ws"
check "the edit is now in '$first'" grep -q '^+# lws-hardened roundtrip marker' "$p/$first"
check "the DEP-3 header of '$first' is kept" grep -q '^Description: ' "$p/$first"
check "no timestamps or Index lines in the refreshed patch" \
	bash -c "! grep -qE '^(Index: |\+\+\+ .*[0-9]{2}:[0-9]{2}:[0-9]{2})' '$p/$first'"
finish

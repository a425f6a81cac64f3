#!/bin/bash
# A patch whose context no longer matches, one that only applies with an
# offset, a missing patch and an overlay file that would replace an upstream
# file must each fail loudly, naming the problem, and leave the tree alone.
# usage: stale-patch.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp

patches="$repo/patches/4.3.5"
first=$(grep -v '^[[:space:]]*\(#\|$\)' "$patches/series" | head -1 | cut -d' ' -f1)
[ -n "$first" ] || die "empty series"

# an existing tree must survive a failed prepare untouched
mkdir -p "$TMP/tree" && echo keep > "$TMP/tree/marker"

# 1. context that no longer matches: change the first context line of a hunk
cp -r "$patches" "$TMP/ctx"
# (the first context line after the first hunk header; header lines before
# the first hunk may start with a space too)
line=$(awk '/^@@ /{h=1; next} h && /^ /{print NR; exit}' "$TMP/ctx/$first")
sed -i "${line}s/\$/ changed-context/" "$TMP/ctx/$first"
expect_fail_with "context mismatch: '$first' is named and refused" \
	"patch '$first' does not apply" \
	"$repo/scripts/prepare-tree" --patches "$TMP/ctx" hardened "$TMP/tree"
check "the existing tree was left alone" grep -qx keep "$TMP/tree/marker"

# 2. a hunk that only applies at another line (offset) is refused too
cp -r "$patches" "$TMP/off"
awk 'BEGIN{d=0} /^@@ / && !d { sub(/-[0-9]+/, "-" substr($2, 2) + 7); d=1 } {print}' \
	"$patches/$first" > "$TMP/off/$first"
check "offset copy really moved a hunk" bash -c "! cmp -s '$patches/$first' '$TMP/off/$first'"
expect_fail_with "offset: '$first' is refused" "'$first' applies only with an offset" \
	"$repo/scripts/prepare-tree" --patches "$TMP/off" hardened "$TMP/tree"

# 3. the series names a patch that is not there
cp -r "$patches" "$TMP/miss"
echo "9999-not-there.patch" >> "$TMP/miss/series"
expect_fail_with "missing patch is named" "9999-not-there.patch.*does not exist" \
	"$repo/scripts/prepare-tree" --patches "$TMP/miss" hardened "$TMP/tree"

# 4. overlay files may only add files
mkdir -p "$TMP/ov/lib/core"
cp -r "$repo/include" "$TMP/ov/"
echo "/* not upstream */" > "$TMP/ov/lib/core/context.c"
expect_fail_with "overlay replacing lib/core/context.c is refused" \
	"overlay file 'lib/core/context.c' would replace an upstream file" \
	"$repo/scripts/prepare-tree" --overlay "$TMP/ov" hardened "$TMP/tree"
check "the existing tree is still untouched" grep -qx keep "$TMP/tree/marker"

# control: the real series prepares cleanly into the same place
out=$("$repo/scripts/prepare-tree" hardened "$TMP/tree" 2>&1); rc=$?
check "the real series applies (exit $rc: $(grep -m1 applied <<< "$out"))" [ $rc -eq 0 ]
finish

#!/bin/bash
# Debian's security fixes are in our trees, and the list of which of them
# our configuration compiles (security-fixes.txt) is true:
#   - every patch of Debian's debian/patches/series has a line in the list;
#   - each fix is present in the prepared tree of every variant built here
#     (it reverse-applies cleanly: patch -R --dry-run);
#   - the source files a fix changes have object files in the lws build
#     exactly when the list says "compiled", so a fix said to be outside our
#     configuration really is, and one that becomes compiled (a new Debian
#     revision, a new option) fails here until it gets a guard.
# usage: security-fixes.sh REPO BUILD_ROOT
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo} bin=${2:?build root}
mk_tmp
. "$(dirname "$0")/debian-lib.sh"
unpack_debian
list="$(dirname "$0")/security-fixes.txt"

mapfile -t series < <(sed -e 's/#.*//' "$TMP/deb/debian/patches/series" | awk 'NF { print $1 }')
check "Debian's series has its patches (${#series[@]})" [ ${#series[@]} -ge 5 ]
variants=$(cd "$bin/src" && ls -d */ | tr -d / | grep -v '^upstream-' | tr '\n' ' ')
check "there are prepared trees to check ($variants)" [ -n "$variants" ]

for p in "${series[@]}"; do
	line=$(awk -F'\t' -v p="$p" '$1 == p' "$list")
	check "$p is in security-fixes.txt" [ -n "$line" ]
	[ -n "$line" ] || continue
	want=$(cut -f2 <<< "$line")
	files=$(sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' "$TMP/deb/debian/patches/$p" | sort -u)
	for v in $variants; do
		case "$v" in mutant-*)
			# a mutant that leaves this fix out must not have it
			mdir="$repo/tests/mutants/$(sed -e 's/^mutant-//' -e 's/-[a-z]*$//' <<< "$v")"
			if [ -f "$mdir/debian-drop" ] && grep -qx "$p" "$mdir/debian-drop"; then
				check "$v lacks $p (its debian-drop)" bash -c \
					"! patch -d '$bin/src/$v' -p1 -R --dry-run --fuzz=0 -s -f -i '$TMP/deb/debian/patches/$p' > /dev/null"
				continue
			fi ;;
		esac
		check "$v has Debian's $p" \
			patch -d "$bin/src/$v" -p1 -R --dry-run --fuzz=0 -s -f -i "$TMP/deb/debian/patches/$p"
	done
	for v in $variants; do
		[ -d "$bin/lws/$v" ] || continue
		for f in $files; do
			objs=$(find "$bin/lws/$v" -path "*/${f#lib/}.o" -o -path "*/$f.o" | wc -l)
			if [ "$want" = compiled ]; then
				check "$v compiles $f ($p: compiled, $objs objects)" [ "$objs" -gt 0 ]
			else
				check "$v does not compile $f ($p: not-compiled)" [ "$objs" -eq 0 ]
			fi
		done
	done
done
# control: the bare upstream tree (prepare-tree's upstream flavour) has none
# of the fixes, so the "has" checks above can fail
"$repo/scripts/prepare-tree" upstream "$TMP/upstream-tree" > /dev/null 2>&1 ||
	die "cannot prepare the bare upstream tree"
check "control: the bare upstream tree has no debian/ directory" [ ! -e "$TMP/upstream-tree/debian" ]
for p in "${series[@]}"; do
	check "control: the bare upstream tree lacks $p" bash -c \
		"! patch -d '$TMP/upstream-tree' -p1 -R --dry-run --fuzz=0 -s -f -i '$TMP/deb/debian/patches/$p' > /dev/null"
done
finish

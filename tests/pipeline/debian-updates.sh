#!/bin/bash
# scripts/check-debian-updates, offline on fabricated Sources indices: the
# verdict (0 up to date, 10 newer, 2 could not check), dpkg version ordering,
# the sha256 it prints for a newer revision, --notice, --help.  Then one real
# run against this machine's archives, informational only.
# usage: debian-updates.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp
# a copy with its own upstream.conf: the indices below are written around the
# pin 4.3.5-1+deb13u3, whatever scripts/upstream.conf pins today
mkdir -p "$TMP/scripts" && cp "$repo/scripts/check-debian-updates" "$repo/scripts/apt-archives.sh" "$TMP/scripts/" || die "copy"
echo LWS_DEBIAN_REVISION=4.3.5-1+deb13u3 > "$TMP/scripts/upstream.conf"
cdu=$TMP/scripts/check-debian-updates

fake_sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# stanza VERSION [PACKAGE]: one Sources stanza
stanza() {
	local v=$1 p=${2:-libwebsockets}
	cat <<-EOF
	Package: $p
	Binary: ${p}19t64, $p-dev
	Version: $v
	Format: 3.0 (quilt)
	Checksums-Sha256:
	 $(fake_sha "dsc $v") 2604 ${p}_$v.dsc
	 87f99ad32803ed325fceac5327aae1f5c1b417d54ee61ad36cffc8df5f5ab276 15620674 ${p}_${v%-*}.orig.tar.gz
	 $(fake_sha "debian $v") 21164 ${p}_$v.debian.tar.xz
	Directory: pool/main/libw/$p

	EOF
}
# index DIR SUITE VERSION...: DIR/SUITE_Sources with a decoy package first
index() {
	local d=$1 s=$2; shift 2
	mkdir -p "$d"
	{ stanza 99.0-1 libwebsockets-decoy; for v in "$@"; do stanza "$v"; done; } > "$d/${s}_Sources"
}
run() { out=$("$cdu" "$@" 2>&1); rc=$?; sed 's/^/    | /' <<< "$out"; }
has() { grep -qF -- "$1" <<< "$out"; }

echo "== (1) the pin is the highest: up to date"
index "$TMP/s1" trixie 4.3.5-1+deb13u1 4.3.5-1+deb13u3
index "$TMP/s1" trixie-security 4.3.5-1+deb13u2 4.3.5-1+deb13u3
xz "$TMP/s1/trixie-security_Sources"    # read compressed as well
run --sources-dir "$TMP/s1"
check "up to date: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "verdict says up to date and names both suites" \
	has "pinned 4.3.5-1+deb13u3; trixie: 4.3.5-1+deb13u3; trixie-security: 4.3.5-1+deb13u3 -> up to date"
run --quiet --sources-dir "$TMP/s1"
check "--quiet prints one line (got $(wc -l <<< "$out"))" [ "$(wc -l <<< "$out")" -eq 1 ]

echo "== (2) deb13u4 in trixie-security: newer, with its sha256"
index "$TMP/s2" trixie 4.3.5-1+deb13u3
index "$TMP/s2" trixie-security 4.3.5-1+deb13u3 4.3.5-1+deb13u4 4.3.5-1+deb13u2
gzip "$TMP/s2/trixie-security_Sources"
index "$TMP/s2" trixie-updates
run --sources-dir "$TMP/s2"
check "newer: exit 10 (got $rc)" [ "$rc" -eq 10 ]
check "names 4.3.5-1+deb13u4 in trixie-security" \
	has "NEWER: Debian published 4.3.5-1+deb13u4 in trixie-security"
check "prints the sha256 of libwebsockets_4.3.5-1+deb13u4.debian.tar.xz" \
	has "libwebsockets_4.3.5-1+deb13u4.debian.tar.xz sha256 $(fake_sha "debian 4.3.5-1+deb13u4")"
check "says how to move the pin" has "To move the pin: set LWS_DEBIAN_REVISION"
check "the decoy package is ignored" eval '! has 99.0-1'
run --notice --sources-dir "$TMP/s2"
check "--notice: exit 0 (got $rc) and a notice: verdict" \
	eval '[ "$rc" -eq 0 ] && has "notice: check-debian-updates: pinned" && has "NEWER:"'

echo "== (3) dpkg ordering: deb13u10 beats deb13u3 and deb13u9"
index "$TMP/s3" trixie 4.3.5-1+deb13u3
index "$TMP/s3" trixie-security 4.3.5-1+deb13u3 4.3.5-1+deb13u10 4.3.5-1+deb13u9
run --quiet --sources-dir "$TMP/s3"
check "exit 10 (got $rc), the newest is 4.3.5-1+deb13u10" \
	eval '[ "$rc" -eq 10 ] && has "trixie-security: 4.3.5-1+deb13u10 ->" && has "published 4.3.5-1+deb13u10 in"'

echo "== a new upstream release is a rebase, not a pin move"
index "$TMP/s4" trixie 4.3.6-1
index "$TMP/s4" trixie-security
run --sources-dir "$TMP/s4"
check "exit 10 (got $rc), NEWER UPSTREAM, rebase" \
	eval '[ "$rc" -eq 10 ] && has "NEWER UPSTREAM: Debian published 4.3.6-1 in trixie" && has rebase'

echo "== (4) could not check: exit 2 with a reason"
mkdir -p "$TMP/g1" && cp "$TMP/s1/trixie_Sources" "$TMP/g1/"
printf '<html><body>502 Bad Gateway</body></html>\n' > "$TMP/g1/trixie-security_Sources"
expect_fail_with "a garbled index is rejected" "trixie-security Sources index .* is garbled" \
	"$cdu" --sources-dir "$TMP/g1"
"$cdu" --sources-dir "$TMP/g1" > /dev/null 2>&1; rc=$?
check "garbled index: exit 2 (got $rc)" [ "$rc" -eq 2 ]
mkdir -p "$TMP/g2" && cp "$TMP/s1/trixie_Sources" "$TMP/g2/"
head -c 200 "$TMP/s1/trixie-security_Sources.xz" > "$TMP/g2/trixie-security_Sources.xz"
expect_fail_with "a truncated .xz index is rejected" "is garbled" "$cdu" --sources-dir "$TMP/g2"
mkdir -p "$TMP/g3" && cp "$TMP/s1/trixie_Sources" "$TMP/g3/"
stanza 'not a version!' > "$TMP/g3/trixie-security_Sources"
expect_fail_with "an invalid Version is rejected" "invalid Version" "$cdu" --sources-dir "$TMP/g3"
expect_fail_with "a --sources-dir that does not exist is an error" "is not a directory" \
	"$cdu" --sources-dir "$TMP/nope"
mkdir -p "$TMP/g4" && cp "$TMP/s1/trixie_Sources" "$TMP/g4/"
expect_fail_with "a missing trixie-security index is an error" "no trixie-security Sources index" \
	"$cdu" --sources-dir "$TMP/g4"

echo "== (5) an unreachable mirror"
dead=(LWS_DEBIAN_MIRROR=http://127.0.0.1:9/debian LWS_DEBIAN_SECURITY_MIRROR=http://127.0.0.1:9/debian-security)
out=$(env "${dead[@]}" "$cdu" --notice 2>&1); rc=$?; sed 's/^/    | /' <<< "$out"
check "--notice: exit 0 (got $rc), says it could not check" \
	eval '[ "$rc" -eq 0 ] && has "notice: could not check for Debian updates (download of trixie"'
expect_fail_with "without --notice: exit 2 naming the URL" \
	"cannot check: download of trixie's Sources failed from http://127.0.0.1:9/debian" \
	env "${dead[@]}" "$cdu"

echo "== downloading (file:// mirror, offline): .gz fallback, no trixie-updates"
mkdir -p "$TMP/m/debian/dists/trixie/main/source" "$TMP/m/debian-security/dists/trixie-security/main/source"
gzip -c "$TMP/s1/trixie_Sources" > "$TMP/m/debian/dists/trixie/main/source/Sources.gz"
cp "$TMP/s1/trixie-security_Sources.xz" "$TMP/m/debian-security/dists/trixie-security/main/source/Sources.xz"
out=$(LWS_DEBIAN_MIRROR="file://$TMP/m/debian" LWS_DEBIAN_SECURITY_MIRROR="file://$TMP/m/debian-security" \
	"$cdu" 2>&1); rc=$?; sed 's/^/    | /' <<< "$out"
check "downloaded indices: exit 0 (got $rc), up to date" eval '[ "$rc" -eq 0 ] && has "-> up to date"'
check "trixie-updates absent is not an error" has "trixie-updates not published; skipped"

printf 'Dir::Etc::sourcelist "%s/none.list"; Dir::Etc::sourceparts "%s/none.d";\n' "$TMP" "$TMP" \
	> "$TMP/apt.conf"
expect_fail_with "no archive in the apt configuration: exit 2 saying so" \
	"no Debian archive root .* in the apt configuration; set LWS_DEBIAN_MIRROR" \
	env APT_CONFIG="$TMP/apt.conf" "$cdu"

echo "== (6) usage"
run --help
check "--help: exit 0 (got $rc), prints the usage" \
	eval '[ "$rc" -eq 0 ] && has "usage: check-debian-updates" && ! has "set -euo"'
expect_fail_with "an unknown option fails" "unknown argument '--bogus'" "$cdu" --bogus

echo "== a real run against this machine's archives (informational)"
cdu=$repo/scripts/check-debian-updates
run
echo "    (exit $rc: 0 up to date, 10 newer, 2 could not check)"
check "real run: exit 0, 10 or 2 (got $rc)" eval '[ "$rc" -eq 0 ] || [ "$rc" -eq 10 ] || [ "$rc" -eq 2 ]'
finish

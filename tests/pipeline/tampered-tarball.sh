#!/bin/bash
# A tarball with one byte changed must stop the build with a message that
# names the hash mismatch, whichever way the tarball comes in.
# usage: tampered-tarball.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp

# tamper GOOD BAD: BAD is GOOD with one byte in the middle changed
tamper() {
	local good=$1 bad=$2 off orig
	cp "$good" "$bad"
	off=$(( $(stat -c %s "$bad") / 2 ))
	orig=$(dd if="$bad" bs=1 skip=$off count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "\\$(printf '%03o' $(( (orig + 1) % 256 )))" |
		dd of="$bad" bs=1 seek=$off conv=notrunc 2>/dev/null
	check "tampered copy of $(basename "$good") differs by one byte" \
		[ "$(cmp -l "$good" "$bad" | wc -l)" -eq 1 ]
}
good=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" 2>/dev/null) || die "no cached tarball"
mkdir -p "$TMP/cache"
bad="$TMP/cache/$(basename "$good")"
tamper "$good" "$bad"

expect_fail_with "fetch-upstream rejects a tampered cached tarball" \
	"sha256 mismatch for '$bad'" \
	env LWS_UPSTREAM_CACHE="$TMP/cache" "$repo/scripts/fetch-upstream"
expect_fail_with "fetch-upstream rejects a tampered LWS_UPSTREAM_TARBALL" \
	"sha256 mismatch" env LWS_UPSTREAM_TARBALL="$bad" "$repo/scripts/fetch-upstream"
expect_fail_with "prepare-tree rejects a tampered tarball" "sha256 mismatch" \
	"$repo/scripts/prepare-tree" --tarball "$bad" hardened "$TMP/tree"
check "prepare-tree left no tree behind" [ ! -e "$TMP/tree" ]
expect_fail_with "configuring the superbuild fails on the tampered tarball" \
	"sha256 mismatch" \
	env LWS_UPSTREAM_CACHE="$TMP/cache" cmake -S "$repo" -B "$TMP/build"
# Debian's packaging: the same rules
gdeb=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" debian 2>/dev/null) || die "no cached Debian packaging"
mkdir -p "$TMP/dcache"
bdeb="$TMP/dcache/$(basename "$gdeb")"
tamper "$gdeb" "$bdeb"
expect_fail_with "fetch-upstream rejects a tampered cached Debian packaging" \
	"sha256 mismatch for '$TMP/dcache/libwebsockets_4.3.5-1.deb13u3.debian.tar.xz'" env LWS_UPSTREAM_CACHE="$TMP/dcache" "$repo/scripts/fetch-upstream" debian
expect_fail_with "prepare-tree rejects a tampered Debian packaging" "sha256 mismatch" \
	"$repo/scripts/prepare-tree" --debian "$bdeb" vanilla "$TMP/tree"
check "prepare-tree left no tree behind" [ ! -e "$TMP/tree" ]
tdeb="$TMP/dcache/libwebsockets19t64.deb"
tamper "$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" lib-deb 2>/dev/null)" "$tdeb"
expect_fail_with "a tampered LWS_DEBIAN_LIB_DEB is refused" "sha256 mismatch" \
	env LWS_DEBIAN_LIB_DEB="$tdeb" "$repo/scripts/fetch-upstream" lib-deb

expect_fail_with "a missing LWS_UPSTREAM_TARBALL is an error" "does not exist" \
	env LWS_UPSTREAM_TARBALL="$TMP/nope.tar.gz" "$repo/scripts/fetch-upstream"
expect_fail_with "no mirror reachable is an error naming the URL" \
	"127.0.0.1:9/debian/pool/.*: download failed" \
	env LWS_UPSTREAM_CACHE="$TMP/c2" LWS_DEBIAN_MIRROR=http://127.0.0.1:9/debian \
	"$repo/scripts/fetch-upstream"
expect_fail_with "no security archive reachable is an error naming its pool URL (+ as %2B)" \
	"127.0.0.1:9/debian-security/pool/updates/main/libw/libwebsockets/libwebsockets_4.3.5-1%2Bdeb13u3.debian.tar.xz: download failed" \
	env LWS_UPSTREAM_CACHE="$TMP/c3" LWS_DEBIAN_MIRROR=http://127.0.0.1:9/debian \
	LWS_DEBIAN_SECURITY_MIRROR=http://127.0.0.1:9/debian-security "$repo/scripts/fetch-upstream" debian
finish

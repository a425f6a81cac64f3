#!/bin/bash
# A tarball with one byte changed must stop the build with a message that
# names the hash mismatch, whichever way the tarball comes in.
# usage: tampered-tarball.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp

good=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" 2>/dev/null) || die "no cached tarball"
mkdir -p "$TMP/cache"
bad="$TMP/cache/$(basename "$good")"
cp "$good" "$bad"
# flip one byte in the middle of the file
off=$(( $(stat -c %s "$bad") / 2 ))
orig=$(dd if="$bad" bs=1 skip=$off count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $(( (orig + 1) % 256 )))" |
	dd of="$bad" bs=1 seek=$off conv=notrunc 2>/dev/null
check "tampered copy differs from the original by one byte" \
	[ "$(cmp -l "$good" "$bad" | wc -l)" -eq 1 ]

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
expect_fail_with "a missing LWS_UPSTREAM_TARBALL is an error" "does not exist" \
	env LWS_UPSTREAM_TARBALL="$TMP/nope.tar.gz" "$repo/scripts/fetch-upstream"
expect_fail_with "no mirror reachable is an error naming the URL" \
	"127.0.0.1:9/debian/pool/.*: download failed" \
	env LWS_UPSTREAM_CACHE="$TMP/c2" LWS_DEBIAN_MIRROR=http://127.0.0.1:9/debian \
	"$repo/scripts/fetch-upstream"
finish

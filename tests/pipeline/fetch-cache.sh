#!/bin/bash
# The configure step cached the verified tarball: fetching again must be
# offline, and the offline switch must really refuse to download.
# usage: fetch-cache.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp

out=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" 2>&1 >"$TMP/path"); rc=$?
check "second fetch succeeds offline (exit $rc)" [ $rc -eq 0 ]
check "second fetch used the cache: '$(tail -1 <<< "$out")'" grep -q "using cached .*no download" <<< "$out"
check "printed path is the verified tarball" \
	bash -c "sha256sum '$(cat "$TMP/path")' | grep -q '^87f99ad32803ed325fceac5327aae1f5c1b417d54ee61ad36cffc8df5f5ab276 '"

# Debian's packaging and binary packages are cached the same way
for what in debian lib-deb dev-deb; do
	out=$(LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" $what 2>&1 >"$TMP/path"); rc=$?
	check "Debian's $what comes from the cache offline (exit $rc): $(basename "$(cat "$TMP/path")")" \
		bash -c "[ $rc -eq 0 ] && grep -q 'no download' <<< '$out'"
done
check "the Debian packaging in the cache is the pinned one" \
	bash -c "sha256sum \"\$(LWS_UPSTREAM_OFFLINE=1 '$repo/scripts/fetch-upstream' debian 2>/dev/null)\" | grep -q '^d0566441fea877ce8cdaa901946311b47a66a533c96a490f35e48ca977edd79d '"
expect_fail_with "an unknown file name is refused" "unknown argument 'nope'" \
	"$repo/scripts/fetch-upstream" nope

# control: with an empty cache, offline mode must fail instead of downloading
expect_fail_with "offline fetch with an empty cache fails" "not cached" \
	env LWS_UPSTREAM_CACHE="$TMP/empty" LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream"
expect_fail_with "offline fetch of Debian's packaging with an empty cache fails" "not cached" \
	env LWS_UPSTREAM_CACHE="$TMP/empty" LWS_UPSTREAM_OFFLINE=1 "$repo/scripts/fetch-upstream" debian
finish

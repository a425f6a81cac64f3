#!/bin/bash
# scripts/debian-config reads Debian's configuration from the pinned
# debian/rules: the options Debian configures with (as the base issue
# measured them) come out, the install-layout ones do not, and a
# debian/rules of another shape is refused with the reason rather than read
# wrongly.
# usage: debian-config.sh REPO
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo}
mk_tmp
dc="$repo/scripts/debian-config"

out=$(LWS_UPSTREAM_OFFLINE=1 "$dc" 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "reads the pinned debian/rules (exit $rc)" [ $rc -eq 0 ]
for opt in -DLWS_WITHOUT_DAEMONIZE=OFF -DLWS_WITH_LIBEV=ON -DLWS_WITH_LIBUV=ON \
	   -DLWS_UNIX_SOCK=ON -DLWS_IPV6=ON -DLWS_WITH_ZLIB=ON -DLWS_WITH_EXTERNAL_POLL=ON \
	   -DLWS_WITHOUT_EXTENSIONS=OFF -DLWS_WITH_GLIB=ON -DCMAKE_BUILD_TYPE=None; do
	check "Debian's configuration has $opt" grep -qxF -- "$opt" <<< "$out"
done
check "install-layout options are left out" bash -c "! grep -qE 'LIB_SUFFIX|CMAKE_LIBRARY_ARCHITECTURE' <<< '$out'"
check "--check summarises it" bash -c "LWS_UPSTREAM_OFFLINE=1 '$dc' --check | grep -q '10 options'"
flags=$("$dc" --buildflags)
check "--buildflags gives Debian's hardening flags ($(head -1 <<< "$flags"))" \
	grep -q '^CFLAGS=.*-fstack-protector-strong.*-D_FORTIFY_SOURCE' <<< "$flags"

# a debian/rules of another shape
printf '%%:\n\tdh $@\n' > "$TMP/rules-none"
expect_fail_with "rules without a dh_auto_configure recipe are refused" \
	"no 'dh_auto_configure --' recipe" "$dc" --rules "$TMP/rules-none"
printf '%%:\n\tdh $@\noverride_dh_auto_configure:\n\tdh_auto_configure -- -DLWS_WITH_LIBUV=ON \\\n\t  --builddirectory=x -DLWS_IPV6=ON\n' > "$TMP/rules-odd"
expect_fail_with "an argument that is not a -D option is refused by name" \
	"passes '--builddirectory=x'" "$dc" --rules "$TMP/rules-odd"
expect_fail_with "a missing rules file is named" "cannot read '$TMP/nope'" "$dc" --rules "$TMP/nope"
expect_fail_with "an unknown option is refused" "unknown argument '--bogus'" "$dc" --bogus
finish

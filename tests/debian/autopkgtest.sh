#!/bin/bash
# Debian's autopkgtests (debian/tests of the pinned revision) against one of
# our staged libraries, as far as they run here: debian/tests/control runs
# 'prove -v t' in debian/tests; t/01-build.t takes the flags from
# pkg-config, compiles a program and checks the library version it prints.
# t/02-echo.t is disabled by Debian itself (.disabled) and is not run.  The
# "installed package" is our stage, made to look like one installed in the
# system's paths: pkg-config treats its include and library directories as
# system ones (PKG_CONFIG_SYSTEM_*_PATH), so --cflags prints nothing and
# --libs just -lwebsockets, as for Debian's package in /usr, and the
# compiler and loader find it through CPATH, LIBRARY_PATH and
# LD_LIBRARY_PATH.  (Debian's 01-build.t breaks on any non-empty --cflags:
# it calls Text::ParseWords' parse_line without importing it, a path
# Debian's own run never takes.)
# usage: autopkgtest.sh REPO STAGE_ROOT VARIANT
. "$(dirname "$0")/../lib.sh"
repo=${1:?repo} stage=$(readlink -f "${2:?stage root}") variant=${3:?variant}
mk_tmp
. "$(dirname "$0")/debian-lib.sh"
unpack_debian
command -v prove > /dev/null || die "prove (perl) missing"
root="$stage/$variant"
[ -f "$root/lib/pkgconfig/libwebsockets.pc" ] || die "$root has no libwebsockets.pc: build first"

cmd=$(sed -n 's/^Test-Command: *//p' "$TMP/deb/debian/tests/control")
check "debian/tests/control runs prove ('$cmd')" grep -q 'prove' <<< "$cmd"
tests=$(cd "$TMP/deb/debian/tests/t" && ls -- *.t 2> /dev/null | tr '\n' ' ')
check "Debian's enabled tests: ${tests:-none}" [ -n "$tests" ]
out=$(cd "$TMP/deb" && PKG_CONFIG_PATH="$root/lib/pkgconfig" \
	PKG_CONFIG_SYSTEM_INCLUDE_PATH="$root/include:$(pkg-config --variable=pc_system_includedirs pkg-config)" \
	PKG_CONFIG_SYSTEM_LIBRARY_PATH="$root/lib:$(pkg-config --variable=pc_system_libdirs pkg-config)" \
	CPATH="$root/include" LIBRARY_PATH="$root/lib" LD_LIBRARY_PATH="$root/lib" \
	timeout 300 bash -c "$cmd" 2>&1); rc=$?
sed 's/^/    | /' <<< "$out"
check "Debian's autopkgtest passes on $variant (exit $rc)" [ $rc -eq 0 ]
check "prove ran Debian's tests and all passed" grep -q '^Result: PASS' <<< "$out"
check "the program Debian's test built printed our library's version" \
	grep -qE "ok [0-9]+ - The test program output the correct library version" <<< "$out"
finish

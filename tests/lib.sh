# shellcheck shell=bash
# Shared helpers for the shell tests: every check states what it expects and
# prints what it measured; any failed check makes the test exit non-zero.
set -uo pipefail

TEST_NAME=$(basename "$0" .sh)
FAILS=0
CHECKS=0

pass() { CHECKS=$((CHECKS + 1)); echo "PASS: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
# a setup problem, not a finding: stop at once
die() { echo "ERROR: $TEST_NAME: $*" >&2; exit 2; }

# check DESCRIPTION COMMAND...: pass if the command succeeds
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }

# expect_fail_with DESCRIPTION PATTERN COMMAND...: the command must fail and
# its output (stdout+stderr) must match the extended regex PATTERN
expect_fail_with() {
	local d=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1); rc=$?
	if [ $rc -eq 0 ]; then
		fail "$d: succeeded, expected a failure"
	elif grep -qE -- "$pat" <<< "$out"; then
		pass "$d (exit $rc, message: $(grep -E -m1 -- "$pat" <<< "$out" | cut -c1-160))"
	else
		fail "$d: exit $rc but no message matching /$pat/; output was:"
		sed 's/^/    | /' <<< "$out" | tail -20
	fi
}

# make a temporary directory removed at exit
mk_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/lwsh-$TEST_NAME.XXXXXX") || die "mktemp"
	trap 'rm -rf "$TMP"' EXIT
}

finish() {
	[ "$CHECKS" -gt 0 ] || { echo "FAIL: $TEST_NAME made no checks"; exit 1; }
	if [ "$FAILS" -gt 0 ]; then
		echo "$TEST_NAME: $FAILS of $CHECKS checks failed"
		exit 1
	fi
	echo "$TEST_NAME: all $CHECKS checks passed"
	exit 0
}

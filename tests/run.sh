#!/bin/sh
# Runs every test (unit binaries, then end-to-end scripts) and counts TAP
# results. Ends with "N passed, N failed, N skipped" on its own line.
# Usage: tests/run.sh [TEST...]   (default: all)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}"
: "${SECDESK:=$BUILD/secdesk}"
export SECDESK BUILD TOP="$top"
export CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0 failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ $# -gt 0 ]; then
	tests="$*"
else
	tests="$(ls "$BUILD"/tests/test_* 2>/dev/null | grep -v '\.d$') $(ls "$top"/tests/e2e/*.sh)"
fi

for t in $tests; do
	name=$(basename "$t")
	case "$t" in
	*.sh) sh "$t" >"$log" 2>&1; rc=$? ;;
	*) "$t" >"$log" 2>&1; rc=$? ;;
	esac
	p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^ok .*# *[Ss][Kk][Ii][Pp]' "$log")
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $name"
		echo "== $name: FAILED"; cat "$log"
	else
		echo "== $name: $p passed${s:+, $s skipped}"
		grep -i '# *skip' "$log" | sed 's/^/   /'
	fi
done
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

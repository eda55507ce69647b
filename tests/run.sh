#!/bin/sh
# Runs every test (unit binaries, then end-to-end scripts) and counts TAP
# results. Ends with "N passed, N failed, N skipped" on its own line.
# Usage: tests/run.sh [TEST...]   (default: all)
# With no TEST, the end-to-end scripts then run again on PostgreSQL
# (SECDESK_TEST_STORE=pg, named "pg:NAME") against one private server that
# this script starts and stops; with TEST... and SECDESK_TEST_STORE=pg, the
# given tests run that way. A server that cannot start is a failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}"
: "${SECDESK:=$BUILD/secdesk}"
export SECDESK BUILD TOP="$top"
export CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0 failed_names=""
log=$(mktemp)
pg_tmp=""
cleanup() {
	rm -f "$log"
	if [ -n "$pg_tmp" ]; then
		pg_stop
		rm -rf "$pg_tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Scripts the PostgreSQL pass leaves out: pg_*.sh start their own server
# and compare SQLite with PostgreSQL; intake_plain.sh re-runs crash.sh,
# fetch_window.sh and others, which the pg pass runs under their own names;
# cli_help.sh, demo.sh, docs.sh, hostile.sh and postfix.sh make no desk of
# make_config's (help text, the demo, the manuals, the parser; postfix.sh
# its own SQLite desk for the pipe's Unix user), so would run the same twice;
# valgrind.sh and sources_valgrind.sh check secdesk's own memory, which the
# first pass has done, and under valgrind libpq's start-up alone takes minutes.
pg_pass_skips="pg_*.sh intake_plain.sh cli_help.sh demo.sh docs.sh hostile.sh postfix.sh
	valgrind.sh sources_valgrind.sh"

# run_one PREFIX TEST: runs TEST, counts its TAP lines, reports as PREFIX+NAME.
run_one() {
	name=$1$(basename "$2")
	case "$2" in
	*.sh) sh "$2" >"$log" 2>&1; rc=$? ;;
	*) "$2" >"$log" 2>&1; rc=$? ;;
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
}

# Starts the PostgreSQL pass's server (once) and exports its PG_* variables
# for tests/lib.sh; 1 (counted as a failure) when it cannot start.
pg_pass_server() {
	[ -n "$pg_tmp" ] && return 0
	. "$top/tests/harness/pg.sh"
	pg_tmp=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-pg.XXXXXX")
	if ! pg_start "$pg_tmp/pg" ||
		! pg_psql <"$top/tests/harness/sqlite_compat.sql" >>"$pg_tmp/pg/start.log" 2>&1; then
		echo "== pg: FAILED"
		echo "not ok - start a private PostgreSQL (contrib/install-deps.sh test installs it)"
		tail -5 "$pg_tmp/pg/initdb.log" "$pg_tmp/pg/start.log" \
			"$pg_tmp/pg/run/server.log" 2>/dev/null | sed 's/^/#   /'
		fail=$((fail + 1)); failed_names="$failed_names pg"
		return 1
	fi
}

if [ $# -gt 0 ]; then
	if [ "${SECDESK_TEST_STORE:-}" = pg ]; then
		if pg_pass_server; then
			for t in "$@"; do run_one pg: "$t"; done
		fi
	else
		for t in "$@"; do run_one "" "$t"; done
	fi
else
	for t in $(ls "$BUILD"/tests/test_* 2>/dev/null | grep -v '\.d$') "$top"/tests/e2e/*.sh; do
		run_one "" "$t"
	done
	pg_began=$(date +%s)
	if pg_pass_server; then
		export SECDESK_TEST_STORE=pg
		for t in "$top"/tests/e2e/*.sh; do
			for pat in $pg_pass_skips; do
				case "${t##*/}" in $pat) continue 2 ;; esac
			done
			run_one pg: "$t"
		done
	fi
	echo "# the PostgreSQL pass took $(($(date +%s) - pg_began)) s"
fi
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

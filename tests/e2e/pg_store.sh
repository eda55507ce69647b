#!/bin/sh
# The PostgreSQL store from the command line (issue 17, its core): a private
# server (tests/harness/pg.sh; one that cannot start is a failure, not a
# skip), [store] url = postgresql://... with password_file and ca_file,
# `secdesk db init` creating the schema once, the socket form of the URL,
# and each refusal with its exit code and reason on one line: an
# incomplete build, a loose password file, a wrong password, TLS asked of a
# plain server, an unknown scheme, a server shutting down, a stopped one.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"

pg_private

d=$T_DIR/desk
make_config "$d"
printf '%s\n' "$PG_RUN_PASS" >"$d/run.pw"
chmod 0600 "$d/run.pw"
# [store] as a shared desk has it: the URL and the password file.
set_store() { set_store_of "$d/secdesk.conf" "$@"; }
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
wait_for() { # COMMAND...: up to 20 s, by polling its answer
	_w=0
	until "$@"; do
		[ $_w -ge 400 ] && return 1
		sleep 0.05
		_w=$((_w + 1))
	done
}

set_store "url = $PG_URL" "password_file = run.pw"
check_eq "a fresh database has no schema" "" "$(pg_psql -At -c "SELECT to_regclass('schema_version')")"
check_rc "db init creates the schema" 0 sd db init
check "  and names the store and version" grep -qx "store $PG_URL: schema version 3" "$T_DIR/.out"
check_eq "  the version recorded" "3" "$(pg_psql -At -c 'SELECT version FROM schema_version')"
check_eq "  the tables made, by the run role" "14 $PG_RUN_USER" \
	"$(pg_psql -At -F' ' -c "SELECT count(*), min(tableowner) FROM pg_tables WHERE schemaname = 'public'")"
check_rc "db init again" 0 sd db init
check_eq "  changes nothing" "1" "$(pg_psql -At -c 'SELECT count(*) FROM schema_version')"

# First runs at once on a new database: one makes the schema, the others
# wait for it (an advisory lock) and find it made. The test holds that
# lock until all four wait for it, so that they start together.
PG_PSQL_DB=postgres pg_psql -c "CREATE DATABASE race OWNER $PG_RUN_USER"
set_store "url = postgresql://$PG_RUN_USER@127.0.0.1:$PG_PORT/race" "password_file = run.pw"
advisory() { # GRANTED WAITING
	[ "$(pg_psql -At -c "SELECT count(*) FILTER (WHERE granted) || ' ' || count(*) FILTER
		(WHERE NOT granted) FROM pg_locks WHERE locktype = 'advisory'")" = "$1 $2" ]
}
PG_PSQL_DB=race pg_psql -c 'SELECT pg_advisory_lock(7105310517)' -c 'SELECT pg_sleep(600)' \
	>/dev/null 2>&1 &
holder=$!
check "the test holds the schema lock" wait_for advisory 1 0
pids=""
for i in 1 2 3 4; do sd db init >"$T_DIR/race$i.out" 2>&1 & pids="$pids $!"; done
check "four db init wait for it" wait_for advisory 1 4
pg_psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'" >/dev/null
for p in $pids; do wait "$p"; done
wait "$holder" 2>/dev/null
check_eq "four db init at once all succeed" "4" \
	"$(cat "$T_DIR"/race?.out | grep -c "schema version 3$")"
check_eq "  and the schema is made once" "1 3" \
	"$(PG_PSQL_DB=race pg_psql -At -F' ' -c 'SELECT count(*), max(version) FROM schema_version')"

set_store "url = postgres://$PG_RUN_USER@127.0.0.1:$PG_PORT/$PG_DB" "password_file = run.pw"
check_rc "postgres:// is the same backend" 0 sd db init
# The socket, which this cluster trusts: no password needed.
set_store "url = postgresql://$PG_RUN_USER@/$PG_DB?host=$PG_DIR/run&port=$PG_PORT"
check_rc "the socket form of the URL" 0 sd db init

cp -p "$d/run.pw" "$d/pass word&50%.pw"
set_store "url = $PG_URL" "password_file = pass word&50%.pw"
check_rc "a password file whose name has a space, & and %" 0 sd db init

set_store "url = $PG_URL" "password_file = run.pw"
chmod 0644 "$d/run.pw"
check_rc "a password file others can read is refused (78)" 78 sd db init
check "  naming the rule" grep -q "0600" "$T_DIR/.err"
chmod 0600 "$d/run.pw"
printf 'wrong\n' >"$d/wrong.pw"
chmod 0600 "$d/wrong.pw"
set_store "url = $PG_URL" "password_file = wrong.pw"
check_rc "a wrong password (78)" 78 sd db init
check "  with the server's reason on one line" \
	sh -c "grep -q 'password authentication failed' '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"

set_store "url = $PG_URL?sslmode=verify-full" "password_file = run.pw" "ca_file = /etc/ssl/certs/ca-certificates.crt"
check_rc "TLS asked of a server without it (78)" 78 sd db init
check "  says SSL, on one line" sh -c "grep -q SSL '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"
check "  and shows no password file" sh -c "! grep -q 'run.pw' '$T_DIR/.err'"

set_store "path = secdesk.db" "password_file = run.pw"
check_rc "password_file beside a SQLite store is refused (78)" 78 sd db init
check "  saying what it is for" grep -q "only for a postgresql:// url" "$T_DIR/.err"
set_store "url = mysql://desk@127.0.0.1/secdesk"
check_rc "an unknown scheme is refused (78)" 78 sd db init
check "  naming what is known" grep -q "postgresql://USER@HOST" "$T_DIR/.err"

set_store "url = $PG_URL" "password_file = run.pw"
# A server going down: a smart shutdown waits for a session that stays
# (here: a sleeping query) and turns new connections away meanwhile.
pg_psql -c 'SELECT pg_sleep(600)' >/dev/null 2>&1 &
sleeper=$!
sleeping() { [ "$(pg_psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" = 1 ]; }
check "a session stays on the server" wait_for sleeping
kill -TERM "$PG_PID"
check "the server is shutting down" wait_for grep -q "smart shutdown request" "$PG_DIR/run/server.log"
check_rc "a server shutting down is a temporary failure (75)" 75 sd db init
check "  saying so on one line" \
	sh -c "grep -q 'shutting down' '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"
pg_stop
wait "$sleeper" 2>/dev/null
check_rc "a stopped server is a temporary failure (75)" 75 sd db init
check "  with the reason on one line" \
	sh -c "grep -q 'Connection refused' '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"

done_testing

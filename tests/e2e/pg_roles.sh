#!/bin/sh
# Least privilege on PostgreSQL (issue 17): the SQL of secdesk.conf(5),
# POSTGRESQL ROLES, taken from the man page and run verbatim on a private
# server (tests/harness/pg.sh; one that cannot start is a failure, not a
# skip), so that the manual and what works cannot drift apart. Then the run
# role does db init and run; the staff role lists, shows, searches, takes,
# replies and notes, but cannot create, alter, drop or truncate a table,
# nor make a temporary one, and its db init on a database without the
# schema fails with exit 73 and the reason on one line, creating nothing.
# No superuser connection is made by secdesk.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"

pg_private
export SECDESK_USER=alice

# The literal blocks of the section, in order, as files block.1, block.2
# (roff's \e is a backslash, \& nothing).
awk -v dir="$T_DIR" '
	/^\.Sh / { in_s = ($0 == ".Sh POSTGRESQL ROLES") }
	in_s && /^\.Bd -literal/ { n++; lit = 1; next }
	lit && /^\.Ed/ { lit = 0; next }
	lit { gsub(/\\e/, "\\"); gsub(/\\&/, ""); print > (dir "/block." n) }
' "$TOP/doc/secdesk.conf.5"
check "the manual has the two blocks of SQL" test -s "$T_DIR/block.1" -a -s "$T_DIR/block.2"
check "  naming both roles" grep -q "CREATE ROLE secdesk_staff" "$T_DIR/block.1"
sed 's/^/#   /' "$T_DIR/block.1" "$T_DIR/block.2"

# The harness made its own database of the name the manual uses: gone, so
# that the manual's SQL makes it.
PG_PSQL_DB=postgres pg_psql -c "DROP DATABASE $PG_DB"
run_block() { # DB FILE: psql as the administrator
	PG_PSQL_DB=$1 pg_psql -f - <"$2"
}
check_rc "the manual's first block, as the administrator" 0 run_block postgres "$T_DIR/block.1"
check_rc "the manual's second block, in the new database" 0 run_block secdesk "$T_DIR/block.2"
# The passwords, as the manual says (\password), here by SQL.
PG_PSQL_DB=postgres pg_psql -c "ALTER ROLE secdesk_run PASSWORD 'run-Pw-7'" \
	-c "ALTER ROLE secdesk_staff PASSWORD 'staff-Pw-8'"
check_eq "neither role is a superuser nor may make roles or databases" "f f f f f f" \
	"$(PG_PSQL_DB=postgres pg_psql -At -F' ' -c "SELECT rolsuper, rolcreaterole, rolcreatedb
	   FROM pg_roles WHERE rolname IN ('secdesk_run', 'secdesk_staff')" | tr '\n' ' ' | sed 's/ $//')"

# Two hosts' configs: the run's and a staff member's.
run=$T_DIR/run staff=$T_DIR/staff
for d in "$run" "$staff"; do make_config "$d"; done
printf 'run-Pw-7\n' >"$run/pw"
printf 'staff-Pw-8\n' >"$staff/pw"
chmod 0600 "$run/pw" "$staff/pw"
url() { echo "postgresql://$1@127.0.0.1:$PG_PORT/secdesk"; }
sed -i "s|^path = secdesk.db|url = $(url secdesk_run)\npassword_file = pw|" "$run/secdesk.conf"
sed -i "s|^path = secdesk.db|url = $(url secdesk_staff)\npassword_file = pw|" "$staff/secdesk.conf"
i=0
for f in $(ls "$TOP"/tests/mail/routing/*.eml | head -5); do
	i=$((i + 1))
	cp "$f" "$run/inbox/new/$i.eml"
done
sr() { "$SECDESK" -c "$run/secdesk.conf" "$@"; }
st() { "$SECDESK" -c "$staff/secdesk.conf" "$@"; }
# psql as the staff role over TCP, as a staff member's host would connect.
staff_sql() {
	PGPASSWORD=staff-Pw-8 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
		-U secdesk_staff -d secdesk -c "$1" >"$T_DIR/.out" 2>"$T_DIR/.err"
}

# The staff role first, on the empty database: it cannot make the schema.
check_rc "db init as the staff role on an empty database: exit 73" 73 st db init
check "  permission denied, on one line, saying whose job it is" \
	sh -c "grep -q 'permission denied.*the role that owns the schema' '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"
sed 's/^/#   /' "$T_DIR/.err"
check_eq "  and nothing was created" 0 \
	"$(PG_PSQL_DB=secdesk pg_psql -At -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"

check_rc "db init as the run role" 0 sr db init
check_eq "  the tables are the run role's" "secdesk_run" \
	"$(PG_PSQL_DB=secdesk pg_psql -At -c "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")"
check_rc "run as the run role" 0 sr run
check "  5 new tickets" grep -q "new tickets 5," "$T_DIR/.out"

check_rc "list as the staff role" 0 st list
check "  shows the tickets" grep -q "^ *1 " "$T_DIR/.out"
check_rc "show 1 as the staff role" 0 st show 1
check_rc "search as the staff role" 0 st search call
check_rc "take 2 as the staff role" 0 env SECDESK_USER=bob "$SECDESK" -c "$staff/secdesk.conf" take 2
check_eq "  bob has it" "bob" \
	"$(PG_PSQL_DB=secdesk pg_psql -At -c "SELECT assignee FROM tickets WHERE id = 2")"
check_rc "reply 2 as the staff role" 0 st reply 2 -m "Yes, the call is open."
check_rc "note 2 as the staff role" 0 st note 2 -m "Asked twice already."
check_eq "  the reply queued, the note and the take are events" "1 1 1" \
	"$(PG_PSQL_DB=secdesk pg_psql -At -F' ' -c "SELECT
	   (SELECT count(*) FROM outbox WHERE ticket_id = 2 AND kind <> 'ack' AND data LIKE '%call is open%'),
	   count(*) FILTER (WHERE what = 'note'), count(*) FILTER (WHERE what IN ('assignee', 'take', 'assign'))
	   FROM events WHERE ticket_id = 2")"
check_rc "status 2 resolved as the staff role" 0 st status 2 resolved
check_rc "db init as the staff role on the made schema changes nothing" 0 st db init

for sql in "CREATE TABLE extra (i int)" "CREATE TEMP TABLE scratch (i int)" "DROP TABLE events" \
	"ALTER TABLE tickets ADD COLUMN x int" "TRUNCATE outbox" "CREATE INDEX extra ON tickets (subject)" \
	"CREATE SCHEMA extra"; do
	staff_sql "$sql"
	check_eq "the staff role cannot: $sql" "1" "$?"
	check "  refused for want of privilege" grep -q -i 'permission denied\|must be owner' "$T_DIR/.err"
done
staff_sql "SELECT count(*) FROM tickets"
check_eq "but it reads rows" "0" "$?"
check_eq "the schema is as db init made it" "13 0" \
	"$(PG_PSQL_DB=secdesk pg_psql -At -F' ' -c "SELECT count(*) FILTER (WHERE tablename <> 'schema_version'),
	   count(*) FILTER (WHERE tableowner <> 'secdesk_run') FROM pg_tables WHERE schemaname = 'public'")"
check_rc "db check as the run role" 0 sr db check
done_testing

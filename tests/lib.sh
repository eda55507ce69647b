# tests/lib.sh - sourced by the end-to-end tests: TAP output and a private
# temporary folder. Every test runs the real binary ($SECDESK).
set -u
: "${SECDESK:?SECDESK must name the secdesk binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
T_N=0
T_FAILED=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-test.XXXXXX")
t_cleanup_hooks=""
# KEEP=1 keeps the folder for a look after a failure (its servers stopped).
t_cleanup() {
	for h in $t_cleanup_hooks; do $h; done
	if [ -n "${KEEP:-}" ]; then echo "# kept $T_DIR"; else rm -rf "$T_DIR"; fi
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM

# Registers a function to run at exit (e.g. to stop a server by PID).
at_exit() { t_cleanup_hooks="$t_cleanup_hooks $1"; }

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N - # SKIP $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	_t_d=$1; shift
	if "$@"; then ok "$_t_d"; else not_ok "$_t_d"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# check_rc DESCRIPTION EXPECTED_RC COMMAND...
check_rc() {
	_t_d=$1 _t_want=$2; shift 2
	"$@" >"$T_DIR/.out" 2>"$T_DIR/.err"; _t_got=$?
	if [ "$_t_got" -eq "$_t_want" ]; then ok "$_t_d"; else
		not_ok "$_t_d (exit $_t_got, wanted $_t_want)"; sed 's/^/#   /' "$T_DIR/.err" | head -20
	fi
}

# pg_private: this script's own PostgreSQL (tests/harness/pg.sh, sourced
# first) in $T_DIR/pg, stopped at exit; one that cannot start is a failure.
pg_private() {
	pg_start "$T_DIR/pg" && { at_exit pg_stop; return 0; }
	not_ok "start a private PostgreSQL (contrib/install-deps.sh test installs it)"
	tail -5 "$T_DIR/pg/initdb.log" "$T_DIR/pg/start.log" "$T_DIR/pg/run/server.log" 2>/dev/null |
		sed 's/^/#   /'
	done_testing
	exit 1
}

# set_store_of CONF LINES...: CONF's [store] section becomes LINES.
set_store_of() {
	python3 - "$@" <<'PY'
import re, sys
path, lines = sys.argv[1], sys.argv[2:]
text = open(path).read()
text = re.sub(r"\[store\]\n(?:[^\[\n].*\n)*", "[store]\n" + "".join(l + "\n" for l in lines), text)
open(path, "w").write(text)
PY
}

# The store's place: SQLite's secdesk.db, or with SECDESK_TEST_STORE=pg a
# fresh, empty database of the pass's PostgreSQL server (tests/run.sh starts
# one and exports its PG_* variables; a script run alone starts its own). It
# is a copy of the harness's database, so the run and staff roles and their
# grants are as there; the password in DIR/store.pw (0600).
t_pg_n=0
t_pg_dbs=""
store_is_pg() { [ "${SECDESK_TEST_STORE:-}" = pg ]; }
t_pg_server() {
	. "$TOP/tests/harness/pg.sh"
	[ -n "${PG_PORT:-}" ] && return 0
	pg_start "$T_DIR/pg" && pg_psql <"$TOP/tests/harness/sqlite_compat.sql" >/dev/null || {
		echo "not ok - start a private PostgreSQL (contrib/install-deps.sh test installs it)"
		tail -5 "$T_DIR/pg/initdb.log" "$T_DIR/pg/start.log" 2>/dev/null | sed 's/^/#   /'
		exit 1
	}
	at_exit pg_stop
}
t_pg_drop() {
	for _t_db in $t_pg_dbs; do
		PG_PSQL_DB=postgres pg_psql -c "DROP DATABASE IF EXISTS $_t_db WITH (FORCE)" \
			>/dev/null 2>&1
	done
}
t_store_setup() {
	t_store="path = secdesk.db"
	store_is_pg || return 0
	[ -n "${PG_DIR:-}" ] && command -v pg_psql >/dev/null 2>&1 || t_pg_server
	t_pg_n=$((t_pg_n + 1))
	_t_db=t_$(basename "$0" .sh | tr -c 'a-z0-9\n' _)_$$_$t_pg_n
	PG_PSQL_DB=postgres pg_psql >/dev/null <<SQL || exit 1
CREATE DATABASE $_t_db TEMPLATE $PG_DB OWNER $PG_RUN_USER;
REVOKE ALL ON DATABASE $_t_db FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $_t_db TO $PG_STAFF_USER;
SQL
	[ -n "$t_pg_dbs" ] || at_exit t_pg_drop
	t_pg_dbs="$t_pg_dbs $_t_db"
	printf '%s\n' "$PG_RUN_PASS" >"$1/store.pw" && chmod 0600 "$1/store.pw" || exit 1
	t_store="url = postgresql://$PG_RUN_USER@127.0.0.1:$PG_PORT/$_t_db
password_file = store.pw"
}

# store_sql DESK|DESK/secdesk.db|FILE.db [SQL]: runs SQL (else standard
# input) on a make_config desk's store: sqlite3 on its file, or psql on its
# PostgreSQL database; either way one row a line, columns joined by |, NULL
# empty. Keep the SQL portable: on PostgreSQL, instr, group_concat and
# strftime('%s', 'now') come from tests/harness/sqlite_compat.sql; no GLOB,
# char(), rowid, and no integers as booleans or booleans as output.
store_sql() {
	_sq_t=$1 _sq_d=
	shift
	case "$_sq_t" in
	*/secdesk.db) _sq_d=${_sq_t%/secdesk.db} ;;
	*) [ -d "$_sq_t" ] && _sq_d=$_sq_t ;;
	esac
	_sq_db=
	[ -n "$_sq_d" ] && _sq_db=$(sed -n 's|^url = postgresql://[^/]*/\([a-z0-9_]*\)$|\1|p' \
		"$_sq_d/secdesk.conf" 2>/dev/null)
	if [ -n "$_sq_db" ]; then
		command -v pg_psql >/dev/null 2>&1 || . "$TOP/tests/harness/pg.sh"
		if [ $# -gt 0 ]; then
			PG_PSQL_DB=$_sq_db PGOPTIONS="-c search_path=public,sqlite_compat" \
				pg_psql -At -c "$1"
		else
			PG_PSQL_DB=$_sq_db PGOPTIONS="-c search_path=public,sqlite_compat" \
				pg_psql -At
		fi
	elif [ -n "$_sq_d" ]; then
		sqlite3 "$_sq_d/secdesk.db" "$@"
	else
		sqlite3 "$_sq_t" "$@"
	fi
}

# pg_hold DESK RELEASE TABLE...: (PostgreSQL) a session of its own holds
# the desk's TABLEs against writers (EXCLUSIVE: reads go on) until the file
# RELEASE exists; returns once they are held, the holder in $pg_holder.
pg_hold() {
	_ph_d=$1 _ph_rel=$2
	shift 2
	_ph_tables=$(echo "$*" | tr ' ' ,)
	{
		echo "BEGIN; LOCK TABLE $_ph_tables IN EXCLUSIVE MODE;"
		_ph_i=0
		while [ ! -e "$_ph_rel" ] && [ $_ph_i -lt 600 ]; do sleep 0.1; _ph_i=$((_ph_i + 1)); done
		echo "ROLLBACK;"
	} | store_sql "$_ph_d" >/dev/null &
	pg_holder=$!
	_ph_i=0
	while [ "$(store_sql "$_ph_d" "SELECT count(*) FROM pg_locks l JOIN pg_class c ON
		c.oid = l.relation WHERE c.relname = '$1' AND l.mode = 'ExclusiveLock' AND
		l.granted AND l.database = (SELECT oid FROM pg_database WHERE
		datname = current_database())")" != 1 ] && [ $_ph_i -lt 300 ]; do
		sleep 0.05
		_ph_i=$((_ph_i + 1))
	done
}

# store_boom DESK TABLE CONDITION: the store refuses every insert into TABLE
# ("injected failure") while CONDITION (SQL; NEW is the row) holds, by a
# trigger named boom; store_unboom DESK TABLE takes it away.
store_boom() {
	if store_is_pg; then
		store_sql "$1" "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS
			\$\$BEGIN IF $3 THEN RAISE EXCEPTION 'injected failure'; END IF;
			RETURN NEW; END\$\$;
			CREATE TRIGGER boom BEFORE INSERT ON $2 FOR EACH ROW EXECUTE FUNCTION boom();"
	else
		store_sql "$1" "CREATE TRIGGER boom BEFORE INSERT ON $2 WHEN $3
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
	fi
}
store_unboom() {
	if store_is_pg; then
		store_sql "$1" "DROP TRIGGER boom ON $2; DROP FUNCTION boom();"
	else
		store_sql "$1" "DROP TRIGGER boom"
	fi
}

# store_restore DESK FILE: puts DESK's store back to FILE, a db backup of
# it: SQLite's file copied over (its -wal and -shm gone), or on PostgreSQL
# the database made anew, empty (the dump holds all of it, sqlite_compat
# too), and pg_restore'd as the run role.
store_restore() {
	if ! store_is_pg; then
		cp "$2" "$1/secdesk.db" && rm -f "$1/secdesk.db-wal" "$1/secdesk.db-shm"
		return
	fi
	_sr_db=$(sed -n 's|^url = postgresql://[^/]*/\([a-z0-9_]*\)$|\1|p' "$1/secdesk.conf")
	PG_PSQL_DB=postgres pg_psql >/dev/null <<SQL || return 1
DROP DATABASE $_sr_db WITH (FORCE);
CREATE DATABASE $_sr_db TEMPLATE template0 OWNER $PG_RUN_USER;
SQL
	pg_as_owner "$PG_BIN/pg_restore" -h "$PG_DIR/run" -p "$PG_PORT" -U "$PG_ADMIN" \
		--role="$PG_RUN_USER" --no-owner --exit-on-error -d "$_sr_db" <"$2"
}

# sqlite_only REASON: a test whose subject is SQLite itself (its file, its
# schema steps, its shell) says so at its top; with SECDESK_TEST_STORE=pg it
# gives one visible skip and ends.
sqlite_only() {
	store_is_pg || return 0
	skip "sqlite only: $*"
	done_testing
	exit 0
}

# A config under $1 (maildir in, dir out), its store SQLite's file or, with
# SECDESK_TEST_STORE=pg, a fresh PostgreSQL database (t_store_setup);
# SECDESK_TEST_INDEX_THREAD=yes or no writes [store] index_thread.
make_config() {
	mkdir -p "$1/inbox/new" "$1/inbox/cur" "$1/inbox/tmp" "$1/outbox"
	t_store_setup "$1"
	cat >"$1/secdesk.conf" <<CONF
[desk]
name    = ICPerMed Secretariat
address = secretariat@icpermed.example
tag     = ICPerMed

[mailbox]
url   = maildir:inbox
after = seen

[store]
$t_store
${SECDESK_TEST_INDEX_THREAD:+index_thread = $SECDESK_TEST_INDEX_THREAD}

[send]
url = dir:outbox

[rules]
dir = $TOP/rules

[templates]
dir = $TOP/templates
CONF
}

# Writes a simple inquiry to $1 (a file); $2 message-id, $3 from, $4 subject.
make_mail() {
	cat >"$1" <<MAIL
From: Test Person <${3:-person@example.org}>
To: secretariat@icpermed.example
Subject: ${4:-A question about the joint call}
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <${2:-m1@example.org}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear secretariat,
I would like to know more about the next joint transnational call.
Best regards
MAIL
}

# written_at T FILE: FILE's Date: becomes the time T (epoch seconds). For
# tests that play a mail's arrival at a fake time (SECDESK_NOW=T): a
# ticket's age counts from its mail's Date when that is plausible.
written_at() {
	sed -i "s/^Date: .*/Date: $(LC_ALL=C date -u -R -d "@$1")/" "$2"
}

# kill_at_progress DB SEED SPREAD CMD...: runs CMD (a secdesk run or
# fetch) in the background and kills it with SIGKILL once the store DB
# shows a pseudo-random amount of progress picked by SEED: 1 to SPREAD rows
# more in intake (odd SEED: staged) or in messages (even SEED: stored).
# Progress, not time, picks the moment, so a slow machine kills at the same
# points. Returns 0 when the run was killed mid-way, 1 when it had ended.
kill_at_progress() {
	_kdb=$1 _kseed=$2 _kspread=$3
	shift 3
	if [ $((_kseed % 2)) -eq 1 ]; then _ktable=intake; else _ktable=messages; fi
	_krows() { store_sql "$_kdb" "SELECT count(*) FROM $_ktable" 2>/dev/null || echo 0; }
	_ktarget=$(( $(_krows) + 1 + _kseed % _kspread ))
	"$@" >/dev/null 2>&1 &
	_kpid=$!
	while kill -0 "$_kpid" 2>/dev/null && [ "$(_krows)" -lt "$_ktarget" ]; do
		sleep 0.005
	done
	_kkilled=1
	kill -9 "$_kpid" 2>/dev/null || _kkilled=0
	wait "$_kpid" 2>/dev/null
	[ "$_kkilled" -eq 1 ]
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# on_tty CMD...: runs CMD on a pseudo-terminal (its stdin, stdout and
# stderr), as staff at a terminal run it: for the editor's paths. What it
# writes comes out on stdout; its exit status is CMD's.
on_tty() {
	python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' "$@"
}

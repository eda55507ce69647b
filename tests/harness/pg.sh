#!/bin/sh
# tests/harness/pg.sh - a private PostgreSQL server on 127.0.0.1 at a free
# port, its cluster and socket under one folder, stopped by PID.
#
# Sourced by a test:
#     . "$TOP/tests/harness/pg.sh"
#     pg_start "$T_DIR/pg" || { not_ok "start PostgreSQL"; ...; }   # sets the variables below
#     at_exit pg_stop
# or run by hand / by the bench:
#     tests/harness/pg.sh start DIR   (prints the variables, sh syntax)
#     tests/harness/pg.sh stop DIR
#
# initdb refuses to run as root: as root, the cluster belongs to the
# "postgres" user that Debian's postgresql package makes, and every server
# program runs as that user (runuser); otherwise as the caller.
#
# After pg_start:
#   PG_DIR           the folder (cluster in PG_DIR/data; socket and log in PG_DIR/run)
#   PG_PORT          the TCP port on 127.0.0.1 (the socket has the same number)
#   PG_DB            the database (secdesk), owned by the run role
#   PG_RUN_USER PG_RUN_PASS       the role `secdesk run` connects as (owns the schema)
#   PG_STAFF_USER PG_STAFF_PASS   the role of staff commands (no DDL: no CREATE)
#   PG_ADMIN         the superuser (cluster owner; trust on the socket only)
#   PG_BIN           the server's programs (initdb, pg_ctl, psql)
#   PG_URL           postgresql://PG_RUN_USER@127.0.0.1:PG_PORT/PG_DB
# TCP logins need a password (scram-sha-256); the socket trusts its users.

pg_bin_dir() {
	for _pg_d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		[ -x "$_pg_d/initdb" ] && [ -x "$_pg_d/pg_ctl" ] && { echo "$_pg_d"; return 0; }
	done
	_pg_i=$(command -v initdb 2>/dev/null) || return 1
	dirname "$_pg_i"
}

pg_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a server program as the cluster's owner.
pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PG_ADMIN" -- "$@"
	else
		"$@"
	fi
}

# psql as the superuser over the socket: pg_psql [-d DB] -c 'SQL' ...
pg_psql() {
	pg_as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR/run" -p "$PG_PORT" \
		-U "$PG_ADMIN" -d "${PG_PSQL_DB:-$PG_DB}" "$@"
}

pg_write_conf() {
	cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/run'
fsync = off
synchronous_commit = off
full_page_writes = off
lc_messages = 'C'
max_connections = 40
CONF
	cat >"$PG_DIR/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 scram-sha-256
HBA
}

# The database and its two roles (issue 17, least privilege): the run role
# owns the database and its schema (secdesk db init creates the tables as
# it); the staff role may connect and read and write rows of every table the
# run role makes, but create nothing (no DDL).
pg_make_roles() {
	PG_PSQL_DB=postgres pg_psql <<SQL || return 1
CREATE ROLE $PG_RUN_USER LOGIN PASSWORD '$PG_RUN_PASS';
CREATE ROLE $PG_STAFF_USER LOGIN PASSWORD '$PG_STAFF_PASS';
CREATE DATABASE $PG_DB OWNER $PG_RUN_USER;
REVOKE ALL ON DATABASE $PG_DB FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $PG_DB TO $PG_STAFF_USER;
SQL
	pg_psql <<SQL
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO $PG_RUN_USER;
GRANT USAGE ON SCHEMA public TO $PG_STAFF_USER;
ALTER DEFAULT PRIVILEGES FOR ROLE $PG_RUN_USER IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $PG_STAFF_USER;
ALTER DEFAULT PRIVILEGES FOR ROLE $PG_RUN_USER IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO $PG_STAFF_USER;
SQL
}

# Starts (or, when PG_DIR already holds a cluster, restarts) the server.
pg_start() {
	PG_DIR=$1
	PG_DB=secdesk
	PG_RUN_USER=desk_run PG_RUN_PASS=run-Pass-1
	PG_STAFF_USER=desk_staff PG_STAFF_PASS=staff-Pass-2
	if [ "$(id -u)" -eq 0 ]; then PG_ADMIN=postgres; else PG_ADMIN=$(id -un); fi
	PG_BIN=$(pg_bin_dir) || return 1
	id "$PG_ADMIN" >/dev/null 2>&1 || return 1
	mkdir -p "$PG_DIR" || return 1
	fresh=
	if [ ! -f "$PG_DIR/port" ]; then
		fresh=1
		mkdir -p "$PG_DIR/data" "$PG_DIR/run" || return 1
		# The owner must reach the cluster through the folders above it.
		if [ "$(id -u)" -eq 0 ]; then
			chown "$PG_ADMIN" "$PG_DIR/data" "$PG_DIR/run" || return 1
			chmod 0700 "$PG_DIR/data" && chmod 0755 "$PG_DIR/run" || return 1
			_pg_up=$PG_DIR
			while [ "$_pg_up" != / ]; do
				chmod go+x "$_pg_up" 2>/dev/null || true
				_pg_up=$(dirname "$_pg_up")
			done
		fi
		pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_ADMIN" -A trust \
			-E UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 || return 1
		pg_free_port >"$PG_DIR/port" || return 1
		PG_PORT=$(cat "$PG_DIR/port")
		pg_write_conf
	fi
	PG_PORT=$(cat "$PG_DIR/port")
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/run/server.log" -w -t 60 \
		start >>"$PG_DIR/start.log" 2>&1 || return 1
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
	if [ -n "$fresh" ]; then
		pg_make_roles >>"$PG_DIR/start.log" 2>&1 || return 1
	fi
	PG_URL=postgresql://$PG_RUN_USER@127.0.0.1:$PG_PORT/$PG_DB
	export PG_DIR PG_PORT PG_DB PG_RUN_USER PG_RUN_PASS PG_STAFF_USER PG_STAFF_PASS
	export PG_ADMIN PG_BIN PG_URL PG_PID
}

# Stops the server started from PG_DIR (by the PID in its postmaster.pid:
# SIGINT is PostgreSQL's fast shutdown) and waits until it is gone.
pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
	_pg_pid=$(head -1 "$PG_DIR/data/postmaster.pid")
	kill -INT "$_pg_pid" 2>/dev/null || true
	_pg_i=0
	while kill -0 "$_pg_pid" 2>/dev/null && [ $_pg_i -lt 400 ]; do
		sleep 0.05
		_pg_i=$((_pg_i + 1))
	done
	kill -9 "$_pg_pid" 2>/dev/null || true
	return 0
}

# Run, not sourced (bench/pg.sh, which sources it, has the same name).
case "$0" in
*harness/pg.sh)
	case "${1:-}" in
	start)
		pg_start "$2" || {
			echo "pg.sh: cannot start PostgreSQL in $2" >&2
			cat "$2/initdb.log" "$2/start.log" "$2/run/server.log" 2>/dev/null | tail -20 >&2
			exit 1
		}
		echo "PG_DIR=$PG_DIR PG_PORT=$PG_PORT PG_DB=$PG_DB PG_PID=$PG_PID PG_BIN=$PG_BIN"
		echo "PG_RUN_USER=$PG_RUN_USER PG_RUN_PASS=$PG_RUN_PASS"
		echo "PG_STAFF_USER=$PG_STAFF_USER PG_STAFF_PASS=$PG_STAFF_PASS PG_ADMIN=$PG_ADMIN"
		echo "PG_URL=$PG_URL"
		;;
	stop) PG_DIR=$2 pg_stop ;;
	*) echo "usage: tests/harness/pg.sh start|stop DIR" >&2; exit 64 ;;
	esac
	;;
esac

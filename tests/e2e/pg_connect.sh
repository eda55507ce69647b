#!/bin/sh
# Connecting to PostgreSQL, and bad input (issue 17), beyond pg_store.sh: a
# run against a stopped server or one that never answers exits 75, and a
# login with no password to give exits 78, each with the reason on one line
# and before any mail is touched; libpq's own PGPASSFILE; a password in the
# URL and a missing database are refused (78); a schema newer than the
# program is refused with both versions named (65), mail untouched. TLS on
# a server with a certificate of a test CA: sslmode=verify-full is the
# default for a host that is not this machine (the CA and the host name
# are both checked), ca_file names the CA. A private server
# (tests/harness/pg.sh; one that cannot start is a failure, not a skip).
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"
. "$TOP/tests/harness/dovecot.sh" # dc_make_ca: a test CA made by certtool

pg_private

d=$T_DIR/desk
make_config "$d"
printf '%s\n' "$PG_RUN_PASS" >"$d/run.pw"
chmod 0600 "$d/run.pw"
set_store() { set_store_of "$d/secdesk.conf" "$@"; }
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
one_line() { # PATTERN: .err says it, on one line
	grep -q "$1" "$T_DIR/.err" && [ "$(wc -l <"$T_DIR/.err")" -eq 1 ]
}
untouched() { # the three mails still in new/, none in cur/
	[ "$(ls "$d/inbox/new" | wc -l) $(ls "$d/inbox/cur" | wc -l)" = "3 0" ]
}
set_store "url = $PG_URL" "password_file = run.pw"
check_rc "db init" 0 sd db init
for i in 1 2 3; do make_mail "$d/inbox/new/$i.eml" "bad$i@example.org" "p$i@example.org" "Bad input $i"; done

# ---- servers that cannot be had: 75, mail untouched ----
pg_stop
check_rc "run against a stopped server: exit 75" 75 sd run
check "  'Connection refused', on one line" one_line "Connection refused"
check "  no mail touched" untouched
# A port that takes the connection and never answers: the busy timeout
# (here its floor, 2 s) bounds the wait.
silent_port=$(pg_free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").close()
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$silent_port" "$T_DIR/silent.ready" &
silent=$!
# It listens before secdesk connects (else that is a refusal, not silence).
_w=0
while [ ! -e "$T_DIR/silent.ready" ] && [ $_w -lt 400 ]; do sleep 0.05; _w=$((_w + 1)); done
silent_stop() { kill "$silent" 2>/dev/null || true; }
at_exit silent_stop
set_store "url = postgresql://$PG_RUN_USER@127.0.0.1:$silent_port/$PG_DB" "password_file = run.pw" \
	"busy_timeout = 1s"
check_rc "run against a server that never answers: exit 75" 75 sd run
check "  a timeout, on one line" one_line "timeout"
sed 's/^/#   /' "$T_DIR/.err"
check "  no mail touched" untouched
silent_stop
pg_start "$T_DIR/pg" || not_ok "PostgreSQL restarts"

# ---- logins and URLs refused: 78 ----
set_store "url = $PG_URL"
check_rc "no password to give (none in a file, no PGPASSFILE): exit 78" 78 \
	env HOME="$T_DIR" PGPASSFILE="$T_DIR/none" "$SECDESK" -c "$d/secdesk.conf" run
check "  saying to set password_file, on one line" one_line "password_file"
check "  no mail touched" untouched
printf '127.0.0.1:%s:%s:%s:%s\n' "$PG_PORT" "$PG_DB" "$PG_RUN_USER" "$PG_RUN_PASS" >"$T_DIR/pgpass"
chmod 0600 "$T_DIR/pgpass"
check_rc "libpq's own PGPASSFILE instead of password_file" 0 \
	env PGPASSFILE="$T_DIR/pgpass" "$SECDESK" -c "$d/secdesk.conf" db init
set_store "url = postgresql://$PG_RUN_USER:$PG_RUN_PASS@127.0.0.1:$PG_PORT/$PG_DB"
check_rc "a password in the url is refused (78)" 78 sd run
check "  pointing to password_file, on one line" one_line "password_file"
check "  and the message does not show it" sh -c "! grep -q '$PG_RUN_PASS' '$T_DIR/.err'"
check "  no mail touched" untouched
set_store "url = postgresql://$PG_RUN_USER@127.0.0.1:$PG_PORT/nosuchdb" "password_file = run.pw"
check_rc "a database that does not exist (78)" 78 sd run
check "  saying so, on one line" one_line "does not exist"
check "  no mail touched" untouched

# ---- a schema newer than this secdesk: 65, both versions named ----
set_store "url = $PG_URL" "password_file = run.pw"
v=$(pg_psql -At -c 'SELECT version FROM schema_version')
pg_psql -c "UPDATE schema_version SET version = 99"
check_rc "a store of a newer schema: run exits 65" 65 sd run
check "  naming both versions, on one line" one_line "schema version 99, newer than this secdesk ($v)"
check "  no mail touched" untouched
check_rc "  list too" 65 sd list
check_rc "  and db init" 65 sd db init
check_eq "  which left the version alone" 99 "$(pg_psql -At -c 'SELECT version FROM schema_version')"
pg_psql -c "UPDATE schema_version SET version = $v"
check_rc "with the version back, the run goes" 0 sd run
check "  and stores the three" grep -q "new tickets 3," "$T_DIR/.out"
# A store of schema version 1 (its indexes as step 1 made them) is
# brought to this version by the next command, step 2's and 3's indexes made.
pg_psql -c "DROP INDEX messages_unindexed" -c "DROP INDEX messages_raw_first" \
	-c "CREATE INDEX messages_raw ON messages(raw_id)" -c "DROP INDEX tickets_priority_id" \
	-c "CREATE INDEX tickets_priority ON tickets((CASE priority WHEN 'low' THEN 0 WHEN 'normal'
	    THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END))" \
	-c "UPDATE schema_version SET version = 1"
check_rc "a store of schema version 1: list migrates it" 0 sd list
check_eq "  to this version, with step 2's and 3's indexes" \
	"$v messages_raw_first messages_unindexed tickets_priority_id" \
	"$(pg_psql -At -c "SELECT (SELECT version FROM schema_version) || ' ' || string_agg(indexname, ' '
	   ORDER BY indexname) FROM pg_indexes WHERE indexname IN ('messages_raw', 'messages_raw_first',
	   'messages_unindexed', 'tickets_priority', 'tickets_priority_id')")"
check_rc "  db check" 0 sd db check

# ---- TLS: verify-full by default for a host elsewhere ----
certs=$T_DIR/certs
mkdir -p "$certs"
if dc_make_ca ca "$certs" && dc_make_ca otherca "$certs" &&
	certtool --generate-privkey --key-type=ecdsa --outfile "$certs/server.key" >/dev/null 2>&1 &&
	printf 'cn = "db.example"\ndns_name = "db.example"\ndns_name = "localhost"\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 30\n' \
		>"$certs/server.tmpl" &&
	certtool --generate-certificate --load-privkey "$certs/server.key" --load-ca-certificate \
		"$certs/ca.pem" --load-ca-privkey "$certs/ca.key" --template "$certs/server.tmpl" \
		--outfile "$certs/server.pem" >/dev/null 2>&1; then
	ok "a test CA and a server certificate for db.example and localhost"
else
	not_ok "a test CA and a server certificate (certtool)"
fi
cp "$certs/server.key" "$certs/server.pem" "$PG_DIR/data/"
[ "$(id -u)" -eq 0 ] && chown "$PG_ADMIN" "$PG_DIR/data/server.key" "$PG_DIR/data/server.pem"
chmod 0600 "$PG_DIR/data/server.key"
# TLS on, and TCP logins only over it.
printf "ssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n" >>"$PG_DIR/data/postgresql.conf"
printf 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n' >"$PG_DIR/data/pg_hba.conf"
pg_stop
pg_start "$T_DIR/pg" || not_ok "PostgreSQL restarts with TLS"
# db.example is not this machine; hostaddr takes the connection here.
elsewhere="postgresql://$PG_RUN_USER@db.example:$PG_PORT/$PG_DB?hostaddr=127.0.0.1"
set_store "url = $elsewhere" "password_file = run.pw" "ca_file = $certs/ca.pem"
check_rc "a host elsewhere, over TLS checked against ca_file" 0 sd db init
set_store "url = $elsewhere" "password_file = run.pw" "ca_file = $certs/otherca.pem"
check_rc "  a certificate of another CA is refused (78)" 78 sd run
check "  saying why, on one line" one_line "certificate verify failed"
check "  no mail touched" sh -c "[ \$(ls '$d/inbox/cur' | wc -l) -eq 3 ]"
set_store "url = postgresql://$PG_RUN_USER@other.example:$PG_PORT/$PG_DB?hostaddr=127.0.0.1" \
	"password_file = run.pw" "ca_file = $certs/ca.pem"
check_rc "  a certificate for another name is refused (78): verify-full, not verify-ca" 78 sd db init
check "  naming the host, on one line" one_line "other.example"
sed 's/^/#   /' "$T_DIR/.err"
set_store "url = $elsewhere" "password_file = run.pw"
check_rc "  without ca_file, the system's CAs do not know the test CA (78)" 78 sd db init
# (libpq's require checks the CA too when it is given one: here none.)
set_store "url = $elsewhere&sslmode=require" "password_file = run.pw"
check_rc "  the URL's sslmode=require overrides the default" 0 sd db init
set_store "url = postgresql://$PG_RUN_USER@localhost:$PG_PORT/$PG_DB?sslmode=verify-full" \
	"password_file = run.pw" "ca_file = $certs/ca.pem"
check_rc "verify-full asked of this machine's server, by name" 0 sd db init
check_rc "db check" 0 sd db check
done_testing

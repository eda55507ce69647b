#!/bin/sh
# A desk fed by an MTA pipe (issue 21): `ingest` exits 0 once the mail is
# stored and 75 for anything else, printing nothing an MTA should not hand
# to a sender (the details go to syslog, and to stderr on a terminal);
# [mailbox] may be left out (run then only sends, fetch says why it cannot);
# [send] immediate delivers the acknowledgement at once.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
# Pipe mode: no [mailbox] section.
sed -i '/^\[mailbox\]$/,/^$/d' "$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
log=$T_DIR/syslog
sdl() { env SECDESK_TEST_SYSLOG="$log" "$SECDESK" -c "$d/secdesk.conf" "$@"; }
no_path() { ! grep -q -e "$T_DIR" -e 'secdesk.conf' "$T_DIR/.err" "$T_DIR/.out"; }

check "the config has no [mailbox]" sh -c "! grep -q mailbox '$d/secdesk.conf'"
make_mail "$T_DIR/m1.eml" pipe1@example.org person@example.org "Pipe one"
check_rc "ingest without a mailbox" 0 sdl ingest "$T_DIR/m1.eml"
check "syslog has one line for the mail" grep -q "ingest: .* bytes: new ticket #1, acks queued 1" "$log"
check_rc "run without a mailbox only sends" 0 sdl run
check_eq "the acknowledgement went out" 1 "$(ls "$d/outbox" | wc -l)"
check "run logs its summary to syslog" grep -q "run: fetched 0, .* sent 1" "$log"
check_rc "fetch without a mailbox is a config error" 78 sd fetch
check "saying there is no mailbox" grep -q "no \[mailbox\] url" "$T_DIR/.err"
check_rc "verify too" 78 sd verify

# Every failure is 75, with one line that names no local detail.
cp "$d/secdesk.conf" "$T_DIR/good.conf"
echo "colour = blue" >>"$d/secdesk.conf"
make_mail "$T_DIR/m2.eml" pipe2@example.org person@example.org "Pipe two"
: >"$log"
check_rc "ingest with a bad config key exits 75" 75 sdl ingest "$T_DIR/m2.eml"
check "it says the mail stays queued" grep -q "stays queued" "$T_DIR/.err"
check "and names no path nor config line" no_path
check "the details are in syslog" grep -q "secdesk.conf:[0-9]*: unknown key 'colour'" "$log"
if command -v script >/dev/null 2>&1; then
	script -qc "'$SECDESK' -c '$d/secdesk.conf' ingest '$T_DIR/m2.eml'" /dev/null >"$T_DIR/tty.out" 2>&1 </dev/null
	check "on a terminal the details are shown" grep -q "unknown key 'colour'" "$T_DIR/tty.out"
else
	skip "no script(1) to give secdesk a terminal"
fi
cp "$T_DIR/good.conf" "$d/secdesk.conf"
check_rc "ingest with an unknown option exits 75" 75 sd ingest --frobnicate
check_rc "ingest of a file that is not there exits 75" 75 sd ingest "$T_DIR/nothere.eml"
check "naming no path" no_path
check_rc "ingest of an empty message exits 75" 75 sh -c "'$SECDESK' -c '$d/secdesk.conf' ingest </dev/null"
check_rc "ingest without any config exits 75" 75 "$SECDESK" -c "$T_DIR/none.conf" ingest "$T_DIR/m2.eml"
check "naming no path" no_path
if store_is_pg; then
	# PostgreSQL's counterpart: a server that is not there (port 1).
	sed "s|^\(url = postgresql://[^@]*@127.0.0.1:\)[0-9]*/|\11/|" "$T_DIR/good.conf" >"$d/secdesk.conf"
	check_rc "ingest into a store whose server is not there exits 75" 75 sd ingest "$T_DIR/m2.eml"
else
	sed "s|^path = .*|path = $T_DIR/missing/secdesk.db|" "$T_DIR/good.conf" >"$d/secdesk.conf"
	check_rc "ingest into a missing store folder exits 75" 75 sd ingest "$T_DIR/m2.eml"
fi
check "naming no path" no_path
cp "$T_DIR/good.conf" "$d/secdesk.conf"
store_sql "$d" "UPDATE meta SET value = '999' WHERE key = 'schema_version'" 2>/dev/null ||
	store_sql "$d" "PRAGMA user_version = 999" 2>/dev/null ||
	store_sql "$d" "UPDATE schema_version SET version = 999"
check_rc "ingest into a store of a newer schema exits 75" 75 sd ingest "$T_DIR/m2.eml"
check_rc "other commands keep their exit codes" 65 sd list

# [send] immediate: the acknowledgement leaves with the ingest.
i=$T_DIR/imm
make_config "$i"
sed -i '/^\[mailbox\]$/,/^$/d; s|^url = dir:outbox|url = dir:outbox\nimmediate = yes|' "$i/secdesk.conf"
make_mail "$T_DIR/m3.eml" pipe3@example.org person@example.org "Pipe three"
check_rc "ingest with [send] immediate" 0 "$SECDESK" -c "$i/secdesk.conf" ingest "$T_DIR/m3.eml"
check_eq "the acknowledgement is out at once" 1 "$(ls "$i/outbox" | wc -l)"
check_eq "and marked sent" "ack sent" "$(store_sql "$i" "SELECT kind || ' ' || status FROM outbox")"
# The run lock held (a send running): the mail is stored, the ack waits.
if store_is_pg; then lockf=$i/secdesk.lock; else lockf=$i/secdesk.db.lock; fi
python3 - "$lockf" "$T_DIR/held" "$T_DIR/release" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
PY
holder=$!
i_=0; while [ ! -e "$T_DIR/held" ] && [ $i_ -lt 200 ]; do sleep 0.05; i_=$((i_ + 1)); done
make_mail "$T_DIR/m4.eml" pipe4@example.org other@example.org "Pipe four"
check_rc "ingest while a send holds the run lock" 0 "$SECDESK" -c "$i/secdesk.conf" ingest "$T_DIR/m4.eml"
check_eq "its acknowledgement waits in the outbox" "pending" \
	"$(store_sql "$i" "SELECT status FROM outbox ORDER BY id DESC LIMIT 1")"
touch "$T_DIR/release"
wait "$holder"
check_rc "the next send delivers it" 0 "$SECDESK" -c "$i/secdesk.conf" send
check_eq "two acknowledgements out" 2 "$(ls "$i/outbox" | wc -l)"
done_testing

#!/bin/sh
# Several hosts on one PostgreSQL store (issue 17) from the command line:
# `take` by staff (the staff role, no DDL) is refused while another has the
# ticket, naming them, also when the other's take is still in flight (the
# second waits for it, then is told); `fetch` and `run` find the mailbox
# taken by a run elsewhere (the advisory lock) and exit 75 at once,
# touching nothing. A private server (tests/harness/pg.sh); one that cannot
# start is a failure, not a skip.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"

pg_private

d=$T_DIR/desk
make_config "$d"
printf '%s\n' "$PG_RUN_PASS" >"$d/run.pw"
printf '%s\n' "$PG_STAFF_PASS" >"$d/staff.pw"
chmod 0600 "$d/run.pw" "$d/staff.pw"
set_store() { set_store_of "$d/secdesk.conf" "$@"; }
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
as() { _as=$1; shift; SECDESK_USER=$_as "$SECDESK" -c "$d/secdesk.conf" "$@"; }
wait_for() { # COMMAND...: up to 20 s, by polling its answer
	_w=0
	until "$@"; do
		[ $_w -ge 400 ] && return 1
		sleep 0.05
		_w=$((_w + 1))
	done
}
sql() { pg_psql -At -c "$1"; }
# Sessions of the desk's database in a state: "idle in transaction", ...
sessions() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PG_DB' AND $1")" = "$2" ]; }

# The areas written so far (outbox, search and admin come separately).
set_store "url = $PG_URL" "password_file = run.pw"
check_rc "db init by the run role" 0 sd db init
sql "INSERT INTO tickets (created, updated, subject) SELECT 1, 1, 't' || g FROM generate_series(1, 3) g" >/dev/null
# Staff work as the staff role.
set_store "url = postgresql://$PG_STAFF_USER@127.0.0.1:$PG_PORT/$PG_DB" "password_file = staff.pw"

check_rc "alice takes #1" 0 as alice take 1
check_eq "  it is hers, one event" "alice|1" \
	"$(sql "SELECT assignee || '|' || (SELECT count(*) FROM events WHERE ticket_id = 1 AND what = 'assignee') FROM tickets WHERE id = 1")"
check_rc "alice takes #1 again: nothing changes" 0 as alice take 1
check_rc "bob taking #1 is refused (65)" 65 as bob take 1
check "  naming who has it, on one line" \
	sh -c "grep -q 'ticket #1 is taken by alice' '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"
check_eq "  still alice's, still one event" "alice|1" \
	"$(sql "SELECT assignee || '|' || (SELECT count(*) FROM events WHERE ticket_id = 1 AND what = 'assignee') FROM tickets WHERE id = 1")"
check_rc "a missing ticket (65)" 65 as bob take 99

# carol's take of #2 on another host, not yet committed: bob's waits for
# it, then is told it is carol's.
mkfifo "$T_DIR/carol"
pg_psql <"$T_DIR/carol" >/dev/null 2>&1 &
carol=$!
exec 3>"$T_DIR/carol"
echo "BEGIN; UPDATE tickets SET assignee = 'carol' WHERE id = 2 AND assignee = '';" >&3
check "carol's take is in flight" wait_for sessions "state = 'idle in transaction'" 1
as bob take 2 >"$T_DIR/bob.out" 2>"$T_DIR/bob.err" &
bob=$!
check "bob's take waits for it" wait_for sessions "wait_event_type = 'Lock'" 1
echo "COMMIT;" >&3
exec 3>&-
wait "$carol"
wait "$bob"
check_eq "bob's take is refused (65) once carol's commits" 65 "$?"
check "  told it is carol's" grep -q "ticket #2 is taken by carol" "$T_DIR/bob.err"
check_eq "  #2 is carol's" carol "$(sql "SELECT assignee FROM tickets WHERE id = 2")"

# A run on another host holds the mailbox.
set_store "url = $PG_URL" "password_file = run.pw"
make_mail "$d/inbox/new/m1.eml" m1@example.org person@example.org "Eligibility"
pg_psql -c "SELECT pg_advisory_lock(1590493185)" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
mailbox_held() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 1590493185 AND granted")" = 1 ]; }
check "another host's run holds the mailbox" wait_for mailbox_held
check_rc "fetch exits 75 at once" 75 sd fetch
check "  saying a run is in progress, on one line" \
	sh -c "grep -q 'another secdesk run is in progress' '$T_DIR/.err' && [ \$(wc -l <'$T_DIR/.err') -eq 1 ]"
check_rc "run too" 75 sd run
check_eq "  nothing fetched" "0 0" "$(sql "SELECT (SELECT count(*) FROM intake) || ' ' || (SELECT count(*) FROM raws)")"
check "  the mail is still in the mailbox" test -f "$d/inbox/new/m1.eml"
check_eq "  and the local lock is free again" 0 "$(flock -n "$d/secdesk.lock" true; echo $?)"
pg_psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'" >/dev/null
wait "$holder" 2>/dev/null
mailbox_free() { ! mailbox_held; }
check "a run that goes away frees the mailbox" wait_for mailbox_free

done_testing

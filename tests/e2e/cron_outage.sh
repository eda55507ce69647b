#!/bin/sh
# Cron etiquette (issue 19, point 7): with the IMAP server (a real Dovecot
# on 127.0.0.1) stopped, quiet runs (run -q, as cron runs them) say the
# failure once when it starts, stay silent until it is older than [mailbox]
# alert_after, then say so once an hour, and say once that the mailbox is
# reachable again. Exit 75 throughout the outage. Runs without -q say every
# failure. The clock is SECDESK_NOW; nothing waits.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
d=$T_DIR/desk
desk_config "$d" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sed -i "s|^timeout = 10|timeout = 10\nalert_after = 30m|" "$d/secdesk.conf"
at() { _t=$1; shift; env SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
T0=1796000000
at $T0 db init >/dev/null
gen_mails "$DC_MAILDIR" 1 2 c
check_rc "server up: run -q" 0 at $T0 -q run
check_eq "server up: nothing on stderr" "" "$(cat "$T_DIR/.err")"

# quiet NAME TIME LINES [TEXT]: -q run at TIME exits 75, writes LINES lines
# to stderr (holding TEXT) and nothing to stdout.
quiet() {
	check_rc "$1: exit 75" 75 at "$2" -q run
	check_eq "$1: $3 line(s) on stderr" "$3" "$(wc -l <"$T_DIR/.err")"
	check_eq "$1: nothing on stdout" "" "$(cat "$T_DIR/.out")"
	[ -z "${4:-}" ] || check "$1: says '$4'" grep -qF -- "$4" "$T_DIR/.err"
}

dovecot_stop
quiet "outage starts" $((T0 + 120)) 1 "cannot connect: connection refused"
check "the first line says when it is said again" \
	grep -qF "quiet runs say it again when it has lasted 30m" "$T_DIR/.err"
quiet "two minutes later" $((T0 + 240)) 0
quiet "ten minutes later" $((T0 + 720)) 0
check_rc "without -q, every run says what failed" 75 at $((T0 + 780)) run
check "without -q: the failure and its age" \
	grep -qF "connection refused (is the server running? is the port right?) (failing for 11m)" \
	"$T_DIR/.err"
quiet "past alert_after" $((T0 + 120 + 1860)) 1 "mailbox unreachable for 31m: imap server"
quiet "two minutes after that" $((T0 + 120 + 1980)) 0
quiet "59 minutes after that" $((T0 + 120 + 1860 + 3540)) 0
quiet "an hour after that" $((T0 + 120 + 1860 + 3600)) 1 "mailbox unreachable for 1h 31m"
quiet "and silent again" $((T0 + 120 + 1860 + 3720)) 0

dovecot_start "$T_DIR/dc" || not_ok "dovecot restarts"
gen_mails "$DC_MAILDIR" 3 3 c
check_rc "back: run -q" 0 at $((T0 + 7920)) -q run
check_eq "back: one line" 1 "$(wc -l <"$T_DIR/.err")"
check "back: says how long it lasted" grep -qF "mailbox reachable again after 2h 10m" "$T_DIR/.err"
check_eq "back: the mail of the outage is fetched" "3 3" "$(stored "$d/secdesk.db")"
check_rc "next run -q" 0 at $((T0 + 8040)) -q run
check_eq "next run -q: silent" "" "$(cat "$T_DIR/.err")"

# A new outage starts over: said once at its start.
dovecot_stop
quiet "a new outage" $((T0 + 9000)) 1 "cannot connect"
quiet "a new outage, later" $((T0 + 9120)) 0
done_testing

#!/bin/sh
# secdesk watch: mail delivered to the IMAP mailbox is stored while watch
# waits in IDLE; when Dovecot restarts, watch reconnects and goes on;
# SIGTERM stops it cleanly. secdesk verify: lists what the server has and
# the store lacks, and what is stored but not marked done.
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
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
sd db init >/dev/null

# wait_stored N: up to 30 s for N messages in the store.
wait_stored() {
	_i=0
	while [ "$(stored "$d/secdesk.db" | cut -d' ' -f1)" != "$1" ] && [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(stored "$d/secdesk.db" | cut -d' ' -f1)" = "$1" ]
}
stop_watch() { [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null; wpid=; }
at_exit stop_watch

gen_mails "$DC_MAILDIR" 1 2 w
"$SECDESK" -c "$d/secdesk.conf" watch --idle 60 >"$T_DIR/watch.out" 2>"$T_DIR/watch.err" &
wpid=$!
check "watch takes what is there at start" wait_stored 2
gen_mails "$DC_MAILDIR" 3 5 w
check "and what arrives while it waits in IDLE" wait_stored 5
check_eq "each once, each seen" "5 5 5" "$(stored "$d/secdesk.db") $(server_seen)"

dovecot_stop
gen_mails "$DC_MAILDIR" 6 7 w
dovecot_start "$DC_DIR" || not_ok "Dovecot restarts"
check "after Dovecot restarts, watch reconnects and takes the new mail" wait_stored 7
check "it said it lost the connection" grep -q "reconnecting\|retrying" "$T_DIR/watch.err"
kill -TERM "$wpid"
wait "$wpid"
rc=$?
wpid=
check_eq "SIGTERM stops watch with 0" 0 "$rc"
check_eq "all seven stored once" "7 7" "$(stored "$d/secdesk.db")"

# verify: all is well.
check_rc "verify: server and store agree" 0 sd verify
check "verify says so" grep -q "not in the store: 0; stored, not marked done: 0" "$T_DIR/.out"

# Two messages arrive; one is read by someone before secdesk takes it.
gen_mails "$DC_MAILDIR" 8 9 w
dovecot_adm flags add -u "$DC_USER" '\Seen' mailbox INBOX HEADER Message-ID '<w-9@example.org>'
check_rc "verify: 65 when the server has mail the store lacks" 65 sd verify
check_eq "it lists both" 2 "$(grep -c '^not in the store:' "$T_DIR/.out")"
check "the one read elsewhere is marked as seen" grep -q "(seen)" "$T_DIR/.out"

# A stored message whose server copy was not marked done.
sd fetch >/dev/null 2>&1
store_sql "$d" "UPDATE intake SET done = 0 WHERE key = (SELECT min(key) FROM intake)"
check_rc "verify: 65 when a stored message was not marked done" 65 sd verify
check_eq "it lists it" 1 "$(grep -c '^not marked done:' "$T_DIR/.out")"
check_eq "and the message read elsewhere, never fetched in seen mode" 1 "$(grep -c '^not in the store:' "$T_DIR/.out")"
done_testing

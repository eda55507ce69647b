#!/bin/sh
# POP3S and POP3+STLS against a real Dovecot: keep (UIDL keys, nothing
# taken twice), delete (DELE + QUIT after the commit), move refused,
# SIGKILL mid-run then a full run.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
POP3S="pop3s://$DC_USER@localhost:$DC_POP3S_PORT"
POP3="pop3://$DC_USER@localhost:$DC_POP3_PORT"
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }

gen_mails "$DC_MAILDIR" 1 6 p
desk_config "$T_DIR/keep" "$POP3S" keep
sd "$T_DIR/keep" db init >/dev/null
check_rc "pop3s, after = keep: fetch" 0 sd "$T_DIR/keep" fetch
check_eq "six stored" "6 6" "$(stored "$T_DIR/keep/secdesk.db")"
check_eq "keys are the UIDLs" 6 \
	"$(store_sql "$T_DIR/keep" "SELECT count(*) FROM intake WHERE length(key) = 16")"
check_eq "the server keeps them" 6 "$(server_count)"
check_rc "a second fetch" 0 sd "$T_DIR/keep" fetch
check_eq "takes nothing twice" "6 6" "$(stored "$T_DIR/keep/secdesk.db")"

desk_config "$T_DIR/seen" "$POP3" seen
sd "$T_DIR/seen" db init >/dev/null
check_rc "pop3 + STLS, after = seen (kept: POP3 has no flags): fetch" 0 sd "$T_DIR/seen" fetch
check_eq "six stored" "6 6" "$(stored "$T_DIR/seen/secdesk.db")"
check_eq "marked done in the store" 6 \
	"$(store_sql "$T_DIR/seen" "SELECT count(*) FROM intake WHERE done = 1")"
check_rc "again" 0 sd "$T_DIR/seen" fetch
check_eq "nothing twice" "6 6" "$(stored "$T_DIR/seen/secdesk.db")"

desk_config "$T_DIR/move" "$POP3S" move:Done
sd "$T_DIR/move" db init >/dev/null
check_rc "after = move is refused for POP3 (78)" 78 sd "$T_DIR/move" fetch
check "with a reason" grep -q "POP3 has no folders" "$T_DIR/.err"

desk_config "$T_DIR/del" "$POP3S" delete
sed -i "s|^after = delete|after = delete\nbatch = 10|" "$T_DIR/del/secdesk.conf"
sd "$T_DIR/del" db init >/dev/null
check_rc "pop3s, after = delete: fetch" 0 sd "$T_DIR/del" fetch
check_eq "six stored" "6 6" "$(stored "$T_DIR/del/secdesk.db")"
check_eq "the server's INBOX is empty" 0 "$(server_count)"

# SIGKILL at a random message of 120, three times, then a full run.
gen_mails "$DC_MAILDIR" 7 126 p
seed=5
killed=0
for round in 1 2 3; do
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	# Staged messages are not fetched again: the fault counts fresh ones.
	left=$((126 - $(store_sql "$T_DIR/del" "SELECT count(*) FROM intake" 2>/dev/null || echo 0)))
	[ "$left" -lt 1 ] && left=1
	SECDESK_FAULT_SOURCE_STOP=$((1 + seed % left)) \
		"$SECDESK" -c "$T_DIR/del/secdesk.conf" fetch >/dev/null 2>&1 &
	pid=$!
	i=0
	while [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != T ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	[ $? -eq 137 ] && killed=$((killed + 1))
done
check_eq "three runs killed mid-way" 3 "$killed"
check_rc "a full run after the kills" 0 sd "$T_DIR/del" fetch
check_eq "all 126 stored exactly once" "126 126" "$(stored "$T_DIR/del/secdesk.db")"
check_eq "the server's INBOX is empty" 0 "$(server_count)"
done_testing

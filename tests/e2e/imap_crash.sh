#!/bin/sh
# Exactly once over IMAP: secdesk killed with SIGKILL at random moments of a
# 300-message fetch, again and again, then a full run; Dovecot stopped in the
# middle of a run (exit 75), restarted, rerun; UIDVALIDITY changed on the
# server. Every message stored exactly once, the mailbox as after says.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
IMAPS="imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX"
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
batch() { sed -i "s|^after = \(.*\)|after = \1\nbatch = $2|" "$1/secdesk.conf"; }

gen_mails "$DC_MAILDIR" 1 300 k

# How long a whole fetch of the 300 takes here (after = keep, its own store).
desk_config "$T_DIR/probe" "$IMAPS" keep
batch "$T_DIR/probe" 20
sd "$T_DIR/probe" db init >/dev/null
t0=$(date +%s%N)
sd "$T_DIR/probe" fetch >/dev/null 2>&1
span=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$span" -lt 20 ] && span=20
echo "# a fetch of 300 messages takes ${span} ms here"

# Ten runs, each killed with SIGKILL (fixed seed): odd rounds at a random
# message (the run halts itself there by its test hook, then is killed),
# even rounds at a random moment of the time the work left would take.
desk_config "$T_DIR/desk" "$IMAPS" seen
batch "$T_DIR/desk" 20
sd "$T_DIR/desk" db init >/dev/null
seed=11
killed=0
for round in 1 2 3 4 5 6 7 8 9 10; do
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	# Staged messages are not fetched again: the fault counts fresh ones.
	left=$((300 - $(store_sql "$T_DIR/desk" "SELECT count(*) FROM intake" 2>/dev/null || echo 0)))
	[ "$left" -lt 1 ] && left=1
	if [ $((round % 2)) -eq 1 ]; then
		SECDESK_FAULT_SOURCE_STOP=$((1 + seed % left)) \
			"$SECDESK" -c "$T_DIR/desk/secdesk.conf" fetch >/dev/null 2>&1 &
		pid=$!
		i=0
		while [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != T ] && [ $i -lt 200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
	else
		delay=$(( seed % (span * left / 300 + 10) ))
		"$SECDESK" -c "$T_DIR/desk/secdesk.conf" fetch >/dev/null 2>&1 &
		pid=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	[ $? -eq 137 ] && killed=$((killed + 1))
done
echo "# $killed of 10 runs killed mid-way; $(stored "$T_DIR/desk/secdesk.db" | cut -d' ' -f1) stored by then"
check "runs were killed mid-way ($killed of 10)" test "$killed" -ge 4
check_rc "a full run after the kills" 0 sd "$T_DIR/desk" fetch
check_eq "all 300 stored, each exactly once" "300 300" "$(stored "$T_DIR/desk/secdesk.db")"
check_eq "one raw copy each" 300 "$(store_sql "$T_DIR/desk" "SELECT count(*) FROM raws")"
check_eq "all 300 flagged \\Seen on the server" 300 "$(server_seen)"
check_eq "all 300 still in INBOX" 300 "$(server_count)"
check_eq "every intake row stored and done" 300 \
	"$(store_sql "$T_DIR/desk" "SELECT count(*) FROM intake WHERE done = 1 AND state = 'stored'")"

# Dovecot stopped in the middle of a run: secdesk is halted (SIGSTOP, by its
# test hook) after the 45th message of 200 new ones, the server stops, the
# run goes on and finds the connection gone.
gen_mails "$DC_MAILDIR" 301 500 k
SECDESK_FAULT_SOURCE_STOP=45 "$SECDESK" -c "$T_DIR/desk/secdesk.conf" fetch \
	>"$T_DIR/stop.out" 2>"$T_DIR/stop.err" &
pid=$!
i=0
while [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != T ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "the run halted at its 45th message" test "$(ps -o stat= -p "$pid" | cut -c1)" = T
dovecot_stop
kill -CONT "$pid"
wait "$pid"
rc=$?
check_eq "the run whose server went away exits 75" 75 "$rc"
check "and says the connection was lost" grep -q "connection lost" "$T_DIR/stop.err"
mid=$(stored "$T_DIR/desk/secdesk.db" | cut -d' ' -f1)
check "what came before the stop was kept ($mid stored)" test "$mid" -ge 340
dovecot_start "$DC_DIR" || not_ok "Dovecot restarts"
check_rc "the rerun after the restart" 0 sd "$T_DIR/desk" fetch
check_eq "all 500 stored exactly once" "500 500" "$(stored "$T_DIR/desk/secdesk.db")"
check_eq "all 500 flagged \\Seen" 500 "$(server_seen)"
check_eq "none left undone in the store" 0 \
	"$(store_sql "$T_DIR/desk" "SELECT count(*) FROM intake WHERE done = 0")"

# UIDVALIDITY changed: every UID means something new, every message is
# offered again under a new key, and none is imported twice.
desk_config "$T_DIR/keep" "$IMAPS" keep
sd "$T_DIR/keep" db init >/dev/null
check_rc "after = keep: a first fetch" 0 sd "$T_DIR/keep" fetch
check_eq "500 stored" "500 500" "$(stored "$T_DIR/keep/secdesk.db")"
old=$(dovecot_adm mailbox status -u "$DC_USER" uidvalidity INBOX | sed 's/.*=//')
gen_mails "$DC_MAILDIR" 501 505 k
dovecot_adm mailbox update -u "$DC_USER" --uid-validity $((old + 1000)) INBOX
check_eq "the server has a new UIDVALIDITY" $((old + 1000)) \
	"$(dovecot_adm mailbox status -u "$DC_USER" uidvalidity INBOX | sed 's/.*=//')"
check_rc "after = keep: fetch after the change" 0 sd "$T_DIR/keep" fetch
check_eq "only the five new messages are added" "505 505" "$(stored "$T_DIR/keep/secdesk.db")"
check_eq "no raw message twice" 505 "$(store_sql "$T_DIR/keep" "SELECT count(*) FROM raws")"
check_eq "no ticket twice" 505 "$(store_sql "$T_DIR/keep" "SELECT count(*) FROM tickets")"
check_eq "the new keys carry the new UIDVALIDITY" 505 \
	"$(store_sql "$T_DIR/keep" "SELECT count(*) FROM intake WHERE key LIKE '$((old + 1000))/%'")"
check_rc "after = seen: fetch after the change" 0 sd "$T_DIR/desk" fetch
check_eq "takes the five new ones, nothing again" "505 505" "$(stored "$T_DIR/desk/secdesk.db")"
check_eq "all 505 seen" 505 "$(server_seen)"
check_rc "verify: the messages under their new keys are known by their bytes" 0 \
	sd "$T_DIR/desk" verify
done_testing

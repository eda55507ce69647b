#!/bin/sh
# A server that goes away is a temporary failure (issue 15, point 11):
# Dovecot stopped by PID during a large IMAPS fetch and a POP3S fetch, the
# SMTP server during a send. Each time: exit 75, the summary line printed, nothing marked done
# that is not stored, nothing marked sent that the server did not take; the
# next run, with the server back, finishes with every mail there once.
# The stop is placed by progress (rows in the store), never by time.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
. "$TOP/tests/harness/smtp.sh"

# wait_rows DB SQL N PID: until the count SQL gives reaches N or PID ends.
wait_rows() {
	while kill -0 "$4" 2>/dev/null &&
		[ "$(store_sql "$1" "$2" 2>/dev/null || echo 0)" -lt "$3" ]; do
		sleep 0.01
	done
}

# ---- IMAP: Dovecot stopped by PID during a fetch of N messages ----
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available: IMAP server going away"
else
	at_exit dovecot_stop
	N=10000
	case "$SECDESK" in *asan*) N=3000 ;; esac
	gen_mails "$DC_MAILDIR" 1 "$N" gone
	d=$T_DIR/imap
	desk_config "$d" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
	"$SECDESK" -c "$d/secdesk.conf" db init >/dev/null
	"$SECDESK" -c "$d/secdesk.conf" run >"$T_DIR/imap.out" 2>"$T_DIR/imap.err" &
	pid=$!
	wait_rows "$d/secdesk.db" "SELECT count(*) FROM messages WHERE direction = 'in'" 300 "$pid"
	# At once, the master and its children (the imap process serving the
	# run among them); dovecot_stop then finds it gone.
	kill -9 "$DC_PID" $(ps -o pid= --ppid "$DC_PID") 2>/dev/null
	dovecot_stop
	wait "$pid"
	rc=$?
	mid=$(stored "$d/secdesk.db" | cut -d' ' -f1)
	echo "# the server stopped with $mid of $N stored"
	check "the stop came mid-fetch ($mid of $N stored)" test "$mid" -lt "$N"
	check_eq "run whose IMAP server went away exits 75 (not 141, SIGPIPE)" 75 "$rc"
	check "it printed its summary line" grep -q '^fetched [0-9]*, new tickets' "$T_DIR/imap.out"
	sed 's/^/#   /' "$T_DIR/imap.err" | head -5
	check_eq "each stored message stored once" "$mid $mid" "$(stored "$d/secdesk.db")"
	# Every message \Seen on the server is in the store.
	ls "$DC_MAILDIR/cur" | sed -n 's/^17\([0-9]*\)\.M.*:2,[A-Z]*S[A-Z]*$/\1/p' |
		sed 's/^0*//; s/.*/<gone-&@example.org>/' | sort >"$T_DIR/seen.ids"
	store_sql "$d" "SELECT '<' || message_id || '>' FROM messages WHERE direction = 'in'" |
		sort >"$T_DIR/stored.ids"
	check_eq "nothing marked \\Seen that is not stored" "" \
		"$(comm -23 "$T_DIR/seen.ids" "$T_DIR/stored.ids" | head -3)"
	dovecot_start "$DC_DIR" || not_ok "Dovecot restarts"
	check_rc "the next run, the server back" 0 "$SECDESK" -c "$d/secdesk.conf" run
	check_eq "all $N stored exactly once" "$N $N" "$(stored "$d/secdesk.db")"
	check_eq "all $N \\Seen on the server" "$N" "$(server_seen)"
	check_eq "no intake row left undone" 0 \
		"$(store_sql "$d" "SELECT count(*) FROM intake WHERE done = 0 OR state <> 'stored'")"
	dovecot_stop

	# ---- POP3: the same during a POP3S fetch, after = delete ----
	P=3000
	rm -rf "$DC_MAILDIR/new/"* "$DC_MAILDIR/cur/"* "$DC_MAILDIR/"dovecot*
	gen_mails "$DC_MAILDIR" 1 "$P" pop
	dovecot_start "$DC_DIR" || not_ok "Dovecot restarts"
	# (not $p: dovecot_start loops over ports with it)
	pd=$T_DIR/pop3
	desk_config "$pd" "pop3s://$DC_USER@localhost:$DC_POP3S_PORT" delete
	"$SECDESK" -c "$pd/secdesk.conf" db init >/dev/null
	"$SECDESK" -c "$pd/secdesk.conf" run >"$T_DIR/pop.out" 2>"$T_DIR/pop.err" &
	pid=$!
	wait_rows "$pd/secdesk.db" "SELECT count(*) FROM messages WHERE direction = 'in'" 300 "$pid"
	kill -9 "$DC_PID" $(ps -o pid= --ppid "$DC_PID") 2>/dev/null
	dovecot_stop
	wait "$pid"
	rc=$?
	mid=$(stored "$pd/secdesk.db" | cut -d' ' -f1)
	echo "# the POP3 server stopped with $mid of $P stored"
	check "pop3: the stop came mid-fetch ($mid of $P stored)" test "$mid" -lt "$P"
	check_eq "pop3: run whose server went away exits 75" 75 "$rc"
	check "pop3: it printed its summary line" grep -q '^fetched [0-9]*, new tickets' "$T_DIR/pop.out"
	sed 's/^/#   /' "$T_DIR/pop.err" | head -5
	ls "$DC_MAILDIR/new" "$DC_MAILDIR/cur" | sed -n 's/^17\([0-9]*\)\.M.*/\1/p' |
		sed 's/^0*//; s/.*/<pop-&@example.org>/' | sort >"$T_DIR/left.ids"
	seq 1 "$P" | sed 's/.*/<pop-&@example.org>/' | sort >"$T_DIR/all.ids"
	store_sql "$pd" "SELECT '<' || message_id || '>' FROM messages WHERE direction = 'in'" |
		sort >"$T_DIR/pstored.ids"
	check_eq "pop3: nothing deleted on the server that is not stored" "" \
		"$(comm -23 "$T_DIR/all.ids" "$T_DIR/left.ids" | comm -23 - "$T_DIR/pstored.ids" | head -3)"
	dovecot_start "$DC_DIR" || not_ok "Dovecot restarts"
	check_rc "pop3: the next run, the server back" 0 "$SECDESK" -c "$pd/secdesk.conf" run
	check_eq "pop3: all $P stored exactly once" "$P $P" "$(stored "$pd/secdesk.db")"
	check_eq "pop3: all deleted on the server" 0 "$(server_count)"
	dovecot_stop
fi

# ---- SMTP: the server stopped by PID during a send of M mails ----
if ! smtpd_available; then
	skip "python3-aiosmtpd is not installed: SMTP server going away"
	done_testing
	exit 0
fi
M=600
s=$T_DIR/smtp
make_config "$s"
mkdir -p "$T_DIR/rules"
cp "$TOP/rules/00-queues.rules" "$T_DIR/rules/"
sed -i "s|^dir = $TOP/rules|dir = $T_DIR/rules|" "$s/secdesk.conf"
printf '\n[ack]\nper_sender_limit = 0\nhourly_limit = 0\n' >>"$s/secdesk.conf"
smtpd_start "$T_DIR/smtpd" || { not_ok "smtp server starts"; done_testing; exit 1; }
at_exit smtpd_stop
smtpd_config "$s"
i=1
while [ $i -le $M ]; do
	make_mail "$s/inbox/new/1$(printf %05d $i).M$i.host" "send-$i@example.org" "p$i@example.org"
	i=$((i + 1))
done
"$SECDESK" -c "$s/secdesk.conf" fetch >/dev/null 2>&1
check_eq "$M acknowledgements queued" "$M" \
	"$(store_sql "$s" "SELECT count(*) FROM outbox WHERE status = 'pending'")"
"$SECDESK" -c "$s/secdesk.conf" run >"$T_DIR/send.out" 2>"$T_DIR/send.err" &
pid=$!
# By the server's own count: stopped once it has taken 50.
while kill -0 "$pid" 2>/dev/null && [ "$(smtpd_count)" -lt 50 ]; do sleep 0.01; done
smtpd_stop
wait "$pid"
rc=$?
got=$(smtpd_count)
marked=$(store_sql "$s" "SELECT count(*) FROM outbox WHERE status = 'sent'")
echo "# the server stopped after taking $got; $marked marked sent"
check "the stop came mid-send ($got of $M taken)" test "$got" -lt "$M"
check_eq "run whose SMTP server went away exits 75" 75 "$rc"
check "it printed its summary line" grep -q '^fetched [0-9]*, .*, sent [0-9]*, deferred' "$T_DIR/send.out"
sed 's/^/#   /' "$T_DIR/send.err" | head -5
check "nothing marked sent that the server did not take ($marked <= $got)" test "$marked" -le "$got"
check_eq "nothing failed for good" 0 \
	"$(store_sql "$s" "SELECT count(*) FROM outbox WHERE status = 'failed'")"
# Restarted on the same port, into a folder of its own (it numbers its
# files from 1 again).
smtpd_start "$T_DIR/smtpd2" --port "$SMTPD_PORT" || not_ok "the smtp server restarts"
check_rc "the next send, the server back" 0 "$SECDESK" -c "$s/secdesk.conf" send --now
check_eq "every mail marked sent" "$M" \
	"$(store_sql "$s" "SELECT count(*) FROM outbox WHERE status = 'sent'")"
# Each acknowledgement reached the server; at most the one in flight twice.
python3 - "$T_DIR/smtpd/rcv" "$T_DIR/smtpd2/rcv" >"$T_DIR/rcpts" <<'PY'
import collections, glob, json, os, sys
c = collections.Counter()
for f in glob.glob(os.path.join(sys.argv[1], "*.env")) + glob.glob(os.path.join(sys.argv[2], "*.env")):
    for r in json.load(open(f))["rcpt_tos"]:
        c[r] += 1
print(len(c), sum(1 for v in c.values() if v > 1))
PY
check_eq "every requester got the acknowledgement" "$M" "$(cut -d' ' -f1 "$T_DIR/rcpts")"
check "at most the mail in flight twice ($(cut -d' ' -f2 "$T_DIR/rcpts"))" \
	test "$(cut -d' ' -f2 "$T_DIR/rcpts")" -le 1
done_testing

#!/bin/sh
# Delivery faults against a real SMTP server on loopback: a server that is
# down keeps everything queued (exit 75) and, once up, gets each mail
# exactly once; a 4xx is retried after the back-off (or at once with
# --now); a 5xx fails the mail for good and flags its ticket.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"

if ! smtpd_available; then
	skip "python3-aiosmtpd is not installed"
	done_testing
	exit 0
fi
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
at_exit smtpd_stop

# A free port with nobody listening on it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SMTPD_PORT=$port smtpd_config "$d"
for i in 1 2 3; do
	make_mail "$T_DIR/m$i.eml" "m$i@example.org" "person$i@example.org" "Question $i"
	sd ingest "$T_DIR/m$i.eml" >/dev/null
done
check_eq "three acks queued" 3 "$(q "SELECT count(*) FROM outbox WHERE status = 'pending'")"

# --- the server is down ---
check_rc "send with the server down exits 75" 75 sd send
check "says it cannot connect" grep -q "cannot connect" "$T_DIR/.err"
check_eq "everything still pending" 3 "$(q "SELECT count(*) FROM outbox WHERE status = 'pending'")"
check_eq "no attempt counted against the mails" 0 "$(q "SELECT sum(attempts) FROM outbox")"

# --- up again on the same port ---
smtpd_start "$T_DIR/smtp" --port "$port" || not_ok "smtp server starts"
check_rc "send with the server up" 0 sd send
check_eq "each mail delivered" 3 "$(smtpd_count)"
check_eq "all sent" 3 "$(q "SELECT count(*) FROM outbox WHERE status = 'sent'")"
check_rc "send again" 0 sd send
check_rc "send --now again" 0 sd send --now
check_eq "exactly once" 3 "$(smtpd_count)"
rcpts=$(cat "$SMTPD_DIR"/rcv/*.env | python3 -c 'import sys,json
print(" ".join(sorted(json.loads(l)["rcpt_tos"][0] for l in sys.stdin.read().replace("}{","}\n{").splitlines())))')
check_eq "one to each requester" "person1@example.org person2@example.org person3@example.org" "$rcpts"
smtpd_stop

# --- a 4xx once: deferred, retried ---
smtpd_start "$T_DIR/smtp4" --port "$port" --rcpt-reply "450 4.2.1 mailbox busy, try later" \
	--fail-times 1 || not_ok "smtp server starts"
make_mail "$T_DIR/m4.eml" "m4@example.org" "person4@example.org" "Question 4"
sd ingest "$T_DIR/m4.eml" >/dev/null
id4=$(q "SELECT max(id) FROM outbox")
check_rc "send meets a 4xx: not an error of the run" 0 sd send
check "reports it deferred" grep -q "deferred 1" "$T_DIR/.out"
check_eq "still pending, one attempt" "pending 1" "$(q "SELECT status || ' ' || attempts FROM outbox WHERE id = $id4")"
check_eq "last error holds the reply" 1 "$(q "SELECT count(*) FROM outbox WHERE id = $id4 AND last_error LIKE '%450 4.2.1%'")"
check_eq "next try after the back-off" 1 "$(q "SELECT CASE WHEN next_try > strftime('%s','now') + 60 THEN 1 ELSE 0 END FROM outbox WHERE id = $id4")"
check_rc "send: not due yet" 0 sd send
check_eq "nothing sent before the back-off" 0 "$(smtpd_count)"
check_rc "send later (SECDESK_NOW past the back-off)" 0 env SECDESK_NOW=$(( $(date +%s) + 7200 )) \
	"$SECDESK" -c "$d/secdesk.conf" send
check_eq "delivered on the retry" 1 "$(smtpd_count)"
check_eq "sent after two attempts" "sent 2" "$(q "SELECT status || ' ' || attempts FROM outbox WHERE id = $id4")"
smtpd_stop

# --- a 4xx, then --now retries at once ---
smtpd_start "$T_DIR/smtp4b" --port "$port" --rcpt-reply "451 4.3.0 local problem" \
	--fail-times 1 || not_ok "smtp server starts"
make_mail "$T_DIR/m5.eml" "m5@example.org" "person5@example.org" "Question 5"
sd ingest "$T_DIR/m5.eml" >/dev/null
check_rc "send meets a 4xx" 0 sd send
check_rc "send --now" 0 sd send --now
check_eq "--now retried it at once" 1 "$(smtpd_count)"
smtpd_stop

# --- a 5xx: failed for good, the ticket flagged ---
smtpd_start "$T_DIR/smtp5" --port "$port" --rcpt-reply "550 5.1.1 no such user" \
	--match nobody || not_ok "smtp server starts"
make_mail "$T_DIR/m6.eml" "m6@example.org" "nobody@example.org" "Question 6"
sd ingest "$T_DIR/m6.eml" >/dev/null
make_mail "$T_DIR/m7.eml" "m7@example.org" "person7@example.org" "Question 7"
sd ingest "$T_DIR/m7.eml" >/dev/null
t6=$(q "SELECT ticket_id FROM messages WHERE message_id = 'm6@example.org'")
check_rc "send meets a 5xx: the run goes on" 0 sd send
check "reports it failed" grep -q "failed 1" "$T_DIR/.out"
check_eq "the other mail went out on the same connection" 1 "$(smtpd_count)"
check_eq "failed for good" failed "$(q "SELECT status FROM outbox WHERE ticket_id = $t6")"
check_eq "ticket flagged send-failed" 32 "$(q "SELECT flags & 32 FROM tickets WHERE id = $t6")"
check_eq "an event says why" 1 "$(q "SELECT count(*) FROM events WHERE ticket_id = $t6 AND what = 'send-failed' AND new_value LIKE '%550 5.1.1%'")"
check_rc "send --now does not retry a failed mail" 0 sd send --now
check_eq "still one delivered" 1 "$(smtpd_count)"
sd outbox >"$T_DIR/ob.txt"
check "outbox shows the failure" grep -q "last error: .*550 5.1.1 no such user" "$T_DIR/ob.txt"
smtpd_stop

# --- a 421: the session is over, the mail stays queued ---
smtpd_start "$T_DIR/smtp6" --port "$port" --rcpt-reply "421 4.7.0 go away" || not_ok "smtp server starts"
make_mail "$T_DIR/m8.eml" "m8@example.org" "person8@example.org" "Question 8"
sd ingest "$T_DIR/m8.eml" >/dev/null
id8=$(q "SELECT max(id) FROM outbox")
check_rc "a 421 ends the run with 75" 75 sd send
check_eq "pending after a 421" pending "$(q "SELECT status FROM outbox WHERE id = $id8")"
smtpd_stop

# --- max_attempts: a 4xx that never ends fails in the end ---
sed -i 's|^\[send\]|[send]\nmax_attempts = 2\nretry_base = 10s|' "$d/secdesk.conf"
smtpd_start "$T_DIR/smtp7" --port "$port" --rcpt-reply "452 4.2.2 mailbox full" || not_ok "smtp server starts"
now=$(date +%s)
check_rc "first attempt" 0 env SECDESK_NOW=$((now + 20000)) "$SECDESK" -c "$d/secdesk.conf" send
check_eq "deferred once" "pending 1" "$(q "SELECT status || ' ' || attempts FROM outbox WHERE id = $id8")"
check_rc "second attempt" 0 env SECDESK_NOW=$((now + 40000)) "$SECDESK" -c "$d/secdesk.conf" send
check_eq "failed after max_attempts" "failed 2" "$(q "SELECT status || ' ' || attempts FROM outbox WHERE id = $id8")"
check_eq "its ticket flagged" 32 "$(q "SELECT t.flags & 32 FROM tickets t JOIN outbox o ON o.ticket_id = t.id WHERE o.id = $id8")"
done_testing

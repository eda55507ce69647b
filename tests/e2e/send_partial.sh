#!/bin/sh
# One mail, several recipients, a server that takes some and refuses
# others (tests/harness/smtpd.py --rcpt-rule), with the partner
# notification to a queue of three contacts:
#  - 5xx for one: the others get the mail once; the refused recipient is
#    recorded on the outbox row (outbox --json) and as an event on the
#    ticket, which is flagged; nothing is retried;
#  - 4xx for one: the others get it now, only that one is retried after
#    the back-off, and gets it once;
#  - 421 for one: the server is closing, so nobody gets it and it stays
#    queued whole (send exits 75); once the server is back, all get it once;
#  - 5xx for all: the mail fails for good, every refusal recorded.
# Both with and without PIPELINING.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"

if ! smtpd_available; then
	skip "python3-aiosmtpd is not installed"
	done_testing
	exit 0
fi
d=$T_DIR/desk
make_config "$d"
# The shipped routing, with three contacts for Germany.
mkdir -p "$T_DIR/rules"
cp "$TOP"/rules/* "$T_DIR/rules/"
sed -i 's|^queue DE "Germany" language de contact .*|queue DE "Germany" language de contact partner-de@icpermed.example, bad-de@icpermed.example, later-de@icpermed.example|' \
	"$T_DIR/rules/00-queues.rules"
sed -i "s|^dir = $TOP/rules|dir = $T_DIR/rules|" "$d/secdesk.conf"
at_exit smtpd_stop
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
js() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# got N RCPT: how many mails about ticket N the server handed to RCPT
got() {
	python3 - "$SMTPD_DIR/rcv" "$1" "$2" <<'PY'
import glob, json, sys
d, n, rcpt = sys.argv[1], sys.argv[2], sys.argv[3]
c = 0
for env in glob.glob(d + "/*.env"):
    e = json.load(open(env))
    raw = open(env[:-4] + ".eml", "rb").read()
    head = raw.split(b"\r\n\r\n", 1)[0]
    if rcpt in e["rcpt_tos"] and b"[ICPerMed #%s]" % n.encode() in head:
        c += 1
print(c)
PY
}
inquiry() { # N FROM
	cat >"$T_DIR/i$1.eml" <<MAIL
From: Researcher $1 <$2>
To: secretariat@icpermed.example
Subject: Question number $1
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <partial-$1@example.de>

Guten Tag, eine Frage zur Ausschreibung.
MAIL
	sd ingest "$T_DIR/i$1.eml" >/dev/null
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SMTPD_PORT=$port smtpd_config "$d"

# --- 1. a 5xx for one recipient, with PIPELINING ---
smtpd_start "$T_DIR/smtp1" --port "$port" --pipelining --rcpt-log "$T_DIR/rcpt1.log" \
	--rcpt-rule 'bad-de|550 5.1.1 <bad-de@icpermed.example>: no such user' ||
	not_ok "smtp server starts"
inquiry 1 anna@charite.de
check_eq "ticket 1 routed to DE" DE "$(q "SELECT queue FROM tickets WHERE id = 1")"
n1=$(q "SELECT id FROM outbox WHERE ticket_id = 1 AND kind = 'notice'")
check_eq "one notice to three contacts" \
	"partner-de@icpermed.example,bad-de@icpermed.example,later-de@icpermed.example" \
	"$(q "SELECT rcpts FROM outbox WHERE id = $n1")"
check_rc "send: a partial refusal is not an error of the run" 0 sd send
check "send says a recipient was refused" grep -q "1 recipient(s) refused for good, 0 to retry" "$T_DIR/.err"
check_eq "the accepted two got it once each" "1 1" \
	"$(got 1 partner-de@icpermed.example) $(got 1 later-de@icpermed.example)"
check_eq "the refused one did not" 0 "$(got 1 bad-de@icpermed.example)"
check_eq "the row is sent" sent "$(q "SELECT status FROM outbox WHERE id = $n1")"
check_eq "rcpts: those that took it" "partner-de@icpermed.example,later-de@icpermed.example" \
	"$(q "SELECT rcpts FROM outbox WHERE id = $n1")"
check_eq "rejected column" "bad-de@icpermed.example 550 5.1.1 <bad-de@icpermed.example>: no such user" \
	"$(q "SELECT rtrim(rejected, '
') FROM outbox WHERE id = $n1")"
sd outbox --json >"$T_DIR/ob1.json"
row="[o for o in j if o['id'] == $n1][0]"
check_eq "outbox --json lists the sent row with a refusal" "notice sent" \
	"$(js "$T_DIR/ob1.json" "$row['kind'] + ' ' + $row['status']")"
check_eq "outbox --json: rejected recipient" bad-de@icpermed.example \
	"$(js "$T_DIR/ob1.json" "$row['rejected'][0]['to']")"
check_eq "outbox --json: its reply" "550 5.1.1 <bad-de@icpermed.example>: no such user" \
	"$(js "$T_DIR/ob1.json" "$row['rejected'][0]['reply']")"
check_eq "outbox --json: one refusal" 1 "$(js "$T_DIR/ob1.json" "len($row['rejected'])")"
check_eq "outbox --json: ack rows have none" "[]" \
	"$(js "$T_DIR/ob1.json" "[o['rejected'] for o in j if o['kind'] == 'ack']")"
sd outbox >"$T_DIR/ob1.txt"
check "outbox (text) shows the refusal" grep -q "rejected: bad-de@icpermed.example 550 5.1.1" "$T_DIR/ob1.txt"
sd show 1 --json >"$T_DIR/show1.json"
check_eq "show: a send-rejected event names recipient and reply" \
	"outbox #$n1|bad-de@icpermed.example: 550 5.1.1 <bad-de@icpermed.example>: no such user" \
	"$(js "$T_DIR/show1.json" "[e['old'] + '|' + e['new'] for e in j['events'] if e['what'] == 'send-rejected'][0]")"
check_eq "show: the ticket is flagged send-failed" True \
	"$(js "$T_DIR/show1.json" "'send-failed' in j['flags']")"
check_rc "send --now" 0 sd send --now
check_eq "nothing is retried: bad-de asked once" 1 "$(grep -c '^bad-de@' "$T_DIR/rcpt1.log")"
check_eq "still once each" "1 1 0" \
	"$(got 1 partner-de@icpermed.example) $(got 1 later-de@icpermed.example) $(got 1 bad-de@icpermed.example)"
smtpd_stop

# --- 2. a 4xx for one (once) and a 5xx for another, without PIPELINING ---
smtpd_start "$T_DIR/smtp2" --port "$port" --rcpt-log "$T_DIR/rcpt2.log" \
	--rcpt-rule 'later-de|450 4.2.1 mailbox busy, try later|1' \
	--rcpt-rule 'bad-de|550 5.1.1 no such user' || not_ok "smtp server starts"
inquiry 2 bernd@charite.de
n2=$(q "SELECT id FROM outbox WHERE ticket_id = 2 AND kind = 'notice'")
check_rc "send" 0 sd send
check "send says one refused, one to retry" grep -q "1 recipient(s) refused for good, 1 to retry" "$T_DIR/.err"
check_eq "partner-de got it at once" 1 "$(got 2 partner-de@icpermed.example)"
check_eq "later-de not yet" 0 "$(got 2 later-de@icpermed.example)"
check_eq "pending for later-de alone, one attempt" "pending 1 later-de@icpermed.example" \
	"$(q "SELECT status || ' ' || attempts || ' ' || rcpts FROM outbox WHERE id = $n2")"
check_eq "delivered to partner-de recorded" partner-de@icpermed.example \
	"$(q "SELECT delivered FROM outbox WHERE id = $n2")"
check_eq "bad-de recorded as rejected" 1 \
	"$(q "SELECT count(*) FROM outbox WHERE id = $n2 AND rejected LIKE 'bad-de@icpermed.example 550 5.1.1%'")"
check_eq "last error: the 4xx of later-de" 1 \
	"$(q "SELECT count(*) FROM outbox WHERE id = $n2 AND last_error LIKE '%later-de%450 4.2.1%'")"
check_eq "next try after the back-off" 1 \
	"$(q "SELECT CASE WHEN next_try > strftime('%s','now') + 60 THEN 1 ELSE 0 END FROM outbox WHERE id = $n2")"
sd outbox --json >"$T_DIR/ob2.json"
row="[o for o in j if o['id'] == $n2][0]"
check_eq "outbox --json: pending, to later-de, delivered partner-de, rejected bad-de" \
	"pending later-de@icpermed.example ['partner-de@icpermed.example'] ['bad-de@icpermed.example']" \
	"$(js "$T_DIR/ob2.json" "' '.join([$row['status'], $row['to'], str($row['delivered']), str([r['to'] for r in $row['rejected']])])")"
check_rc "send: not due yet" 0 sd send
check_eq "later-de still waits" 0 "$(got 2 later-de@icpermed.example)"
check_rc "send after the back-off" 0 env SECDESK_NOW=$(( $(date +%s) + 7200 )) \
	"$SECDESK" -c "$d/secdesk.conf" send
check_eq "later-de got it on the retry" 1 "$(got 2 later-de@icpermed.example)"
check_eq "partner-de still once" 1 "$(got 2 partner-de@icpermed.example)"
check_eq "bad-de never" 0 "$(got 2 bad-de@icpermed.example)"
check_eq "the retry asked for later-de only" \
	"partner-de@icpermed.example 250|bad-de@icpermed.example 550|later-de@icpermed.example 450|later-de@icpermed.example 250" \
	"$(grep -v '^bernd@' "$T_DIR/rcpt2.log" | paste -sd'|')"
check_eq "sent after two attempts" "sent 2 later-de@icpermed.example partner-de@icpermed.example" \
	"$(q "SELECT status || ' ' || attempts || ' ' || rcpts || ' ' || delivered FROM outbox WHERE id = $n2")"
check_eq "one send-rejected event on ticket 2" 1 \
	"$(q "SELECT count(*) FROM events WHERE ticket_id = 2 AND what = 'send-rejected' AND new_value LIKE 'bad-de@icpermed.example: 550%'")"
check_eq "the ack to the requester went once" 1 "$(got 2 bernd@charite.de)"
smtpd_stop

# --- 2b. a 421 for one recipient: the server is closing; nobody gets it ---
smtpd_start "$T_DIR/smtp2b" --port "$port" --pipelining \
	--rcpt-rule 'later-de|421 4.3.2 shutting down' || not_ok "smtp server starts"
inquiry 3 dora@charite.de
n3b=$(q "SELECT id FROM outbox WHERE ticket_id = 3 AND kind = 'notice'")
check_rc "a 421 ends the run with 75" 75 sd send
check_eq "the notice went to nobody" 0 \
	"$(( $(got 3 partner-de@icpermed.example) + $(got 3 later-de@icpermed.example) ))"
check_eq "still pending for all three, nothing recorded" \
	"pending partner-de@icpermed.example,bad-de@icpermed.example,later-de@icpermed.example||" \
	"$(q "SELECT status || ' ' || rcpts || '|' || delivered || '|' || rejected FROM outbox WHERE id = $n3b")"
smtpd_stop
smtpd_start "$T_DIR/smtp2c" --port "$port" --pipelining || not_ok "smtp server starts"
check_rc "send once the server is back" 0 sd send
check_eq "now each of the three got it once" "1 1 1" \
	"$(got 3 partner-de@icpermed.example) $(got 3 bad-de@icpermed.example) $(got 3 later-de@icpermed.example)"
smtpd_stop

# --- 3. a 5xx for every recipient: failed for good, each refusal recorded ---
smtpd_start "$T_DIR/smtp3" --port "$port" --pipelining \
	--rcpt-rule '-de@icpermed|550 5.7.1 relaying denied' || not_ok "smtp server starts"
inquiry 4 carla@charite.de
n4=$(q "SELECT id FROM outbox WHERE ticket_id = 4 AND kind = 'notice'")
check_rc "send" 0 sd send
check "send reports one failed" grep -q "failed 1" "$T_DIR/.out"
check_eq "the notice failed" failed "$(q "SELECT status FROM outbox WHERE id = $n4")"
check_eq "three refusals recorded" 3 \
	"$(q "SELECT length(rejected) - length(replace(rejected, '
', '')) FROM outbox WHERE id = $n4")"
check_eq "a send-failed event, the ticket flagged" "1 32" \
	"$(q "SELECT count(*) FROM events WHERE ticket_id = 4 AND what = 'send-failed'") $(q "SELECT flags & 32 FROM tickets WHERE id = 4")"
check_eq "the ack still went" 1 "$(got 4 carla@charite.de)"
check_eq "no notice at the server" 0 \
	"$(( $(got 4 partner-de@icpermed.example) + $(got 4 later-de@icpermed.example) + $(got 4 bad-de@icpermed.example) ))"
done_testing

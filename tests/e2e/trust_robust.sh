#!/bin/sh
# No single message stops the queue (issue 15, point 4). A rule whose
# capture is not a valid value, and a fault placed by SECDESK_FAULT_STEP at
# each per-message step (parse, rules, thread, ticket, attach, ack, notice)
# of one message among 300: that message is stored and flagged
# processing-error with the reason in `show`, every other message is stored
# once and acknowledged, `run` exits 0 and its summary line says what was
# flagged, and a rerun changes nothing.
. "$TOP/tests/lib.sh"
N=300
q() { store_sql "$1" "$2" | tr '|' ' '; }
# show's text with the history's wrapped lines joined again.
show_text() {
	"$SECDESK" -c "$1/secdesk.conf" show "$2" 2>&1 | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n  \* / /g'
}

# The mail: N - 1 inquiries from distinct senders, and the one a fault is
# placed on, from a German university (routed to DE: a partner notice) with
# an attachment.
mkdir -p "$T_DIR/mails"
i=1
while [ $i -lt $N ]; do
	make_mail "$T_DIR/mails/1$(printf %05d $i).M$i.host" "inq-$i@example.org" "p$i@example.org" \
		"Inquiry $i about the joint call"
	i=$((i + 1))
done
cat >"$T_DIR/mails/100150.Mfault.host" <<'MAIL'
From: Fa Ulty <faulty@charite.de>
To: secretariat@icpermed.example
Subject: The joint call: my abstract
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <faulty-1@charite.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Dear secretariat, please find my abstract for the joint call attached.

--b1
Content-Type: text/plain; name="abstract.txt"
Content-Disposition: attachment; filename="abstract.txt"

An abstract about personalised medicine.
--b1--
MAIL

# desk DIR: a desk with the N mails in its Maildir.
desk() {
	make_config "$1"
	cp "$T_DIR/mails/"* "$1/inbox/new/"
	"$SECDESK" -c "$1/secdesk.conf" db init >/dev/null
}
# The store's state, to compare before and after a rerun.
snapshot() {
	q "$1" "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM messages),
		(SELECT count(*) FROM events), (SELECT count(*) FROM outbox),
		(SELECT count(*) FROM attachments), (SELECT group_concat(state || done) FROM
		(SELECT DISTINCT state, done FROM intake) AS s), (SELECT sum(flags) FROM tickets)"
}
# The ticket holding the faulted message (by its raw bytes).
fault_ticket() {
	q "$1" "SELECT m.ticket_id FROM messages m JOIN raws r ON r.id = m.raw_id
		WHERE m.direction = 'in' AND instr(r.data, '<faulty-1@charite.de>') > 0"
}

# check_step STEP EVENT: a run with the fault at STEP; the ticket of the
# faulted message has the event EVENT naming the fault.
check_step() {
	_s=$1 _ev=$2 _d=$T_DIR/step-$1
	desk "$_d"
	SECDESK_FAULT_STEP=$_s SECDESK_FAULT_MSGID=faulty-1@ \
		"$SECDESK" -c "$_d/secdesk.conf" run >"$T_DIR/$_s.out" 2>"$T_DIR/$_s.err"
	check_eq "$_s: a fault in one message's $_s step: run exits 0" 0 $?
	check "$_s: the summary line says one was flagged for it" \
		grep -q '^fetched '$N', .* flagged 1 (processing errors 1), .*errors 0$' "$T_DIR/$_s.out"
	check_eq "$_s: all $N stored, each once" "$N $N" \
		"$(q "$_d" "SELECT count(*), count(DISTINCT raw_id) FROM messages WHERE direction = 'in'")"
	check_eq "$_s: no ticket without its message" 0 \
		"$(q "$_d" "SELECT count(*) FROM tickets WHERE id NOT IN (SELECT ticket_id FROM messages)")"
	check_eq "$_s: every source copy stored and marked done" "$N" \
		"$(q "$_d" "SELECT count(*) FROM intake WHERE state = 'stored' AND done = 1")"
	check_eq "$_s: the Maildir's new/ is empty" 0 "$(ls "$_d/inbox/new" | wc -l)"
	_t=$(fault_ticket "$_d")
	check "$_s: the faulted message is stored (ticket #$_t)" test -n "$_t"
	check_eq "$_s: its ticket flagged processing-error" 256 \
		"$(q "$_d" "SELECT flags & 256 FROM tickets WHERE id = ${_t:-0}")"
	check_eq "$_s: only its ticket is" 1 "$(q "$_d" "SELECT count(*) FROM tickets WHERE flags & 256 <> 0")"
	show_text "$_d" "${_t:-0}" >"$T_DIR/$_s.show"
	check "$_s: show gives the reason ($_ev)" grep -q "secdesk: $_ev .*$_s: fault injected" \
		"$T_DIR/$_s.show"
	"$SECDESK" -c "$_d/secdesk.conf" show --json "${_t:-0}" >"$T_DIR/$_s.json" 2>&1
	check_eq "$_s: show --json too" "processing-error $_ev" "$(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
ev = [e["what"] for e in t["events"] if "fault injected" in (e.get("new") or e.get("new_value") or "")]
print(" ".join([f for f in t["flags"] if f == "processing-error"] + ev[:1]))' "$T_DIR/$_s.json" 2>&1)"
	check_eq "$_s: every other requester acknowledged" $((N - 1)) \
		"$(q "$_d" "SELECT count(DISTINCT rcpts) FROM outbox WHERE kind = 'ack' AND rcpts <> 'faulty@charite.de'")"
	_before=$(snapshot "$_d")
	"$SECDESK" -c "$_d/secdesk.conf" run >"$T_DIR/$_s.rerun" 2>&1
	check_eq "$_s: a rerun exits 0" 0 $?
	check_eq "$_s: and changes nothing" "$_before" "$(snapshot "$_d")"
}

check_step parse parse-failed
check_step rules rule-error
check_step thread thread-failed
check_step ticket ticket-failed
check_step attach attach-failed
check_step ack ack-failed
check_step notice notice-failed

# What each fault leaves of the message beyond the flag.
check_eq "rules: the rules' verdict is left out (default queue, no notice)" "secretariat 0" \
	"$(q "$T_DIR/step-rules" "SELECT t.queue, (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'notice') FROM tickets t WHERE t.requester = 'faulty@charite.de'")"
check_eq "attach: its attachment rows rolled back, the raw message kept" "0 1" \
	"$(q "$T_DIR/step-attach" "SELECT count(*), (SELECT count(*) FROM raws WHERE instr(data, 'abstract.txt') > 0) FROM attachments")"
check_eq "attach: the rest of it stored as usual (routed, noticed, acked)" "DE 1 1" \
	"$(q "$T_DIR/step-attach" "SELECT t.queue, (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'notice'), (SELECT count(*) FROM outbox o WHERE o.ticket_id = t.id AND o.kind = 'ack') FROM tickets t WHERE t.requester = 'faulty@charite.de'")"
check_eq "ack: no ack for it, the notice went" "0 1" \
	"$(q "$T_DIR/step-ack" "SELECT (SELECT count(*) FROM outbox WHERE rcpts = 'faulty@charite.de'), (SELECT count(*) FROM outbox WHERE kind = 'notice')")"
check_eq "notice: no notice, the ack went" "0 1" \
	"$(q "$T_DIR/step-notice" "SELECT (SELECT count(*) FROM outbox WHERE kind = 'notice'), (SELECT count(*) FROM outbox WHERE rcpts = 'faulty@charite.de')")"
check_eq "ticket: set aside as a ticket of its own, no half-written rows" "1 0" \
	"$(q "$T_DIR/step-ticket" "SELECT count(*), (SELECT count(*) FROM tickets WHERE requester = 'faulty@charite.de') FROM tickets WHERE subject LIKE '(message set aside%'")"

# ---- a rule capture that is not a valid value ----
d=$T_DIR/capture
desk "$d"
mkdir -p "$d/rules"
cp "$TOP/rules/"*.rules "$d/rules/"
sed -i "s|^dir = $TOP/rules|dir = rules|" "$d/secdesk.conf"
cat >"$d/rules/15-org.rules" <<'RULES'
rule "Organisation from the signature"
when body matches /Organisation: (?<org>[^\n]+)/
then
	tag org-${org}
	category ${org}
end
RULES
make_mail "$d/inbox/new/100200.Macme.host" acme-1@acme.example jo@acme.example "About the call"
printf 'Organisation: Acme,Inc\n' >>"$d/inbox/new/100200.Macme.host"
make_mail "$d/inbox/new/100201.Mgood.host" good-1@good.example al@good.example "About the call"
printf 'Organisation: Good\n' >>"$d/inbox/new/100201.Mgood.host"
cp "$d/inbox/new/100200.Macme.host" "$T_DIR/acme.eml"
"$SECDESK" -c "$d/secdesk.conf" run >"$T_DIR/cap.out" 2>"$T_DIR/cap.err"
check_eq "tag org-\${org} with 'Acme,Inc': run exits 0 (not 65)" 0 $?
check "the summary line says so" grep -q 'flagged 1 (processing errors 2)' "$T_DIR/cap.out"
check_eq "all $((N + 2)) stored" $((N + 2)) "$(q "$d" "SELECT count(*) FROM messages WHERE direction = 'in'")"
t=$(q "$d" "SELECT ticket_id FROM messages WHERE message_id = 'acme-1@acme.example'")
check_eq "its ticket: no tag, no category from the capture, flagged" " funding 256" \
	"$(q "$d" "SELECT (SELECT group_concat(tag) FROM ticket_tags WHERE ticket_id = $t), category, flags & 256 FROM tickets WHERE id = $t")"
show_text "$d" "$t" >"$T_DIR/acme.show"
check "show names the value dropped and the rule" \
	grep -q "rule-error .*15-org.rules:4: rule 'Organisation from the signature': tag 'org-Acme,Inc' dropped" \
	"$T_DIR/acme.show"
t2=$(q "$d" "SELECT ticket_id FROM messages WHERE message_id = 'good-1@good.example'")
check_eq "a valid capture is taken" "org-Good Good 0" \
	"$(q "$d" "SELECT (SELECT group_concat(tag) FROM ticket_tags WHERE ticket_id = $t2), category, flags & 256 FROM tickets WHERE id = $t2")"
check_rc "a second run: 0" 0 "$SECDESK" -c "$d/secdesk.conf" run
"$SECDESK" -c "$d/secdesk.conf" rules test "$T_DIR/acme.eml" >"$T_DIR/acme.trace"
check "rules test: a trace line for the value dropped" \
	grep -q "do tag org-\${org}  (tag 'org-Acme,Inc' dropped: not one word without commas)" "$T_DIR/acme.trace"
check "rules test: and an error in the result" grep -q "^  error: .*category 'Acme,Inc' dropped" "$T_DIR/acme.trace"
# Through an MTA: ingest takes it (0), not 75 for ever.
make_mail "$T_DIR/acme2.eml" acme-2@acme.example jo2@acme.example "Again"
printf 'Organisation: Acme,Inc\n' >>"$T_DIR/acme2.eml"
# ingest's details go to the mail log, not to what the MTA passes back.
check_rc "ingest of such a mail exits 0 (the MTA does not retry for ever)" 0 \
	env SECDESK_TEST_SYSLOG="$T_DIR/syslog" "$SECDESK" -c "$d/secdesk.conf" ingest "$T_DIR/acme2.eml"
check "with a warning naming the ticket in the mail log" grep -q "ticket #[0-9]* flagged" "$T_DIR/syslog"
done_testing

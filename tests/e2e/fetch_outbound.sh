#!/bin/sh
# The acknowledgements and notices of a fetch are built and recorded with
# each inquiry, inside the batch's transaction. Every check counts the mails
# of the inquiries before it in the same batch (a follow-up is not
# acknowledged again; the per-sender and hourly limits hold within a batch,
# also past 16 inquiries), the counts of the summary add up, and a batch
# that fails drops its mails with it: the rerun queues each once.
. "$TOP/tests/lib.sh"

q() { store_sql "$1" "$2"; }
# The order rows were added in: SQLite's rowid, PostgreSQL's place in the
# table (the log is only appended to).
if store_is_pg; then insert_order=ctid; else insert_order=rowid; fi
acks() { q "$1" "SELECT count(*) FROM outbox WHERE kind = 'ack'"; }
# put DESK FILE MSGID FROM SUBJECT [IN-REPLY-TO]: an inquiry in DESK's inbox
put() {
	make_mail "$1/inbox/new/$2" "$3" "$4" "$5"
	if [ -n "${6:-}" ]; then
		sed -i "s/^Message-ID: .*/&\nIn-Reply-To: <$6>/" "$1/inbox/new/$2"
	fi
}
desk() { # DIR PER_SENDER HOURLY
	make_config "$1"
	printf '[ack]\nper_sender_limit = %s\nhourly_limit = %s\n' "$2" "$3" >>"$1/secdesk.conf"
}
fetch() { "$SECDESK" -c "$1/secdesk.conf" fetch 2>"$T_DIR/fetch.err"; }

# --- a follow-up in the same batch as its inquiry: one ack ---
d=$T_DIR/followup
desk "$d" 0 0
put "$d" 0001 a1@example.org alice@example.org "Call dates"
put "$d" 0002 a2@example.org alice@example.org "Re: Call dates" a1@example.org
out=$(fetch "$d")
check_eq "both stored, on one ticket" "1 2" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(q "$d" "SELECT count(*) FROM messages WHERE direction = 'in'")"
check_eq "the follow-up is not acknowledged again" 1 "$(acks "$d")"
check "the summary counts it" sh -c "echo '$out' | grep -q 'acks queued 1, acks suppressed 1'"

# --- the per-sender limit within one batch ---
d=$T_DIR/sender
desk "$d" 2 0
for i in 1 2 3 4; do put "$d" "000$i" "b$i@example.org" bob@example.org "Question $i"; done
out=$(fetch "$d")
check_eq "four tickets, two acks" "4 2" "$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d")"
check_eq "the other two say why" 2 \
	"$(q "$d" "SELECT count(*) FROM events WHERE what = 'no-ack' AND new_value = 'sender over the acknowledgement limit'")"
check "the summary counts them" sh -c "echo '$out' | grep -q 'acks queued 2, acks suppressed 2'"

# --- the hourly breaker within one batch ---
d=$T_DIR/hourly
desk "$d" 0 3
for i in 1 2 3 4 5; do put "$d" "000$i" "h$i@example.org" "p$i@example.org" "Question $i"; done
fetch "$d" >/dev/null
check_eq "five tickets, three acks" "5 3" "$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d")"
check_eq "counted for the hour" 3 "$(q "$d" "SELECT sum(n) FROM autoreply_count")"

# --- more inquiries than are on their way at once ---
d=$T_DIR/many
desk "$d" 0 30
i=10
while [ $i -lt 50 ]; do
	put "$d" "00$i" "n$i@example.org" "n$i@example.org" "Question $i"
	i=$((i + 1))
done
out=$(fetch "$d")
check_eq "forty tickets, thirty acks: the limit" "40 30" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d")"
check_eq "to the first thirty" "n10@example.org n39@example.org" \
	"$(q "$d" "SELECT min(rcpts) || ' ' || max(rcpts) FROM outbox WHERE kind = 'ack'")"
check "the summary counts them" sh -c "echo '$out' | grep -q 'acks queued 30, acks suppressed 10'"

# --- a batch that fails takes its mails with it ---
d=$T_DIR/fail
desk "$d" 0 0
for i in 1 2 3 4 5 6; do put "$d" "000$i" "f$i@example.org" "p$i@example.org" "Question $i"; done
"$SECDESK" -q -c "$d/secdesk.conf" db init >/dev/null 2>&1
# The store refuses inquiries from the fourth on: the third one's ack is
# being built. (A refusal of one message alone sets that message aside and
# the batch goes on: tests/e2e/trust_robust.sh.)
store_boom "$d" messages "NEW.direction = 'in'
AND (SELECT count(*) FROM messages WHERE direction = 'in') >= 3"
fetch "$d" >/dev/null
check "the failing fetch fails" test $? -ne 0
check "and says why" grep -q 'injected failure' "$T_DIR/fetch.err"
check_eq "nothing of the batch is left: no ticket, no mail" "0 0" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(q "$d" "SELECT count(*) FROM outbox")"
check_eq "the inquiries wait in new/" 6 "$(ls "$d/inbox/new" | wc -l)"
store_unboom "$d" messages
fetch "$d" >/dev/null
check_eq "the rerun: six tickets, six acks, one each" "6 6 6" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d") $(q "$d" "SELECT count(DISTINCT ticket_id) FROM outbox WHERE kind = 'ack'")"
check_eq "each recorded on its ticket" 6 \
	"$(q "$d" "SELECT count(*) FROM messages m JOIN outbox o ON o.message_id = m.id WHERE m.ticket_id = o.ticket_id AND m.kind = 'ack'")"
check_eq "inbox emptied" 0 "$(ls "$d/inbox/new" | wc -l)"

# --- the same with the limits on, failing past the 16 mails on their way:
# the log rows and counts of the mails recorded, kept for the commit, go
# with the batch ---
d=$T_DIR/fail_logged
desk "$d" 5 100
i=10
while [ $i -lt 30 ]; do
	put "$d" "00$i" "g$i@example.org" "p$i@example.org" "Question $i"
	i=$((i + 1))
done
"$SECDESK" -q -c "$d/secdesk.conf" db init >/dev/null 2>&1
store_boom "$d" messages "NEW.direction = 'in'
AND (SELECT count(*) FROM messages WHERE direction = 'in') >= 18"
fetch "$d" >/dev/null
check "the failing fetch fails" test $? -ne 0
check_eq "nothing logged, nothing counted" "0 0" \
	"$(q "$d" "SELECT count(*) FROM autoreply_log") $(q "$d" "SELECT count(*) FROM autoreply_count")"
store_unboom "$d" messages
fetch "$d" >/dev/null
check_eq "the rerun: twenty acks, log rows, counted" "20 20 20" \
	"$(acks "$d") $(q "$d" "SELECT count(*) FROM autoreply_log") $(q "$d" "SELECT sum(n) FROM autoreply_count")"

# --- the log rows of a batch are written at its commit; the checks count
# them before: past the 16 mails on their way, the sender's own address in
# another case (the log compares addresses as SQLite's NOCASE) ---
d=$T_DIR/memo_sender
desk "$d" 1 0
put "$d" 0001 s1@example.org bob@example.org "First question"
i=10
while [ $i -lt 30 ]; do
	put "$d" "00$i" "s$i@example.org" "o$i@example.org" "Other question $i"
	i=$((i + 1))
done
put "$d" 0099 s99@example.org BOB@Example.ORG "Second question"
out=$(fetch "$d")
check_eq "22 tickets, 21 acks: bob's second is over his limit" "22 21" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d")"
check_eq "and says so" 1 \
	"$(q "$d" "SELECT count(*) FROM events WHERE what = 'no-ack' AND new_value = 'sender over the acknowledgement limit'")"
check_eq "one log row per ack, in the order they were queued" \
	"21 bob@example.org o29@example.org" \
	"$(q "$d" "SELECT count(*) || ' ' || (SELECT addr FROM autoreply_log ORDER BY $insert_order LIMIT 1) || ' ' || (SELECT addr FROM autoreply_log ORDER BY $insert_order DESC LIMIT 1) FROM autoreply_log")"

# --- batches of 3: the counts of one transaction are read again in the
# next, with what it wrote; the breaker's state row is set once ---
d=$T_DIR/memo_batches
desk "$d" 3 4
printf '[mailbox]\nbatch = 3\n' >>"$d/secdesk.conf"
for i in 1 2 3 4 5 6 7 8; do put "$d" "000$i" "m$i@example.org" "q$i@example.org" "Question $i"; done
out=$(fetch "$d")
check_eq "eight tickets, four acks" "8 4" "$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d")"
check_eq "to the first four" "q1@example.org q4@example.org" \
	"$(q "$d" "SELECT min(rcpts) || ' ' || max(rcpts) FROM outbox WHERE kind = 'ack'")"
check_eq "four counted for the hour, four logged" "4 4" \
	"$(q "$d" "SELECT sum(n) FROM autoreply_count") $(q "$d" "SELECT count(*) FROM autoreply_log")"
check_eq "the breaker: four no-acks, its state row" "4 1" \
	"$(q "$d" "SELECT count(*) FROM events WHERE what = 'no-ack' AND new_value = 'hourly limit of automatic mail reached'") $(q "$d" "SELECT count(*) FROM state WHERE key = 'ack_breaker'")"
check "the summary counts them" sh -c "echo '$out' | grep -q 'acks queued 4, acks suppressed 4'"

# --- the per-sender count over transactions: a row logged in an earlier
# batch, one in the store before the fetch, and the sender's address in
# another case ---
d=$T_DIR/memo_senders
desk "$d" 1 0
printf '[mailbox]\nbatch = 3\n' >>"$d/secdesk.conf"
"$SECDESK" -q -c "$d/secdesk.conf" db init >/dev/null 2>&1
q "$d" "INSERT INTO autoreply_log (addr, at) VALUES ('Carol@Example.org', strftime('%s', 'now'))"
put "$d" 0001 r1@example.org dave@example.org "Dave's first"
for i in 2 3 4 5 6; do put "$d" "000$i" "r$i@example.org" "x$i@example.org" "Question $i"; done
put "$d" 0007 r7@example.org DAVE@example.org "Dave's second"
put "$d" 0008 r8@example.org carol@example.org "Carol's"
fetch "$d" >/dev/null
check_eq "eight tickets, six acks: dave's second and carol's are over the limit" "8 6" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d")"
check_eq "both say so" "Dave's second|Carol's" \
	"$(q "$d" "SELECT group_concat(subject, '|') FROM (SELECT t.subject FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE e.what = 'no-ack' AND e.new_value = 'sender over the acknowledgement limit' ORDER BY e.id) AS s")"

# --- a partner contact writing, its address in another case: no ack ---
d=$T_DIR/contact
desk "$d" 0 0
put "$d" 0001 c1@example.org Partner-AR@ICPerMed.example "A question of ours"
put "$d" 0002 c2@example.org someone@example.org "A question"
fetch "$d" >/dev/null
check_eq "two tickets, one ack: not to the contact" "2 1 someone@example.org" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d") $(q "$d" "SELECT rcpts FROM outbox WHERE kind = 'ack'")"
check_eq "the contact's says why" "from a partner contact" \
	"$(q "$d" "SELECT new_value FROM events WHERE what = 'no-ack'")"

done_testing

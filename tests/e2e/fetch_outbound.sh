#!/bin/sh
# The acknowledgements and notices of a fetch are built on a thread of their
# own while the next inquiries are stored (outbound_pipeline_start), and
# recorded later. Every check still counts the mails of the inquiries before
# it in the same batch, recorded or not (a follow-up is not acknowledged
# again; the per-sender and hourly limits hold within a batch, also past the
# 16 inquiries on their way at once), the counts of the summary add up, and
# a batch that fails drops its mails with it: the rerun queues each once.
. "$TOP/tests/lib.sh"

q() { sqlite3 "$1/secdesk.db" "$2"; }
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
# The store refuses the fourth inquiry: the third one's ack is being built.
q "$d" "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.subject = 'Question 4'
BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
fetch "$d" >/dev/null
check "the failing fetch fails" test $? -ne 0
check "and says why" grep -q 'injected failure' "$T_DIR/fetch.err"
check_eq "nothing of the batch is left: no ticket, no mail" "0 0" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(q "$d" "SELECT count(*) FROM outbox")"
check_eq "the inquiries wait in new/" 6 "$(ls "$d/inbox/new" | wc -l)"
q "$d" "DROP TRIGGER boom"
fetch "$d" >/dev/null
check_eq "the rerun: six tickets, six acks, one each" "6 6 6" \
	"$(q "$d" "SELECT count(*) FROM tickets") $(acks "$d") $(q "$d" "SELECT count(DISTINCT ticket_id) FROM outbox WHERE kind = 'ack'")"
check_eq "each recorded on its ticket" 6 \
	"$(q "$d" "SELECT count(*) FROM messages m JOIN outbox o ON o.message_id = m.id WHERE m.ticket_id = o.ticket_id AND m.kind = 'ack'")"
check_eq "inbox emptied" 0 "$(ls "$d/inbox/new" | wc -l)"

done_testing

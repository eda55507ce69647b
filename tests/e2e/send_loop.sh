#!/bin/sh
# No mail loops: secdesk against an auto-responder that answers everything
# (no RFC 3834 headers, to the From address, whatever the mail was). Round
# after round of run (fetch + send), at most one acknowledgement goes out.
# Then the bounces and auto-replies of the shared corpus: no ack at all.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"

d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }

if ! smtpd_available; then
	skip "python3-aiosmtpd is not installed"
else
	smtpd_start "$T_DIR/smtp" --respond-to "$d/inbox" || not_ok "smtp server starts"
	at_exit smtpd_stop
	smtpd_config "$d"
	make_mail "$d/inbox/new/1.first:2," "loop-1@example.org" "vacation@example.org" \
		"Please send me the call text"
	for round in 1 2 3 4 5 6; do
		sd -q run >/dev/null 2>&1
		# The responder answers within the server's DATA handling.
	done
	check_eq "the responder got one mail" 1 "$(smtpd_count)"
	check_eq "one acknowledgement in all" 1 "$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")"
	check_eq "its answer was filed on the ticket" 2 "$(q "SELECT count(*) FROM messages WHERE ticket_id = 1 AND direction = 'in'")"
	check_eq "nothing left in the inbox" 0 "$(ls "$d/inbox/new" | wc -l)"

	# A responder that writes a fresh mail each time (no threading) is
	# held by the per-sender limit.
	for i in 1 2 3 4 5 6 7 8; do
		make_mail "$d/inbox/new/$i.fresh:2," "fresh-$i@example.org" "robot@example.org" \
			"Fresh question $i"
	done
	sd -q run >/dev/null 2>&1
	check_eq "per-sender limit: at most [ack] per_sender_limit (3) to one address" 3 \
		"$(q "SELECT count(*) FROM outbox WHERE kind = 'ack' AND rcpts = 'robot@example.org'")"
	check_eq "the rest were told apart" 5 \
		"$(q "SELECT count(*) FROM events WHERE what = 'no-ack' AND new_value LIKE '%limit%'")"
fi

# The hourly breaker stops automatic mail and tells staff.
d2=$T_DIR/desk2
make_config "$d2"
printf '[ack]\nhourly_limit = 2\n' >>"$d2/secdesk.conf"
for i in 1 2 3 4; do
	make_mail "$d2/inbox/new/$i.b:2," "b-$i@example.org" "p$i@example.org" "Question $i"
done
"$SECDESK" -q -c "$d2/secdesk.conf" fetch >/dev/null 2>&1
check_eq "the breaker holds automatic mail at the hourly limit" 2 \
	"$(store_sql "$d2" "SELECT count(*) FROM outbox WHERE kind = 'ack'")"
"$SECDESK" -c "$d2/secdesk.conf" outbox >/dev/null 2>"$T_DIR/ob.err"
check "outbox tells staff" grep -q "stopped by the hourly limit" "$T_DIR/ob.err"

# The shared corpus: bounces, DSNs, ARF reports and auto-replies.
corpus=$TOP/../shared/corpus/sisimai-set-of-emails
if [ ! -d "$corpus" ]; then
	skip "no shared corpus at $corpus"
else
	d3=$T_DIR/desk3
	make_config "$d3"
	n=0
	for f in $(find "$corpus" -name '*.eml' ! -path '*/not/*' | sort); do
		n=$((n + 1))
		cp "$f" "$d3/inbox/new/$n.corpus:2,"
	done
	"$SECDESK" -q -c "$d3/secdesk.conf" fetch >/dev/null 2>&1
	stored=$(store_sql "$d3" "SELECT count(*) FROM messages WHERE direction = 'in'")
	acks=$(store_sql "$d3" "SELECT count(*) FROM outbox WHERE kind = 'ack'")
	check "corpus stored ($stored of $n messages)" test "$stored" -gt 0
	check_eq "no acknowledgement for any of $n bounces and auto-replies" 0 "$acks"
	if [ "$acks" != 0 ]; then
		store_sql "$d3" "SELECT t.requester, t.subject FROM outbox o JOIN tickets t ON t.id = o.ticket_id" | sed 's/^/#   /' | head -20
	fi
fi
done_testing

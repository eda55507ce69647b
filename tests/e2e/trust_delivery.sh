#!/bin/sh
# Delivery is recorded mail by mail (issue 15, point 10): 3,000 queued mails
# sent with 8 kill -9 on the way, each at a point picked by progress (the
# SMTP server's count of mails received, or the outbox folder's count of
# files), never by time, then a send to the end. Over SMTP a mail is
# recorded before the next goes: at most the one in flight per kill is
# received twice. Over dir: each file is named by its outbox id, so a
# mail written again replaces its copy: no duplicate at all.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"

N=${TRUST_SEND_N:-3000}
KILLS=8
# A line end in SQL, and the mail's text as the data column takes it (a
# PostgreSQL bytea: the text's UTF-8).
if store_is_pg; then
	crlf="chr(13) || chr(10)" data_in="convert_to(" data_out=", 'UTF8')"
else
	crlf="char(13,10)" data_in= data_out=
fi
queue() { # DIR: N acks queued (bench/send.sh's rows, each with its Message-ID)
	"$SECDESK" -q -c "$1/secdesk.conf" db init >/dev/null
	store_sql "$1" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO outbox (kind, env_from, rcpts, data, next_try, created)
SELECT 'ack', '', 'person' || i || '@example.org',
 $data_in'From: Desk <secretariat@icpermed.example>' || $crlf ||
 'To: <person' || i || '@example.org>' || $crlf ||
 'Subject: Re: A question [ICPerMed #' || i || ']' || $crlf ||
 'Message-ID: <kill.' || i || '@icpermed.example>' || $crlf || $crlf ||
 'Thank you.' || $crlf$data_out, 0, 0
FROM n;
SQL
}
# kill_send DIR COUNT_CMD TARGET: a send, killed once COUNT_CMD says TARGET
kill_send() {
	"$SECDESK" -q -c "$1/secdesk.conf" send >/dev/null 2>&1 &
	_pid=$!
	while kill -0 "$_pid" 2>/dev/null && [ "$($2)" -lt "$3" ]; do sleep 0.01; done
	kill -9 "$_pid" 2>/dev/null && killed=$((killed + 1))
	wait "$_pid" 2>/dev/null
}

# --- SMTP ---
if smtpd_available && smtpd_start "$T_DIR/smtp" --pipelining; then
	at_exit smtpd_stop
	d=$T_DIR/smtp_desk
	make_config "$d"
	smtpd_config "$d"
	queue "$d"
	killed=0
	for k in $(seq 1 $KILLS); do
		kill_send "$d" smtpd_count $((k * N / (KILLS + 2) + k * 37 % 50))
	done
	"$SECDESK" -q -c "$d/secdesk.conf" send >/dev/null 2>"$T_DIR/smtp.err"
	check_eq "SMTP: every mail sent at last" "$N" \
		"$(store_sql "$d" "SELECT count(*) FROM outbox WHERE status = 'sent'")"
	got=$(cat "$SMTPD_DIR"/rcv/*.eml | grep -c '^Message-ID: <kill\.')
	uniq=$(cat "$SMTPD_DIR"/rcv/*.eml | grep '^Message-ID: <kill\.' | sort -u | wc -l)
	check_eq "SMTP: every mail received" "$N" "$uniq"
	check "SMTP: the sends were killed on the way ($killed of $KILLS)" test "$killed" -ge 6
	check "SMTP: duplicates ($((got - uniq))) at most the kills ($killed)" \
		test $((got - uniq)) -le "$killed"
else
	skip "SMTP: no aiosmtpd"
fi

# --- dir: ---
d=$T_DIR/dir_desk
make_config "$d"
queue "$d"
files() { ls "$d/outbox" | grep -c '\.eml$'; }
killed=0
for k in $(seq 1 $KILLS); do
	kill_send "$d" files $((k * N / (KILLS + 2) + k * 37 % 50))
done
"$SECDESK" -q -c "$d/secdesk.conf" send >/dev/null 2>"$T_DIR/dir.err"
check_eq "dir: every mail sent at last" "$N" \
	"$(store_sql "$d" "SELECT count(*) FROM outbox WHERE status = 'sent'")"
check "dir: the sends were killed on the way ($killed of $KILLS)" test "$killed" -ge 6
check_eq "dir: one file per mail, no duplicate" "$N $N" \
	"$(files) $(cat "$d/outbox"/*.eml | grep '^Message-ID: <kill\.' | sort -u | wc -l)"
check_eq "dir: each named by its outbox id" 0 \
	"$(for f in "$d/outbox"/*.eml; do id=$(basename "$f" .eml); \
		grep -q "^Message-ID: <kill\.$((10#$id))@" "$f" || echo "$f"; done | wc -l)"
check "no errors" test ! -s "$T_DIR/dir.err"
done_testing

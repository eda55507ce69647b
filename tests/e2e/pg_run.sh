#!/bin/sh
# The whole pipeline on PostgreSQL from the command line (issue 17): db init,
# run over a Maildir of 40 routing test mails (acks queued and sent to a dir:
# outbox), list, show, search, status, reply -m, send; the outcome is the
# one the same run gives on SQLite. A second run finds nothing new. Two
# sends at once on one outbox send each mail once. A server stopped mid-run
# (the run halted by a test hook after its 30th message): exit 75 with the
# reason on one line, nothing marked seen in the Maildir that the store has
# not, and the run after the restart finishes, each mail stored once.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/pg.sh"

pg_private
export SECDESK_USER=alice TZ=UTC SECDESK_NOW=1796112000 # 2026-12-01

lite=$T_DIR/lite pg=$T_DIR/pgd
make_config "$lite"
make_config "$pg"
printf '%s\n' "$PG_RUN_PASS" >"$pg/run.pw"
chmod 0600 "$pg/run.pw"
sed -i "s|^path = secdesk.db|url = $PG_URL\npassword_file = run.pw|" "$pg/secdesk.conf"
i=0
for f in $(ls "$TOP"/tests/mail/routing/*.eml | head -40); do
	i=$((i + 1))
	cp "$f" "$lite/inbox/new/$i.eml"
	cp "$f" "$pg/inbox/new/$i.eml"
done
sd() { _sd_d=$1; shift; "$SECDESK" -c "$_sd_d/secdesk.conf" "$@"; }
both_eq() { # DESCRIPTION COMMAND...: the same output on SQLite and PostgreSQL
	_b_d=$1
	shift
	sd "$lite" "$@" >"$T_DIR/lite.txt" 2>&1
	sd "$pg" "$@" >"$T_DIR/pg.txt" 2>&1
	if [ -s "$T_DIR/pg.txt" ] && cmp -s "$T_DIR/lite.txt" "$T_DIR/pg.txt"; then ok "$_b_d"; else
		not_ok "$_b_d"
		diff "$T_DIR/lite.txt" "$T_DIR/pg.txt" | head -20 | sed 's/^/#   /'
	fi
}
search_ids() { # DESK QUERY: the ticket ids found, sorted
	sd "$1" search "$2" | sed -n 's/^#\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' '
}
outbox_files() { find "$1/outbox" -type f | wc -l; }

check_rc "db init on PostgreSQL" 0 sd "$pg" db init
check_rc "run on SQLite" 0 sd "$lite" run
cp "$T_DIR/.out" "$T_DIR/lite.run"
check_rc "run on PostgreSQL" 0 sd "$pg" run
check "  its summary line is SQLite's" cmp -s "$T_DIR/lite.run" "$T_DIR/.out"
check "  40 new tickets" grep -q "new tickets 40," "$T_DIR/.out"
check_eq "  the tickets stored" 40 "$(pg_psql -At -c 'SELECT count(*) FROM tickets')"
check_eq "  the acks sent to the dir: outbox, as many as on SQLite" "$(outbox_files "$lite")" \
	"$(outbox_files "$pg")"
check "  and some were sent" test "$(outbox_files "$pg")" -gt 0
check_eq "  every mail marked seen in the Maildir" 40 "$(ls "$pg/inbox/cur" | grep -c ':2,.*S')"
both_eq "list: the same tickets, queues and categories" list --sort id
both_eq "stats: the same counts by status and queue" stats
both_eq "stats --since/--until: the same counts in a window" stats --since 2026-11-01 --until 2026-12-31
both_eq "stats --json --since: the same window" stats --json --since 2026-11-15
both_eq "show 1: the same ticket" show 1
for q in workshop "call eligibility" förderfähigkeit 'from:anna.schmidt@web.com'; do
	check_eq "search '$q': the same hits" "$(search_ids "$lite" "$q")" "$(search_ids "$pg" "$q")"
done
check "  and it finds something" test -n "$(search_ids "$pg" workshop)"

check_rc "a second run on PostgreSQL" 0 sd "$pg" run
check "  finds nothing new" grep -q "fetched 0, new tickets 0, .* sent 0," "$T_DIR/.out"
check_eq "  the tickets still 40" 40 "$(pg_psql -At -c 'SELECT count(*) FROM tickets')"

for d in "$lite" "$pg"; do
	sd "$d" status 3 closed >/dev/null || not_ok "status 3 closed on $d"
	sd "$d" reply 5 -m "Thank you, the answer is yes." >/dev/null || not_ok "reply 5 on $d"
done
check_rc "send the reply on PostgreSQL" 0 sd "$pg" send
sd "$lite" send >/dev/null
check_eq "  one more mail out, as on SQLite" "$(outbox_files "$lite")" "$(outbox_files "$pg")"
both_eq "list after status and reply" list --sort id
both_eq "stats after status and reply" stats
check_eq "the reply and the status change are events" "1 1" \
	"$(pg_psql -At -F' ' -c "SELECT count(*) FILTER (WHERE ticket_id = 3 AND what = 'status'),
	   count(*) FILTER (WHERE ticket_id = 5 AND what = 'reply') FROM events")"

# Two sends at once on one outbox: each mail goes out once.
for id in $(seq 6 35); do
	sd "$pg" reply "$id" -m "Answer to $id." >/dev/null || not_ok "reply $id"
done
check_eq "30 replies queued" 30 "$(pg_psql -At -c "SELECT count(*) FROM outbox WHERE status = 'pending'")"
cat >"$T_DIR/capture" <<SH
#!/bin/sh
cat >"$T_DIR/cap.\$\$.\$(date +%s%N)"
SH
chmod +x "$T_DIR/capture"
sed -i "s|^url = dir:outbox|url = sendmail:$T_DIR/capture|" "$pg/secdesk.conf"
# The second as on another host: its own local lock, the same store.
sed "s|^tag .*|&\nlock_file = $T_DIR/host2.lock|" "$pg/secdesk.conf" >"$pg/host2.conf"
sd "$pg" send >"$T_DIR/send1.out" 2>&1 &
p1=$!
"$SECDESK" -c "$pg/host2.conf" send >"$T_DIR/send2.out" 2>&1 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
check_eq "two sends at once (two hosts) both end well" "0 0" "$r1 $r2"
cat "$T_DIR/send1.out" "$T_DIR/send2.out" | sed 's/^/#   /'
check_eq "  30 mails handed to the program" 30 "$(ls "$T_DIR"/cap.* | wc -l)"
check_eq "  each once (distinct Message-IDs)" 30 \
	"$(grep -hi '^Message-ID:' "$T_DIR"/cap.* | sort -u | wc -l)"
check_eq "  each recorded sent" "0 30" \
	"$(pg_psql -At -F' ' -c "SELECT count(*) FILTER (WHERE status <> 'sent'),
	   count(*) FILTER (WHERE status = 'sent' AND data LIKE '%Answer to %') FROM outbox")"
sed -i "s|^url = sendmail:.*|url = dir:outbox|" "$pg/secdesk.conf"

# The server stops mid-run.
j=0
for f in $(ls "$TOP"/tests/mail/routing/*.eml | sed -n 41,120p); do
	j=$((j + 1))
	cp "$f" "$pg/inbox/new/s$j.eml"
done
before=$(pg_psql -At -c "SELECT count(*) FROM messages WHERE raw_id IS NOT NULL")
SECDESK_FAULT_SOURCE_STOP=30 "$SECDESK" -c "$pg/secdesk.conf" run >"$T_DIR/stop.out" 2>"$T_DIR/stop.err" &
pid=$!
i=0
while [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != T ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "the run halted at its 30th message" test "$(ps -o stat= -p "$pid" | cut -c1)" = T
pg_stop
kill -CONT "$pid"
wait "$pid"
check_eq "the run whose server went away exits 75" 75 "$?"
check "  the reason on one line" test "$(wc -l <"$T_DIR/stop.err")" -eq 1
sed 's/^/#   /' "$T_DIR/stop.err"
pg_start "$T_DIR/pg" || not_ok "PostgreSQL restarts"
# Every mail marked seen has its Message-ID in the store.
pg_psql -At -c "SELECT message_id FROM messages WHERE raw_id IS NOT NULL" | sort -u >"$T_DIR/stored"
python3 - "$pg/inbox/cur" "$T_DIR/stored" >"$T_DIR/unstored" <<'PY'
import email, os, sys
cur, stored = sys.argv[1], set(open(sys.argv[2]).read().split())
for n in os.listdir(cur):
    if "S" in n.rsplit(":2,", 1)[-1]:
        mid = email.message_from_binary_file(open(os.path.join(cur, n), "rb"))["Message-ID"]
        if mid.strip().strip("<>") not in stored and mid.strip() not in stored:
            print(n, mid)
PY
check_eq "nothing marked seen that the store does not have" "" "$(cat "$T_DIR/unstored")"
check "  and the rest is still new" test "$(ls "$pg/inbox/new" | wc -l)" -gt 0
check_rc "the run after the restart" 0 sd "$pg" run
check_eq "  all 120 mails stored, each once" "120 120" \
	"$(pg_psql -At -F' ' -c "SELECT count(*), count(DISTINCT raw_id) FROM messages WHERE raw_id IS NOT NULL")"
check_eq "  the Maildir all seen" "0 120" "$(ls "$pg/inbox/new" | wc -l) $(ls "$pg/inbox/cur" | wc -l)"
check "  (there were $before before the stop)" test "$before" -eq 40

done_testing

#!/bin/sh
# No mail lost, none doubled: kill -9 at random points of runs over a few
# hundred messages, then a full run; the poison-message path; the run lock.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# add_mails FROM TO: inquiries numbered FROM..TO into new/.
add_mails() {
	i=$1
	while [ "$i" -le "$2" ]; do
		make_mail "$d/inbox/new/17$(printf %08d "$i").M$i.host" "crash$i@example.org" "sender$i@example.org" "Crash test $i"
		i=$((i + 1))
	done
}
sd db init >/dev/null

# Batches of 10, so that the store shows a run's progress batch by batch.
sed -i '/^\[mailbox\]/a batch = 10' "$d/secdesk.conf"

# Twelve rounds: 100 new messages each, a run killed with SIGKILL once the
# store shows a pseudo-random amount of progress (deterministic seed): so many
# messages staged (odd seeds) or stored (even seeds). Progress, not time,
# picks the moment, so a slow machine kills at the same points.
N=0
seed=7
kills=0
for round in 1 2 3 4 5 6 7 8 9 10 11 12; do
	add_mails $((N + 1)) $((N + 100))
	N=$((N + 100))
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	if kill_at_progress "$d/secdesk.db" "$seed" 90 "$SECDESK" -c "$d/secdesk.conf" run; then
		kills=$((kills + 1))
	fi
done
echo "# $kills of 12 runs killed mid-way"
check "most runs were killed mid-way ($kills of 12)" test "$kills" -ge 6
check_rc "a full run after the kills" 0 sd run
check_eq "no message left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "every message stored exactly once" "$N $N" \
	"$(store_sql "$d" "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE direction = 'in'" | tr '|' ' ')"
check_eq "every message has its own ticket" "$N" "$(store_sql "$d" "SELECT count(*) FROM tickets")"
check_eq "every source message is marked done" "$N" "$(store_sql "$d" "SELECT count(*) FROM intake WHERE done = 1 AND state = 'stored'")"
check_eq "one acknowledgement per ticket at most" 0 \
	"$(store_sql "$d" "SELECT count(*) FROM (SELECT ticket_id FROM outbox WHERE kind = 'ack' GROUP BY ticket_id HAVING count(*) > 1) AS twice")"
check_eq "kills from outside set no message aside as poison" 0 \
	"$(store_sql "$d" "SELECT count(*) FROM tickets WHERE flags & 16 <> 0")"
check_rc "db check" 0 sd db check

# A commit's copies are marked done only once that commit is on disk: when
# a commit fails, the fetch stops with nothing marked that it held, and the
# next run stores nothing twice.
before=$(store_sql "$d" "SELECT count(*) FROM messages WHERE direction = 'in'")
add_mails 5001 5030
check_rc "a fetch whose first commit fails exits 74" 74 env SECDESK_FAULT_COMMIT=1 "$SECDESK" -c "$d/secdesk.conf" fetch
check "with a clear message" grep -q "cannot commit: disk I/O error" "$T_DIR/.err"
check_eq "no copy is marked done" 30 "$(ls "$d/inbox/new" | wc -l)"
check_eq "nothing of it is in the store" 0 \
	"$(store_sql "$d" "SELECT count(*) - $before FROM messages WHERE direction = 'in'")"
add_mails 5031 5080
check_rc "a fetch whose third commit fails exits 74" 74 env SECDESK_FAULT_COMMIT=3 "$SECDESK" -c "$d/secdesk.conf" fetch
check "though batches were committed" test "$(store_sql "$d" "SELECT count(*) FROM intake WHERE state = 'stored'")" -ge $((before + 10))
marked=$(ls "$d/inbox/cur" | sed -n 's/^\(1700005[0-9]*\.M\([0-9]*\)\.[^:]*\).*/\2 \1/p' |
	awk '$1 > 5000 && $1 <= 5080 { print $2 }')
echo "# $(echo "$marked" | grep -c .) of the 80 new copies marked before the third commit failed"
check "some were marked" test "$(echo "$marked" | grep -c .)" -ge 10
check_eq "every copy marked done is stored" "" "$(for k in $marked; do
	[ "$(store_sql "$d" "SELECT count(*) FROM intake WHERE key = '$k' AND state = 'stored'")" = 1 ] || echo "$k"
done)"
check_rc "then a fetch without faults" 0 sd fetch
check_eq "no message left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "each of the 80 is stored once" "80 80" \
	"$(store_sql "$d" "SELECT count(*) - $before, count(DISTINCT message_id) - $before FROM messages WHERE direction = 'in'" | tr '|' ' ')"
check_eq "and every copy is marked done" 0 "$(store_sql "$d" "SELECT count(*) FROM intake WHERE done = 0")"

# The poison message: it kills the parser each time; after three attempts it
# is set aside, flagged, and the messages around it are stored.
make_mail "$d/inbox/new/1800000001.M1.host" "before@example.org" before@example.org "Before"
make_mail "$d/inbox/new/1800000002.M2.host" "poison@example.org" poison@example.org "POISON-PILL"
make_mail "$d/inbox/new/1800000003.M3.host" "after@example.org" after@example.org "After"
runs=0
while [ $runs -lt 6 ]; do
	SECDESK_FAULT_PARSE_CRASH=POISON-PILL sd run >/dev/null 2>&1 && break
	runs=$((runs + 1))
done
check "the crashing runs end within six tries ($runs crashed)" test $runs -lt 6
check_eq "the poison message is set aside as a flagged ticket" 1 \
	"$(store_sql "$d" "SELECT count(*) FROM tickets WHERE flags & 16 <> 0")"
check_eq "its raw bytes are kept" 1 \
	"$(store_sql "$d" "SELECT count(*) FROM messages m JOIN raws r ON r.id = m.raw_id WHERE m.flags & 128 <> 0 AND instr(r.data, 'POISON-PILL') > 0")"
check_eq "the messages around it are stored" 2 \
	"$(store_sql "$d" "SELECT count(*) FROM messages WHERE message_id IN ('before@example.org', 'after@example.org')")"
check_eq "the poison ticket gets no acknowledgement" 0 \
	"$(store_sql "$d" "SELECT count(*) FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.flags & 16 <> 0")"
check_eq "nothing left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"

# The run lock: a second run while one holds the lock exits 75 at once.
# The run lock's file is beside the store's file, or the config's on PostgreSQL.
if store_is_pg; then lockf=$d/secdesk.lock; else lockf=$d/secdesk.db.lock; fi
flock "$lockf" sleep 1.5 &
lpid=$!
sleep 0.3
check_rc "a concurrent run is refused with 75" 75 sd run
check "with a clear message" grep -q "another secdesk run is in progress" "$T_DIR/.err"
wait "$lpid"
check_rc "the next run goes" 0 sd run
done_testing

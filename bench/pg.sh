#!/bin/sh
# bench/pg.sh - secdesk on PostgreSQL (issue 17), on a private server that
# tests/harness/pg.sh starts on 127.0.0.1 (durable commits: fsync and
# synchronous_commit on, as the SQLite bench's synchronous=FULL):
#   (a) intake: a Maildir of BENCH_N generated inquiries (default 10,000)
#       through `secdesk fetch` (parse, rules, ticket, search words, ack
#       queued) beside bench/bare_pg.c, a bare libpq loop inserting the same
#       mails into the same tables and search index in transactions of 100,
#       in one statement a mail (the limit) and in one a row (bare_pg -r,
#       the plainest loop); BENCH_RUNS runs each (default 3), alternating,
#       best to best.
#       Target: secdesk within 1.5x the bare loop's time.
#   (b) triage on BENCH_TICKETS tickets (default 100,000), the data of
#       bench/triage.sh (the same generator and seed), loaded with COPY, the
#       search index built by `secdesk db reindex`: list, show and search
#       through the real binary, best of 5 runs each, over the local socket
#       (a desk on the server's host: no password, no TLS) and over TCP to
#       127.0.0.1 (scram-sha-256, as a desk on another host without TLS).
#       Target: under 50 ms on a local server.
#       With BENCH_PG_HUGE_PAGES=1, as root: the socket table once more,
#       the server's shared memory in huge pages (reserved for the run,
#       vm.nr_hugepages given back at the end). Each staff command meets a
#       new server process, which faults in every page of shared memory it
#       touches; where a page fault is dear (a virtual machine), this
#       table shows how much of the figures that is.
# Run by make bench (bench/run.sh; BENCH_ONLY=pg runs it alone), or:
#   BUILD=$PWD/build sh bench/pg.sh
# A server that cannot be started skips the bench, saying so.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
N=${BENCH_N:-10000}
SIZE=${BENCH_SIZE:-10240}
RUNS=${BENCH_RUNS:-3}
TICKETS=${BENCH_TICKETS:-100000}
out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-pgbench.XXXXXX")
. "$top/tests/harness/pg.sh"
. "$top/bench/lib.sh"
hugepages_before=
give_back_huge_pages() {
	[ -n "$hugepages_before" ] && echo "$hugepages_before" >/proc/sys/vm/nr_hugepages || true
}
trap 'pg_stop; give_back_huge_pages; rm -rf "$out"' EXIT

for tool in "$BUILD/bench/bare_pg" "$BUILD/bench/gen_mail" "$SECDESK"; do
	[ -x "$tool" ] || { echo "pg bench: $tool missing (make bench builds it), skipped"; exit 0; }
done
if ! pg_start "$out/pg"; then
	echo "pg bench: cannot start PostgreSQL (contrib/install-deps.sh test installs it), skipped"
	tail -5 "$out/pg/initdb.log" "$out/pg/start.log" 2>/dev/null | sed 's/^/  /'
	exit 0
fi
pg_psql -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
	-c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
echo "== PostgreSQL $(pg_psql -At -c 'SHOW server_version') on 127.0.0.1:$PG_PORT" \
	"(fsync $(pg_psql -At -c 'SHOW fsync'), synchronous_commit $(pg_psql -At -c 'SHOW synchronous_commit'))"

printf '%s\n' "$PG_RUN_PASS" >"$out/run.pw"
chmod 0600 "$out/run.pw"
# desk DIR DB: DIR/secdesk.conf for a fetch of DIR/inbox into database DB.
desk() {
	bench_conf "$1"
	sed -i "s|^path = secdesk.db|url = postgresql://$PG_RUN_USER@127.0.0.1:$PG_PORT/$2\npassword_file = $out/run.pw|" \
		"$1/secdesk.conf"
}
fresh_db() { # DB: an empty database of the run role, with secdesk's schema
	PGOPTIONS="-c client_min_messages=warning" PG_PSQL_DB=postgres pg_psql -c "DROP DATABASE IF EXISTS $1" \
		-c "CREATE DATABASE $1 OWNER $PG_RUN_USER" >/dev/null
	desk "$out/init" "$1"
	"$SECDESK" -c "$out/init/secdesk.conf" db init >/dev/null
}
now() { date +%s.%N; }
rate() { python3 -c "print('%.0f' % ($1 / ($3 - $2)))"; }

echo "== (a) intake: generating $N mails of ~$SIZE bytes"
"$BUILD/bench/gen_mail" "$out/gen" "$N" "$SIZE" >/dev/null
desk "$out/desk" bench_desk
: >"$out/runs"
i=1
while [ $i -le "$RUNS" ]; do
	for mode in one rows; do
		fresh_db bench_bare
		sync
		t0=$(now)
		"$BUILD/bench/bare_pg" $([ $mode = rows ] && echo -r) "$out/gen" \
			"host=127.0.0.1 port=$PG_PORT user=$PG_RUN_USER dbname=bench_bare password=$PG_RUN_PASS"
		t1=$(now)
		eval "bare_$mode=$(python3 -c "print('%.3f' % ($t1 - $t0))")"
		echo "run $i of $RUNS: bare libpq loop, one statement a $([ $mode = rows ] && echo row || echo mail): $(rate "$N" "$t0" "$t1") mails/s"
	done

	fresh_db bench_desk
	rm -rf "$out/desk/inbox" "$out/desk/outbox"
	mkdir -p "$out/desk/outbox"
	cp -R "$out/gen" "$out/desk/inbox"
	sync
	t0=$(now)
	/usr/bin/env time -f '%M' -o "$out/rss" "$SECDESK" -v -c "$out/desk/secdesk.conf" fetch \
		>"$out/desk.out" 2>"$out/desk.err" || { echo "secdesk fetch failed:"; tail -5 "$out/desk.err"; }
	t1=$(now)
	sd_s=$(python3 -c "print('%.3f' % ($t1 - $t0))")
	stored=$(PG_PSQL_DB=bench_desk pg_psql -At -c "SELECT count(*) || ' tickets, ' ||
		(SELECT count(*) FROM outbox WHERE kind = 'ack') || ' acks queued, ' ||
		(SELECT count(*) FROM messages WHERE search_words IS NOT NULL) || ' indexed' FROM tickets")
	echo "run $i of $RUNS: secdesk fetch: $(rate "$N" "$t0" "$t1") mails/s ($sd_s s; $stored;" \
		"peak RSS $(($(tail -n 1 "$out/rss") / 1024)) MB)"
	grep -o 'stage times: .*' "$out/desk.err" | sed 's/^/  /' || true
	echo "$bare_one $bare_rows $sd_s" >>"$out/runs"
	i=$((i + 1))
done
python3 - "$N" "$out/runs" <<'PY'
import sys
n = int(sys.argv[1])
runs = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
one, rows, sd = (min(r[k] for r in runs) for k in range(3))
print("intake on PostgreSQL, best of %d runs: secdesk %.0f mails/s" % (len(runs), n / sd))
print("  bare loop, one statement a mail: %.0f mails/s; secdesk's time %.2fx (run by run: %s)"
      % (n / one, sd / one, ", ".join("%.2fx" % (r[2] / r[0]) for r in runs)))
print("  bare loop, one statement a row:  %.0f mails/s; secdesk's time %.2fx (run by run: %s)"
      % (n / rows, sd / rows, ", ".join("%.2fx" % (r[2] / r[1]) for r in runs)))
print("  target: within 1.5x")
PY

echo "== (b) triage: a store of $TICKETS tickets"
fresh_db triage
desk "$out/triage" triage
t0=$(now)
# bench/triage.sh's tickets (bench/triage_data.py), as COPY text.
python3 - "$out" "$TICKETS" "$top/bench" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
from triage_data import rows
out, n = sys.argv[1], int(sys.argv[2])
files = {t: open("%s/%s.copy" % (out, t), "w") for t in ("tickets", "messages", "events")}
for table, r in rows(n):
    files[table].write("\t".join("\\N" if c is None else str(c).replace("\\", "\\\\")
                                  .replace("\n", "\\n").replace("\t", "\\t")
                                  for c in r.values()) + "\n")
PY
PG_PSQL_DB=triage pg_psql -c "COPY tickets (id, status, queue, category, priority, language,
	subject, requester, requester_name, created, updated) FROM STDIN" <"$out/tickets.copy"
PG_PSQL_DB=triage pg_psql -c "COPY messages (ticket_id, direction, kind, from_name, from_addr,
	to_addrs, subject, date, message_id, body, names, created) FROM STDIN" <"$out/messages.copy"
PG_PSQL_DB=triage pg_psql -c "COPY events (ticket_id, at, who, what) FROM STDIN" <"$out/events.copy"
PG_PSQL_DB=triage pg_psql -c "SELECT setval(pg_get_serial_sequence('tickets', 'id'), max(id)) FROM tickets" >/dev/null
# The search index, as after a fetch: secdesk folds the words itself.
"$SECDESK" -c "$out/triage/secdesk.conf" db reindex >/dev/null
# The reindex rewrote every inquiry's row and left the old ones dead; a
# desk stores each mail's words with it. VACUUM FULL gives the tables the
# layout a desk's own fetches would have.
# The checkpoint writes what the build left dirty before any timing.
PG_PSQL_DB=triage pg_psql -c "VACUUM FULL ANALYZE" -c "CHECKPOINT" >/dev/null
t1=$(now)
echo "built in $(python3 -c "print('%.1f' % ($t1 - $t0))") s," \
	"$(PG_PSQL_DB=triage pg_psql -At -c "SELECT pg_size_pretty(pg_database_size('triage'))")"

# The same desk over the server's socket (the harness's pg_hba trusts it;
# a real desk would have peer authentication there).
mkdir -p "$out/triage_socket/outbox"
sed "s|^url = postgresql://.*|url = postgresql://$PG_RUN_USER@/triage?host=$PG_DIR/run\&port=$PG_PORT|; /^password_file/d" \
	"$out/triage/secdesk.conf" >"$out/triage_socket/secdesk.conf"
echo "-- over the local socket:"
triage_table "$out/triage_socket/secdesk.conf" "$TICKETS"
echo "-- over TCP to 127.0.0.1 (scram-sha-256):"
triage_table "$out/triage/secdesk.conf" "$TICKETS"

if [ "${BENCH_PG_HUGE_PAGES:-0}" = 1 ]; then
	pages=$(pg_psql -At -c "SHOW shared_memory_size_in_huge_pages")
	if [ "$(id -u)" -ne 0 ] || [ ! -w /proc/sys/vm/nr_hugepages ]; then
		echo "-- huge pages: vm.nr_hugepages cannot be set (needs root), skipped"
	else
		hugepages_before=$(cat /proc/sys/vm/nr_hugepages)
		echo $((hugepages_before + pages)) >/proc/sys/vm/nr_hugepages
		pg_psql -c "ALTER SYSTEM SET huge_pages = on" >/dev/null
		pg_stop
		if pg_start "$out/pg"; then
			echo "-- over the local socket, shared memory in $pages huge pages:"
			triage_table "$out/triage_socket/secdesk.conf" "$TICKETS"
		else
			echo "-- huge pages: the server did not start with them, skipped"
			tail -3 "$out/pg/run/server.log" | sed 's/^/  /'
		fi
	fi
fi

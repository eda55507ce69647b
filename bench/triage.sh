#!/bin/sh
# Staff commands on a big store: 100,000 tickets (BENCH_TICKETS), each with
# an inquiry and an acknowledgement, built by direct SQL inserts into a store
# that `secdesk db init` created (same schema, same FTS5 index, built once by db reindex);
# then the time of list, show and search through the real binary, best of 5
# runs each. Target: under 50 ms each.
#     BUILD=build bench/triage.sh
# BENCH_DIR=DIR keeps the store in DIR and reuses it when it is already there
# (to time a change without rebuilding the store).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
N=${BENCH_TICKETS:-100000}
if [ -n "${BENCH_DIR:-}" ]; then
	out=$BENCH_DIR
	mkdir -p "$out"
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-bench.XXXXXX")
	trap 'rm -rf "$out"' EXIT
fi
reuse=false
[ -n "${BENCH_DIR:-}" ] && [ -s "$out/secdesk.db" ] && [ -f "$out/built-$N" ] && reuse=true
. "$top/bench/lib.sh"
bench_conf "$out"
sd() { "$SECDESK" -c "$out/secdesk.conf" "$@"; }
if $reuse; then
	echo "== reusing the store of $N tickets in $out"
else
rm -f "$out/secdesk.db" "$out/secdesk.db-wal" "$out/secdesk.db-shm" "$out"/secdesk.db-search* \
	"$out"/built-*
sd db init >/dev/null

echo "== building a store of $N tickets"
t0=$(date +%s.%N)
python3 - "$out/secdesk.db" "$N" "$top/bench" <<'PY'
import sqlite3, sys
sys.path.insert(0, sys.argv[3])
from triage_data import rows
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA synchronous=OFF"); db.execute("PRAGMA journal_mode=WAL")
db.execute("BEGIN")
for table, r in rows(int(sys.argv[2])):
    db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(r), ", ".join("?" * len(r))),
               tuple(r.values()))
db.commit()
PY
# The search index (STORE-search) is built once, as after a fetch.
sd db reindex >/dev/null
t1=$(date +%s.%N)
python3 -c "print('built in %.1f s, %d MB' % ($t1 - $t0, $(stat -c %s "$out/secdesk.db") / 1e6))"
: >"$out/built-$N"
fi

triage_table "$out/secdesk.conf" "$N"

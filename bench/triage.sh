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
python3 - "$out/secdesk.db" "$N" <<'PY'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2]); random.seed(7)
queues = ["DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "SE", "EC", "secretariat"]
cats = ["funding", "eligibility", "call", "event", "general", "press"]
sts = ["new", "open", "pending", "resolved", "closed", "closed", "resolved"]
words = ("personalised medicine joint transnational call eligibility budget consortium "
         "partner proposal deadline submission evaluation genomics cohort biomarker data "
         "privacy ethics patient clinical trial funding agency ministry health research "
         "pre-proposal letter intent coordinator institution country rules annex").split()
first = ["Anna", "Marco", "Sofia", "Jan", "Lucía", "Pierre", "Eva", "Tomasz", "Ingrid", "Hugo"]
last = ["Müller", "Rossi", "García", "Dubois", "Kowalski", "Jansen", "Berg", "Novak"]
now = 1795000000
db.execute("PRAGMA synchronous=OFF"); db.execute("PRAGMA journal_mode=WAL")
db.execute("BEGIN")
for i in range(1, n + 1):
    created = now - random.randint(0, 3 * 365 * 86400)
    updated = created + random.randint(0, 30 * 86400)
    subj = " ".join(random.choice(words) for _ in range(6)).capitalize()
    fn, ln = random.choice(first), random.choice(last)
    addr = "%s.%s%d@example.org" % (fn.lower(), ln.lower(), i)
    db.execute("INSERT INTO tickets (id, status, queue, category, priority, language, subject,"
               " requester, requester_name, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
               (i, random.choice(sts), random.choice(queues), random.choice(cats), "normal",
                "en", subj, addr, fn + " " + ln, created, updated))
    body = "Dear secretariat,\n" + " ".join(random.choice(words) for _ in range(120)) + "\nBest regards\n" + fn
    db.execute("INSERT INTO messages (ticket_id, direction, kind, from_name, from_addr, to_addrs,"
               " subject, date, message_id, body, names, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               (i, "in", "inquiry", fn + " " + ln, addr, "secretariat@icpermed.example", subj,
                created, "<m%d@example.org>" % i, body, fn + " " + ln + " " + addr, created))
    db.execute("INSERT INTO messages (ticket_id, direction, kind, from_addr, to_addrs, subject,"
               " date, message_id, body, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (i, "out", "ack", "secretariat@icpermed.example", addr,
                "[ICPerMed #%d] %s" % (i, subj), created, "<ack%d@icpermed.example>" % i,
                "Thank you for your message. We will answer soon.", created))
    db.execute("INSERT INTO events (ticket_id, at, who, what) VALUES (?,?,?,?)",
               (i, created, "secdesk", "created"))
db.commit()
PY
# The search index (STORE-search) is built once, as after a fetch.
sd db reindex >/dev/null
t1=$(date +%s.%N)
python3 -c "print('built in %.1f s, %d MB' % ($t1 - $t0, $(stat -c %s "$out/secdesk.db") / 1e6))"
: >"$out/built-$N"
fi

triage_table "$out/secdesk.conf" "$N"

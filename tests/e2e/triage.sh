#!/bin/sh
# Staff triage through the real binary: take, untag, merge, search, stats
# (with --json checked field by field), events by the acting user, exit codes.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=alice

sd db init >/dev/null
make_mail "$T_DIR/m1.eml" m1@example.org person@example.org "Eligibility of a café in Zürich"
make_mail "$T_DIR/m2.eml" m2@example.org other@example.net "Budget rules for partners"
make_mail "$T_DIR/m3.eml" m3@example.org person@example.org "Duplicate: eligibility again"
sd ingest "$T_DIR/m1.eml" >/dev/null
sd ingest "$T_DIR/m2.eml" >/dev/null
sd ingest "$T_DIR/m3.eml" >/dev/null

# take
check_rc "take 1" 0 sd take 1
check_eq "take assigns to the acting user" alice "$(sd show 1 --json | jq_ 'd["assignee"]')"
check_eq "take is an assignee event by alice" "alice alice" \
	"$(sd show 1 --json | jq_ '[(e["who"]+" "+e["new"]) for e in d["events"] if e["what"]=="assignee"][0]')"
check_rc "take of a missing ticket is bad data" 65 sd take 99
check_rc "take of one's own ticket again" 0 sd take 1
check_rc "take of a ticket another has is refused (65)" 65 env SECDESK_USER=bob "$SECDESK" -c "$d/secdesk.conf" take 1
check "  naming who has it" grep -q "ticket #1 is taken by alice" "$T_DIR/.err"
check_eq "  and it stays alice's, one assignee event" "alice 1" \
	"$(sd show 1 --json | jq_ 'd["assignee"] + " " + str(len([e for e in d["events"] if e["what"]=="assignee"]))')"
check_rc "take without an id is a usage error" 64 sd take
check_rc "take of a non-number is a usage error" 64 sd take abc

# untag
sd tag 1 eligibility
sd tag 1 keep
check_rc "untag 1 eligibility" 0 sd untag 1 eligibility
check_eq "the tag is gone, the other kept" "['keep']" "$(sd show 1 --json | jq_ 'd["tags"]')"
check_eq "untag is an event" 1 "$(sd show 1 --json | jq_ 'len([e for e in d["events"] if e["what"]=="untag"])')"
check_rc "untag of a missing ticket is bad data" 65 sd untag 99 x
check_rc "untag without a tag is a usage error" 64 sd untag 1

# search
sd search --json eligibility >"$T_DIR/s.json"
check_eq "search finds both eligibility tickets" "[1, 3]" "$(jq_ 'sorted(t["id"] for t in d)' <"$T_DIR/s.json")"
for f in id status queue category priority language subject requester assignee tags created updated snippet rank; do
	check "search --json ticket has '$f'" python3 -c "import json,sys; t=json.load(open('$T_DIR/s.json'))[0]; sys.exit(0 if '$f' in t else 1)"
done
check "the snippet marks the word" sh -c "python3 -c \"import json,sys; t=json.load(open('$T_DIR/s.json')); sys.exit(0 if all('[' in x['snippet'] for x in t) else 1)\""
check_eq "search ignores diacritics (cafe finds café)" "[1]" "$(sd search --json cafe | jq_ '[t["id"] for t in d]')"
check_eq "search of zurich finds Zürich" "[1]" "$(sd search --json zurich | jq_ '[t["id"] for t in d]')"
check_eq "a prefix word" "[2]" "$(sd search --json 'budg*' | jq_ '[t["id"] for t in d]')"
check_eq "a prefix in capitals (expanded to the words it stands for)" "[2]" "$(sd search --json 'BUDG*' | jq_ '[t["id"] for t in d]')"
check_eq "a two-letter prefix (left a prefix query)" "[2]" "$(sd search --json 'bu*' partners | jq_ '[t["id"] for t in d]')"
check_eq "a prefix no word has" "[]" "$(sd search --json 'qqqz*' | jq_ 'd')"
check_eq "words are ANDed" "[2]" "$(sd search --json budget partners | jq_ '[t["id"] for t in d]')"
check_eq "no match is an empty array" "[]" "$(sd search --json nothingmatchesthis | jq_ 'd')"
check_rc "FTS5 syntax in the query is plain text" 0 sd search 'a NEAR x: ^b {c} +d *e col:f'
check_rc "a quote left open is a usage error" 64 sd search 'a"b NEAR( -x: OR'
check_rc "search without a query is a usage error" 64 sd search
check "the human snippet stays on one line" sh -c "'$SECDESK' -c '$d/secdesk.conf' search dear | awk '!/^#/ && !/^    / { exit 1 }'"
check "human search output names the ticket and subject" sh -c "'$SECDESK' -c '$d/secdesk.conf' search budget | grep -q '^#2 .*Budget rules for partners'"

# merge
check_rc "merge 3 into 1" 0 sd merge 3 1
check_eq "merged ticket is closed" closed "$(sd show 3 --json | jq_ 'd["status"]')"
check_eq "merged ticket points at its target" 1 "$(sd show 3 --json | jq_ 'd["merged_into"]')"
check_eq "its inbound message moved" 2 \
	"$(sd show 1 --json | jq_ 'len([m for m in d["messages"] if m["direction"]=="in"])')"
check_eq "merge is an event on both" "1 1" \
	"$(sd show 1 --json | jq_ 'len([e for e in d["events"] if e["what"]=="merged-from"])') $(sd show 3 --json | jq_ 'len([e for e in d["events"] if e["what"]=="merged"])')"
check_eq "list no longer shows the merged ticket" "[1, 2]" "$(sd list --json | jq_ 'sorted(t["id"] for t in d)')"
check_eq "search gives the target for the merged ticket's words" "[1]" \
	"$(sd search --json duplicate | jq_ '[t["id"] for t in d]')"
check_rc "merge again is bad data" 65 sd merge 3 1
check_rc "merge into itself is bad data" 65 sd merge 2 2
check_rc "merge into a missing ticket is bad data" 65 sd merge 2 99
check_rc "merge with one id is a usage error" 64 sd merge 2

# stats
sd status 2 resolved
sd stats --json >"$T_DIR/st.json"
check_eq "stats total" 2 "$(jq_ 'd["total"]' <"$T_DIR/st.json")"
check_eq "stats by status" "{'new': 1, 'open': 0, 'pending': 0, 'resolved': 1, 'closed': 0}" \
	"$(jq_ 'd["by_status"]' <"$T_DIR/st.json")"
check_eq "stats waiting" 1 "$(jq_ 'd["waiting"]' <"$T_DIR/st.json")"
check_eq "stats waiting by age sums to waiting" 1 "$(jq_ 'sum(d["waiting_by_age"].values())' <"$T_DIR/st.json")"
check_eq "stats by queue sums to total" 2 "$(jq_ 'sum(d["by_queue"].values())' <"$T_DIR/st.json")"
check "human stats says the totals" sh -c "'$SECDESK' -c '$d/secdesk.conf' stats | grep -q '^2 tickets, 1 waiting'"
check_rc "stats with an argument is a usage error" 64 sd stats extra

# The shared triage transaction on a store another process holds: a clear
# temporary failure (75), nothing half done; then it goes through.
cp "$d/secdesk.conf" "$d/locked.conf"
printf '[store]\nbusy_timeout = 1s\n' >>"$d/locked.conf"
sdl() { "$SECDESK" -c "$d/locked.conf" "$@"; }
if store_is_pg; then
	pg_hold "$d" "$T_DIR/lock.release" tickets ticket_tags events
	holder=$pg_holder
	touch "$T_DIR/lock.held"
else
python3 - "$d/secdesk.db" "$T_DIR/lock" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2] + ".held", "w").close()
for _ in range(600):  # at most 60 s, until the test lets go
    if os.path.exists(sys.argv[2] + ".release"):
        break
    time.sleep(0.1)
db.execute("ROLLBACK")
PY
holder=$!
fi
i=0
while [ ! -e "$T_DIR/lock.held" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check_rc "take on a locked store is a temporary failure" 75 sdl take 2
check_rc "untag on a locked store too" 75 sdl untag 1 keep
check_rc "status on a locked store too" 75 sdl status 2 open
touch "$T_DIR/lock.release"
wait "$holder"
check_eq "nothing changed" "'' ['keep'] resolved" \
	"$(sd show 2 --json | jq_ 'repr(d["assignee"])') $(sd show 1 --json | jq_ 'd["tags"]') $(sd show 2 --json | jq_ 'd["status"]')"
check_rc "take once the lock is gone" 0 sdl take 2
check_eq "and it is taken" alice "$(sd show 2 --json | jq_ 'd["assignee"]')"

# db backup
check_rc "db backup FILE" 0 sd db backup "$T_DIR/backup.db"
if store_is_pg; then
	# pg_dump's custom format: pg_restore reads it; the tickets' COPY rows.
	check_eq "the backup holds the tickets" 3 "$("$PG_BIN/pg_restore" --data-only --table=tickets \
		-f - "$T_DIR/backup.db" | sed -n '/^COPY /,/^\\\.$/p' | grep -vc '^COPY \|^\\\.$')"
	check "the backup is an archive pg_restore reads" sh -c "\"$PG_BIN/pg_restore\" --list \"$T_DIR/backup.db\" >/dev/null"
else
check_eq "the backup holds the tickets" 3 "$(python3 -c "import sqlite3; print(sqlite3.connect('$T_DIR/backup.db').execute('select count(*) from tickets').fetchone()[0])")"
check_eq "the backup passes integrity_check" ok "$(python3 -c "import sqlite3; print(sqlite3.connect('$T_DIR/backup.db').execute('pragma integrity_check').fetchone()[0])")"
fi
check_eq "the backup is private (0600)" 600 "$(stat -c %a "$T_DIR/backup.db")"
check "no temporary file is left" test ! -e "$T_DIR/backup.db.tmp"
check_rc "backup into a missing folder cannot create" 73 sd db backup "$T_DIR/nope/backup.db"
check_rc "db backup without FILE is a usage error" 64 sd db backup

# The search index holds what people wrote, not the desk's automatic mail:
# the acknowledgement's words find nothing, a staff reply's words find it.
check_eq "an acknowledgement was queued (the test needs one)" 1 \
	"$(store_sql "$d" "SELECT CASE WHEN count(*) > 0 THEN 1 ELSE 0 END FROM messages WHERE kind = 'ack'")"
check_eq "the acknowledgement's own words are not indexed" "[]" \
	"$(sd search --json 'automatic confirmation' | jq_ '[t["id"] for t in d]')"
sd reply 1 -m "Please see the zebrafish consortium page." >/dev/null
check_eq "a staff reply is indexed" "[1]" "$(sd search --json zebrafish | jq_ '[t["id"] for t in d]')"

done_testing

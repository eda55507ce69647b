#!/bin/sh
# secdesk show through the real binary: the thread (direction, kind,
# from/to, local dates, bodies wrapped with their quote markers, attachments
# under their message, partner correspondence and acknowledgements marked,
# events woven in at their time), --json field by field, and --json failing
# on a row it cannot write instead of leaving it out.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
at() { _t=$1; shift; env SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
export SECDESK_USER=alice TZ=JST-9
t0=1794999960

sd db init >/dev/null
cat >"$T_DIR/1.eml" <<'MAIL'
From: Ana Person <ana@example.org>
To: secretariat@icpermed.example
Subject: Eligibility of our consortium
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <s1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Dear secretariat, we are a consortium of seven partners from five countries and would like to know whether all of them are eligible in the next joint transnational call.
Our coordinator is in Zürich.

> An earlier answer from you said that partners from associated countries may take part, and this quoted line is long enough to wrap.
>> And a doubly quoted line that is also long enough to need wrapping at the width used.
> https://example.org/a/very/long/address/that/must/never/be/broken/because/it/is/a/link/to/a/page
Thanks
--b1
Content-Type: text/plain; name="budget.txt"
Content-Disposition: attachment; filename="budget.txt"

1000 EUR
--b1--
MAIL
cat >"$T_DIR/2.eml" <<'MAIL'
From: Partner AR <partner-ar@icpermed.example>
To: secretariat@icpermed.example
Subject: Re: Eligibility of our consortium [ICPerMed #1]
Date: Mon, 2 Nov 2026 12:00:00 +0000
Message-ID: <s2@example.org>
In-Reply-To: <s1@example.org>
Content-Type: text/plain; charset=utf-8

Argentina can fund two of them.
MAIL
at $t0 ingest "$T_DIR/1.eml" >/dev/null
at $((t0 + 60)) note 1 -m "Asked the partners" >/dev/null
at $((t0 + 120)) ingest "$T_DIR/2.eml" >/dev/null
at $((t0 + 180)) status 1 open >/dev/null
at $((t0 + 240)) reply 1 -m "Yes, all of them are eligible." >/dev/null

sd show 1 >"$T_DIR/show.txt"
check_rc "show 1" 0 sd show 1
check "the header" grep -q '^Ticket #1  Eligibility of our consortium$' "$T_DIR/show.txt"
check "status" grep -q '^Status:    pending$' "$T_DIR/show.txt"
check "requester" grep -q '^Requester: Ana Person <ana@example.org>$' "$T_DIR/show.txt"
check "the inquiry: its date in local time (TZ=JST-9), direction, kind" \
	grep -q '^--- 2026-11-02 19:00  in   inquiry -' "$T_DIR/show.txt"
check "its From" grep -q '^From:    Ana Person <ana@example.org>$' "$T_DIR/show.txt"
check "its To" grep -q '^To:      secretariat@icpermed.example$' "$T_DIR/show.txt"
check "the acknowledgement is marked" grep -q '^--- .*  out  acknowledgement (automatic) -' "$T_DIR/show.txt"
check "to the requester" grep -q '^To:      ana@example.org$' "$T_DIR/show.txt"
check "the partner's mail is marked" grep -q '^--- 2026-11-02 21:00  in   \[partner\] partner correspondence -' "$T_DIR/show.txt"
check "the staff reply" grep -q '^--- .*  out  staff reply -' "$T_DIR/show.txt"
check "the attachment under its message" grep -q '^  1. budget.txt (text/plain, [0-9]* bytes)$' "$T_DIR/show.txt"
check "the header counts attachments" grep -q '^Attached:  1 file (secdesk attachment 1 N writes one out)$' "$T_DIR/show.txt"
check "the note event, by alice" grep -q '^  \* .* alice: note Asked the partners$' "$T_DIR/show.txt"
check "the status event" grep -q '^  \* .* alice: status new -> open$' "$T_DIR/show.txt"
# In time order: inquiry, note, partner mail, status, reply.
order=$(grep -n -e '  in   inquiry' -e 'alice: note' -e 'partner correspondence' -e 'alice: status new' -e 'staff reply' \
	"$T_DIR/show.txt" | sed 's/:.*//' | tr '\n' ' ')
check_eq "messages and events in time order" "$(echo "$order" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" "$order"
check_eq "five of them" 5 "$(echo "$order" | wc -w)"
# Wrapped to 78 when piped, quote markers on every piece, links whole.
check "no body line over 78 columns but the link" sh -c \
	"python3 -c \"import sys; sys.exit(any(len(l) > 78 and 'https://' not in l for l in open('$T_DIR/show.txt', encoding='utf-8').read().splitlines()))\""
check "the long line was wrapped" grep -q '^  Dear secretariat, we are a consortium' "$T_DIR/show.txt"
check "the quoted line's pieces keep '>'" sh -c \
	"grep -A1 '^  > An earlier answer' '$T_DIR/show.txt' | tail -1 | grep -q '^  > '"
check "the doubly quoted line's pieces keep '>>'" sh -c \
	"grep -A1 '^  >> And a doubly' '$T_DIR/show.txt' | tail -1 | grep -q '^  >> '"
check "the link is whole" grep -q '^  > https://example.org/a/very/long/address/that/must/never/be/broken/because/it/is/a/link/to/a/page$' "$T_DIR/show.txt"
check "the text with umlauts" grep -q 'Zürich' "$T_DIR/show.txt"

# --json
sd show 1 --json >"$T_DIR/s.json"
j() { python3 -c "import json,sys; d=json.load(open('$T_DIR/s.json')); print($1)"; }
check_eq "ticket keys" \
	"id status queue category priority language subject requester requester_name assignee tags created updated merged_into flags messages attachments events related_to follow_up_of continued_in watchers" \
	"$(j '" ".join(d.keys())')"
check_eq "message keys" \
	"id direction kind from from_name to cc subject date message_id in_reply_to body flags received partner automatic" \
	"$(j '" ".join(d["messages"][0].keys())')"
check_eq "directions" "in out in out" "$(j '" ".join(m["direction"] for m in d["messages"])')"
check_eq "kinds" "inquiry ack partner reply" "$(j '" ".join(m["kind"] for m in d["messages"])')"
check_eq "partner marked" "False False True False" "$(j '" ".join(str(m["partner"]) for m in d["messages"])')"
check_eq "automatic marked" "False True False False" "$(j '" ".join(str(m["automatic"]) for m in d["messages"])')"
check_eq "from" "ana@example.org" "$(j 'd["messages"][0]["from"]')"
check_eq "from_name" "Ana Person" "$(j 'd["messages"][0]["from_name"]')"
check_eq "to" "secretariat@icpermed.example" "$(j 'd["messages"][0]["to"]')"
check_eq "date in UTC" "2026-11-02T10:00:00Z" "$(j 'd["messages"][0]["date"]')"
check_eq "received in UTC" "$(python3 -c "import time; print(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime($t0)))")" "$(j 'd["messages"][0]["received"]')"
check_eq "message_id" "s1@example.org" "$(j 'd["messages"][0]["message_id"]')"
check_eq "the body unwrapped" "True" "$(j '"seven partners from five countries and would like to know whether all" in d["messages"][0]["body"]')"
check_eq "the reply's body" "True" "$(j '"Yes, all of them are eligible." in d["messages"][3]["body"]')"
check_eq "attachment keys" "n message filename content_type size kept" "$(j '" ".join(d["attachments"][0].keys())')"
check_eq "attachment" "1 1 budget.txt text/plain True" \
	"$(j '" ".join(str(d["attachments"][0][k]) for k in ("n", "message", "filename", "content_type", "kept"))')"
check_eq "event keys" "at who what old new" "$(j '" ".join(d["events"][0].keys())')"
check_eq "events in time order" "True" "$(j 'd["events"] == sorted(d["events"], key=lambda e: e["at"])')"
check_eq "the status event" "alice new open" \
	"$(j '[e["who"] + " " + e["old"] + " " + e["new"] for e in d["events"] if e["what"] == "status"][0]')"

# A message that cannot be written as JSON is an error, not a gap. Only
# SQLite can hold such text: a PostgreSQL UTF8 database refuses it.
if store_is_pg; then
	for i in 1 2 3 4 5 6 7; do skip "sqlite only: text that is not UTF-8 in the store"; done
else
python3 - "$d/secdesk.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE messages SET subject = CAST(? AS TEXT) WHERE id = 3", (b"bad \xff\xfe subject",))
db.commit()
PY
check_rc "show --json of a message that is not UTF-8 fails" 65 sd show 1 --json
check "and says which" grep -q "message 3 cannot be written as JSON" "$T_DIR/.err"
check_eq "and writes no document" "" "$(cat "$T_DIR/.out")"
check_rc "the human show still works" 0 sd show 1
python3 - "$d/secdesk.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE messages SET subject = 'fine' WHERE id = 3")
db.execute("UPDATE events SET new_value = CAST(? AS TEXT) WHERE what = 'note'", (b"bad \xff note",))
db.commit()
PY
check_rc "show --json of an event that is not UTF-8 fails" 65 sd show 1 --json
check "and says which" grep -q "event [0-9]* cannot be written as JSON" "$T_DIR/.err"
check_eq "and writes no document" "" "$(cat "$T_DIR/.out")"
fi

check_rc "show of a missing ticket" 65 sd show 99
check_rc "show without an id" 64 sd show
check_rc "show of a non-number" 64 sd show abc
check_rc "show with two ids" 64 sd show 1 2
check_rc "show with an unknown option" 64 sd show 1 --bogus
check "prints the usage line" grep -q '^usage: secdesk show ID' "$T_DIR/.err"
done_testing

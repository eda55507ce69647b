#!/bin/sh
# secdesk list through the real binary: every filter (status, queue,
# assignee, tag, category, --older-than from creation, --unanswered), every
# sort key both ways, --limit, the --json fields (the old ones unchanged,
# answered and related_to added), local time in the human output, and the
# usage errors (exit 64). A fixed clock (SECDESK_NOW) gives each ticket its
# own creation and activity time.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# A mail ingested at a fake time was written then: its Date says so.
at() { _t=$1; shift; [ "$1" = ingest ] && [ -f "${2:-}" ] && written_at "$_t" "$2"; env SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
ids() { python3 -c 'import json,sys; print(" ".join(str(t["id"]) for t in json.load(sys.stdin)))'; }
export SECDESK_USER=alice
t0=1794999960
H=3600 D=86400

# mail FILE MSGID FROM SUBJECT BODY
mail() {
	cat >"$1" <<MAIL
From: Someone <$3>
To: secretariat@icpermed.example
Subject: $4
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <$2>
Content-Type: text/plain; charset=utf-8

$5
MAIL
}
sd db init >/dev/null
mail "$T_DIR/1.eml" l1@example.org reporter@example.org "Interview" "I am a journalist and would like an interview."
mail "$T_DIR/2.eml" l2@example.org events@example.org "Workshop" "How do I register for the workshop?"
mail "$T_DIR/3.eml" l3@example.org fund@example.org "Money" "What is the funding deadline?"
mail "$T_DIR/4.eml" l4@example.org hello@example.org "Hello" "Just saying hello."
at $((t0 - 20 * D)) ingest "$T_DIR/1.eml" >/dev/null
at $((t0 - 10 * D)) ingest "$T_DIR/2.eml" >/dev/null
at $((t0 - 2 * D)) ingest "$T_DIR/3.eml" >/dev/null
at $((t0 - H)) ingest "$T_DIR/4.eml" >/dev/null
at $((t0 - 9 * D)) route 2 DE >/dev/null
at $((t0 - 9 * D)) tag 2 x >/dev/null
at $((t0 - D)) reply 3 -m "The deadline is in March." >/dev/null
at $((t0 - 1800)) assign 1 bob >/dev/null
L() { at $t0 list --json "$@" | ids; }

check_eq "default: newest activity first" "1 4 3 2" "$(L)"
check_eq "--sort id" "1 2 3 4" "$(L --sort id)"
check_eq "--sort -id --limit 2" "4 3" "$(L --sort -id --limit 2)"
check_eq "--sort created" "1 2 3 4" "$(L --sort created)"
check_eq "--sort -created" "4 3 2 1" "$(L --sort -created)"
check_eq "--sort created --reverse" "4 3 2 1" "$(L --sort created --reverse)"
check_eq "--reverse alone: oldest activity first" "2 3 4 1" "$(L --reverse)"
check_eq "--sort updated" "2 3 4 1" "$(L --sort updated)"
check_eq "--sort priority: low to urgent, ties by id" "2 3 4 1" "$(L --sort priority)"
check_eq "--sort -priority: urgent first" "1 4 3 2" "$(L --sort -priority)"
check_eq "--sort queue (any case)" "2 1 3 4" "$(L --sort queue)"
check_eq "--sort status: lifecycle order" "1 2 4 3" "$(L --sort status)"
check_eq "--sort +status is ascending" "1 2 4 3" "$(L --sort +status)"
check_eq "--limit 1" "1" "$(L --limit 1)"

check_eq "--older-than 7d (from creation)" "1 2" "$(L --older-than 7d)"
check_eq "--older-than 1d" "1 3 2" "$(L --older-than 1d)"
check_eq "--older-than 2w" "1" "$(L --older-than 2w)"
check_eq "--older-than 30m takes all four" "1 4 3 2" "$(L --older-than 30m)"
check_eq "--older-than 3h" "1 3 2" "$(L --older-than 3h)"
check_eq "--unanswered: the acknowledgement does not count" "1 4 2" "$(L --unanswered)"
check_eq "--unanswered --older-than 7d" "1 2" "$(L --unanswered --older-than 7d)"
check_eq "--category press" "1" "$(L --category press)"
check_eq "--category in any case" "2" "$(L --category EVENTS)"
check_eq "--queue in any case" "2" "$(L --queue de)"
check_eq "--assignee bob" "1" "$(L --assignee bob)"
check_eq "--assignee '' is unassigned" "4 3 2" "$(L --assignee '')"
check_eq "--tag x" "2" "$(L --tag x)"
check_eq "--status pending" "3" "$(L --status pending)"
check_eq "--status new,pending" "1 4 3 2" "$(L --status new,pending)"
check_eq "filters combine" "2" "$(L --status new --older-than 7d --tag x)"
check_eq "no match: an empty array" "" "$(L --category nothing)"
check_eq "no match: no human output" "" "$(at $t0 list --category nothing)"

# --json: the fields as before, two added
at $t0 list --json --sort id >"$T_DIR/l.json"
check_eq "--json keys, in order" \
	"id status queue category priority language subject requester requester_name assignee tags created updated merged_into flags answered related_to" \
	"$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))[0].keys()))' "$T_DIR/l.json")"
j() { python3 -c "import json,sys; d=json.load(open('$T_DIR/l.json')); print($1)"; }
check_eq "created is RFC 3339 UTC" "$(python3 -c "import time; print(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime($t0 - 20 * $D)))")" "$(j 'd[0]["created"]')"
check_eq "updated is the last change (assign)" "$(python3 -c "import time; print(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime($t0 - 1800)))")" "$(j 'd[0]["updated"]')"
check_eq "answered only where staff replied" "[False, False, True, False]" "$(j '[t["answered"] for t in d]')"
check_eq "related_to null" "None" "$(j 'd[0]["related_to"]')"
check_eq "category from the rules" "press events funding general" "$(j '" ".join(t["category"] for t in d)')"
check_eq "priority from the rules" "high" "$(j 'd[0]["priority"]')"
check_eq "assignee" "bob" "$(j 'd[0]["assignee"]')"
check_eq "queue" "DE" "$(j 'd[1]["queue"]')"
check_eq "tags" "['x']" "$(j 'd[1]["tags"]')"
check_eq "status after a reply" "pending" "$(j 'd[2]["status"]')"
check_eq "requester, requester_name" "reporter@example.org Someone" "$(j 'd[0]["requester"] + " " + d[0]["requester_name"]')"
check_eq "flags is an array" "[]" "$(j 'd[3]["flags"]')"
check_eq "merged_into null" "None" "$(j 'd[3]["merged_into"]')"

# Human output: columns where scripts read them, local time
TZ=UTC0 at $t0 list --sort id >"$T_DIR/utc.txt"
TZ=JST-9 at $t0 list --sort id >"$T_DIR/jst.txt"
check "a header line" grep -q '^ID  *STATUS  *QUEUE  *CATEGORY  *UPDATED  *REQUESTER  *SUBJECT$' "$T_DIR/utc.txt"
check_eq "id first, queue third (bash completion reads them)" "DE" "$(awk '$1 == 2 { print $3 }' "$T_DIR/utc.txt")"
u=$(python3 -c "import time; print(time.strftime('%Y-%m-%d %H:%M', time.gmtime($t0 - 1800)))")
k=$(python3 -c "import time; print(time.strftime('%Y-%m-%d %H:%M', time.gmtime($t0 - 1800 + 9 * 3600)))")
check "updated in UTC with TZ=UTC0 ($u)" grep -q "^1 .*$u reporter@example" "$T_DIR/utc.txt"
check "updated in local time with TZ=JST-9 ($k)" grep -q "^1 .*$k reporter@example" "$T_DIR/jst.txt"
check "the subject" grep -q "^3 .*Money$" "$T_DIR/utc.txt"
check "no colour when piped" sh -c "! grep -q \"$(printf '\033')\" '$T_DIR/utc.txt'"
check "--color=always colours even when piped" sh -c "'$SECDESK' --color=always -c '$d/secdesk.conf' list | grep -q \"$(printf '\033')\\[\""
check "no line longer than the subject's 60 columns allow when piped" \
	sh -c "awk 'length > 150 { bad = 1 } END { exit bad }' '$T_DIR/utc.txt'"

# Usage errors
check_rc "--older-than without a unit" 64 sd list --older-than 7
check_rc "--older-than with an unknown unit" 64 sd list --older-than 7y
check_rc "--older-than 0d" 64 sd list --older-than 0d
check_rc "--sort of an unknown field" 64 sd list --sort nope
check_rc "--limit 0" 64 sd list --limit 0
check_rc "--limit abc" 64 sd list --limit abc
check_rc "--status of an unknown status" 64 sd list --status nope
check_rc "--status with an unknown one in a list" 64 sd list --status new,nope
check_rc "an argument" 64 sd list extra
check_rc "an unknown option" 64 sd list --bogus
check "the usage line is printed" grep -q "^usage: secdesk list " "$T_DIR/.err"
check "it names the option" grep -q "bogus" "$T_DIR/.err"
check_rc "a bad --sort says so" 64 sd list --sort nope
check "with the fields" grep -q "id, created, updated, priority, queue, status" "$T_DIR/.err"

# --limit counts the tickets shown: the store is asked for as many, then
# for more while spam, left out, leaves fewer.
store_sql "$d" "UPDATE tickets SET category = 'spam' WHERE id IN (1, 4)"
check_eq "--limit 2 with the two newest spam: the next two" "3 2" "$(L --limit 2)"
check_eq "--limit 1 likewise" "3" "$(L --limit 1)"
check_eq "--all --limit 2: the spam too" "1 4" "$(L --all --limit 2)"
check_eq "--limit 5: all there are" "3 2" "$(L --limit 5)"
done_testing

#!/bin/sh
# Time as written (issue 18, point 8): a backlog fetched at once (mails
# dated days ago, fetched now by `run` from a Maildir) keeps each mail's age:
# created, list --older-than, stats' age buckets, first-answer time and
# tickets per week, show and report count from the Date when it is
# plausible (not after receipt, at most 30 days before it); a Date in the
# future, older than that, missing or unreadable falls back to receipt.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
at() { _t=$1; shift; SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=alice TZ=UTC0

# Wednesday 2026-11-25 12:00 UTC: its ISO week (W48) began Monday 11-23.
T=1795608000
H=3600 D=86400
rfc() { LC_ALL=C date -u -R -d "@$1"; }
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# backlog N DATE-LINE: mail N, from personN, into the inbox.
backlog() {
	cat >"$d/inbox/new/$1.eml" <<MAIL
From: Person $1 <person$1@example.org>
To: secretariat@icpermed.example
Subject: Backlog question $1
$2
Message-ID: <backlog$1@example.org>
Content-Type: text/plain; charset=utf-8

Question number $1 of the backlog.
MAIL
}
backlog 1 "Date: $(rfc $((T - 9 * D)))"
backlog 2 "Date: $(rfc $((T - 5 * D)))"
backlog 3 "Date: $(rfc $((T - 2 * D - H)))"
backlog 4 "Date: $(rfc $((T - H)))"
backlog 5 "Date: $(rfc $((T + 2 * D)))"          # in the future
backlog 6 "Date: $(rfc $((T - 40 * D)))"         # older than 30 days
backlog 7 "X-No-Date: none"                      # no Date at all
backlog 8 "Date: the day before yesterday"      # unreadable
backlog 9 "Date: $(rfc $((T - 30 * D)))"         # 30 days: still believed

sd db init >/dev/null
check_rc "the backlog is fetched at once" 0 at $T run
check_eq "nine tickets" 9 "$(sd list --json | jq_ 'len(d)')"
# subject -> created, so that the order of the fetch does not matter
sd list --json | jq_ '"\n".join(sorted(t["subject"].split()[-1] + " " + t["created"] for t in d))' \
	>"$T_DIR/created.txt"
created() { sed -n "s/^$1 //p" "$T_DIR/created.txt"; }
id_of() { sd list --json | jq_ "[t['id'] for t in d if t['subject'] == 'Backlog question $1'][0]"; }
check_eq "nine days old: created as written" "$(rfc3339 $((T - 9 * D)))" "$(created 1)"
check_eq "five days old: created as written" "$(rfc3339 $((T - 5 * D)))" "$(created 2)"
check_eq "two days old: created as written" "$(rfc3339 $((T - 2 * D - H)))" "$(created 3)"
check_eq "an hour old: created as written" "$(rfc3339 $((T - H)))" "$(created 4)"
check_eq "a Date in the future: created at receipt" "$(rfc3339 $T)" "$(created 5)"
check_eq "a Date 40 days back: created at receipt" "$(rfc3339 $T)" "$(created 6)"
check_eq "no Date: created at receipt" "$(rfc3339 $T)" "$(created 7)"
check_eq "an unreadable Date: created at receipt" "$(rfc3339 $T)" "$(created 8)"
check_eq "exactly 30 days back: created as written" "$(rfc3339 $((T - 30 * D)))" "$(created 9)"
check_eq "the newest activity is the mail as written" "$(rfc3339 $((T - 5 * D)))" \
	"$(sd show "$(id_of 2)" --json | jq_ 'd["updated"]')"
check_eq "the message keeps its receipt" "$(rfc3339 $T)" \
	"$(sd show "$(id_of 2)" --json | jq_ 'd["messages"][0]["received"]')"
check "show says when it was written" sh -c \
	"'$SECDESK' -c '$d/secdesk.conf' show $(id_of 2) | grep -q '^Created:   2026-11-20 12:00'"

older() { at $T list --json --older-than "$1" | jq_ '" ".join(sorted(t["subject"].split()[-1] for t in d))'; }
check_eq "list --older-than 3d: the mails written before" "1 2 9" "$(older 3d)"
check_eq "list --older-than 2d" "1 2 3 9" "$(older 2d)"
check_eq "list --older-than 30m: the hour-old one too" "1 2 3 4 9" "$(older 30m)"

# A staff answer an hour after the fetch: five days and an hour after
# mail 2 was written.
at $((T + H)) reply "$(id_of 2)" -m "Sorry for the wait." >/dev/null
at $((T + H)) stats --json >"$T_DIR/st.json"
j() { jq_ "$1" <"$T_DIR/st.json"; }
check_eq "stats: waiting by age, as written" \
	"{'under 1 day': 5, '1-3 days': 1, '3-7 days': 1, '1-4 weeks': 1, 'over 4 weeks': 1}" \
	"$(j 'd["waiting_by_age"]')"
check_eq "stats: first answer from when it was written" $((5 * D + H)) \
	"$(j 'd["first_answer_median_seconds"]')"
# W44 (30 days back), W47 (nine and five days back), W48 (the rest)
check_eq "stats: tickets per week by the week each was written" "0 0 0 0 0 0 0 1 0 0 2 6" \
	"$(j '" ".join(str(w["tickets"]) for w in d["tickets_per_week"])')"
check_rc "report --html" 0 at $((T + H)) report --html "$T_DIR/r.html"
check_eq "report: tickets per week as written" "0 0 0 0 0 0 0 1 0 0 2 6" \
	"$(python3 - "$T_DIR/r.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
t = h[h.index('id="t-per-week"'):]
t = t[:t.index('</table>')]
print(" ".join(re.findall(r'<td[^>]*>(\d+)</td></tr>', t)))
PY
)"

# Follow-ups of the backlog: the ticket's newest activity is the newest
# mail as written, never moved back by an older one fetched later.
followup() {
	cat >"$d/inbox/new/f$1.eml" <<MAIL
From: Person 1 <person1@example.org>
To: secretariat@icpermed.example
Subject: Re: Backlog question 1
Date: $(rfc "$2")
Message-ID: <followup$1@example.org>
In-Reply-To: <backlog1@example.org>
Content-Type: text/plain; charset=utf-8

Some more about question 1.
MAIL
}
one=$(id_of 1)
followup 1 $((T - 8 * D))
check_rc "a follow-up written eight days ago" 0 at $((T + 2 * H)) run
check_eq "it joined ticket 1" 2 "$(sd show "$one" --json | jq_ 'len([m for m in d["messages"] if m["direction"] == "in"])')"
check_eq "updated: when the follow-up was written" "$(rfc3339 $((T - 8 * D)))" \
	"$(sd show "$one" --json | jq_ 'd["updated"]')"
check_eq "created stays" "$(rfc3339 $((T - 9 * D)))" "$(sd show "$one" --json | jq_ 'd["created"]')"
followup 2 $((T - 8 * D - H))
check_rc "an older follow-up fetched later" 0 at $((T + 3 * H)) run
check_eq "updated does not go back" "$(rfc3339 $((T - 8 * D)))" \
	"$(sd show "$one" --json | jq_ 'd["updated"]')"

done_testing

#!/bin/sh
# stats [--json] through the real binary on a store built at known (fake)
# times: counts by status and queue, open tickets by queue and status, age
# buckets, median time to the first staff answer per queue, tickets per week;
# merged stubs left out; human output; exit codes.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# A mail ingested at a fake time was written then: its Date says so.
at() { _t=$1; shift; [ "$1" = ingest ] && [ -f "${2:-}" ] && written_at "$_t" "$2"; SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=alice

# Wednesday 2026-11-25 12:00 UTC: its ISO week (W48) began Monday 11-23.
T=1795608000
H=3600 D=86400

sd db init >/dev/null
for i in 1 2 3 4 5 6; do
	make_mail "$T_DIR/m$i.eml" "m$i@example.org" "person$i@example.org" "Question number $i"
done
# 1: DE, answered after 2 h, then set open again.
at $((T - 10 * D)) ingest "$T_DIR/m1.eml" >/dev/null
at $((T - 10 * D)) route 1 DE >/dev/null
at $((T - 10 * D + 2 * H)) reply 1 -m "First answer" >/dev/null
at $((T - 10 * D + 3 * H)) reply 1 -m "A second answer does not count" >/dev/null
sd status 1 open
# 2: DE, answered after 6 h (pending).
at $((T - 9 * D)) ingest "$T_DIR/m2.eml" >/dev/null
at $((T - 9 * D)) route 2 DE >/dev/null
at $((T - 9 * D + 6 * H)) reply 2 -m "Answer" >/dev/null
# 3: FR, answered after a day (pending).
at $((T - 2 * D)) ingest "$T_DIR/m3.eml" >/dev/null
at $((T - 2 * D)) route 3 FR >/dev/null
at $((T - 2 * D + D)) reply 3 -m "Answer" >/dev/null
# 4: secretariat, new, an hour old.
at $((T - H)) ingest "$T_DIR/m4.eml" >/dev/null
# 5: resolved long ago.
at $((T - 20 * D)) ingest "$T_DIR/m5.eml" >/dev/null
sd status 5 resolved
# 6: merged into 4: a stub that counts nowhere.
at $((T - 3 * D)) ingest "$T_DIR/m6.eml" >/dev/null
sd merge 6 4 >/dev/null

check_rc "stats --json" 0 at $T stats --json
at $T stats --json >"$T_DIR/st.json"
j() { jq_ "$1" <"$T_DIR/st.json"; }
check_eq "total leaves the merged stub out" 5 "$(j 'd["total"]')"
check_eq "waiting" 4 "$(j 'd["waiting"]')"
check_eq "by status, every status" "{'new': 1, 'open': 1, 'pending': 2, 'resolved': 1, 'closed': 0}" \
	"$(j 'd["by_status"]')"
check_eq "by queue, largest first" "{'DE': 2, 'secretariat': 2, 'FR': 1}" "$(j 'd["by_queue"]')"
check_eq "waiting by queue" "{'DE': 2, 'FR': 1, 'secretariat': 1}" "$(j 'd["waiting_by_queue"]')"
check_eq "open by queue and status" \
	"{'DE': {'new': 0, 'open': 1, 'pending': 1}, 'FR': {'new': 0, 'open': 0, 'pending': 1}, 'secretariat': {'new': 1, 'open': 0, 'pending': 0}}" \
	"$(j 'd["open_by_queue_status"]')"
check_eq "waiting by age (since created)" \
	"{'under 1 day': 1, '1-3 days': 1, '3-7 days': 0, '1-4 weeks': 2, 'over 4 weeks': 0}" \
	"$(j 'd["waiting_by_age"]')"
check_eq "age buckets sum to waiting" 4 "$(j 'sum(d["waiting_by_age"].values())')"
check_eq "median first answer per queue (first reply only; DE: 2 h and 6 h)" \
	"{'DE': {'answered': 2, 'median_seconds': 14400}, 'FR': {'answered': 1, 'median_seconds': 86400}}" \
	"$(j 'd["first_answer_by_queue"]')"
check_eq "median first answer, all queues (2 h, 6 h, 1 d)" 21600 "$(j 'd["first_answer_median_seconds"]')"
check_eq "answered tickets" 3 "$(j 'd["first_answered"]')"
check_eq "twelve weeks" 12 "$(j 'len(d["tickets_per_week"])')"
check_eq "the last week is the current ISO week" "2026-W48 2026-11-23 2" \
	"$(j '" ".join(str(d["tickets_per_week"][-1][k]) for k in ("week","start","tickets"))')"
check_eq "the first week is eleven weeks earlier" "2026-W37 2026-09-07" \
	"$(j 'd["tickets_per_week"][0]["week"] + " " + d["tickets_per_week"][0]["start"]')"
check_eq "tickets per week (merged stub left out)" "0 0 0 0 0 0 0 0 1 1 1 2" \
	"$(j '" ".join(str(w["tickets"]) for w in d["tickets_per_week"])')"
check_eq "generated is the (fake) time, RFC 3339 UTC" 2026-11-25T12:00:00Z "$(j 'd["generated"]')"

# A store where nobody has answered yet.
e=$T_DIR/empty
make_config "$e"
"$SECDESK" -c "$e/secdesk.conf" db init >/dev/null
"$SECDESK" -c "$e/secdesk.conf" stats --json >"$T_DIR/e.json"
check_eq "empty store: no median (null)" None "$(jq_ 'd["first_answer_median_seconds"]' <"$T_DIR/e.json")"
check_eq "empty store: no queue answered" "{}" "$(jq_ 'd["first_answer_by_queue"]' <"$T_DIR/e.json")"
check_eq "empty store: every status, zero" 0 "$(jq_ 'sum(d["by_status"].values())' <"$T_DIR/e.json")"
check "empty store: human output says none answered" sh -c \
	"'$SECDESK' -c '$e/secdesk.conf' stats | grep -q 'no ticket answered yet'"

# Human output.
at $T stats >"$T_DIR/st.txt"
check "human: totals" grep -q '^5 tickets, 4 waiting$' "$T_DIR/st.txt"
check "human: open by queue and status" grep -Eq '^  DE +0 +1 +1$' "$T_DIR/st.txt"
check "human: median per queue" grep -Eq '^  DE +4h 0m +\(2 answered\)$' "$T_DIR/st.txt"
check "human: median over all queues" grep -Eq '^  all queues +6h 0m +\(3 answered\)$' "$T_DIR/st.txt"
check "human: the current week" grep -Eq '^  2026-W48 2026-11-23 +2$' "$T_DIR/st.txt"

check_rc "stats with an argument is a usage error" 64 sd stats extra
check_rc "stats with an unknown option is a usage error" 64 sd stats --bogus
done_testing

#!/bin/sh
# Local time where a person reads (outbox, show, stats, report) under TZ
# (Europe/Berlin, Asia/Tokyo, UTC0), UTC in --json; stats and report
# --since/--until over tickets created on known days, their JSON bounds,
# and the usage errors of a bad date or an empty window (exit 64). A fixed
# clock (SECDESK_NOW) makes the times known.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
at() { _t=$1; shift; SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# 2026-11-20 12:00:00 UTC: 13:00 in Berlin, 21:00 in Tokyo
t0=1795176000
D=86400
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

mail() {
	cat >"$T_DIR/$1.eml" <<MAIL
From: Someone <someone$1@example.org>
To: secretariat@icpermed.example
Subject: Question $1
Message-ID: <localtime$1@example.org>
Content-Type: text/plain; charset=utf-8

A question about the call.
MAIL
}
at $t0 db init >/dev/null
# tickets 1..3 created on 2026-11-20, 2026-11-10 and 2026-10-20 (UTC noon)
mail 1 && at $t0 ingest "$T_DIR/1.eml" >/dev/null
mail 2 && at $((t0 - 10 * D)) ingest "$T_DIR/2.eml" >/dev/null
mail 3 && at $((t0 - 31 * D)) ingest "$T_DIR/3.eml" >/dev/null

# outbox: the acknowledgements, due at their ticket's creation
TZ=UTC0 at $t0 outbox >"$T_DIR/ob-utc.txt"
TZ=Europe/Berlin at $t0 outbox >"$T_DIR/ob-ber.txt"
TZ=Asia/Tokyo at $t0 outbox >"$T_DIR/ob-tyo.txt"
check "outbox with TZ=UTC0: 12:00" grep -q '2026-11-20 12:00' "$T_DIR/ob-utc.txt"
check "outbox with TZ=Europe/Berlin: 13:00" grep -q '2026-11-20 13:00' "$T_DIR/ob-ber.txt"
check "outbox with TZ=Asia/Tokyo: 21:00" grep -q '2026-11-20 21:00' "$T_DIR/ob-tyo.txt"
check "outbox in Berlin shows no UTC time" sh -c "! grep -q '2026-11-20 12:00\|T12:00' '$T_DIR/ob-ber.txt'"
check_eq "outbox --json stays UTC with TZ=Europe/Berlin" "True" \
	"$(TZ=Europe/Berlin at $t0 outbox --json | j '"2026-11-20T12:00:00Z" in [r.get("next_try") or r.get("sent") for r in d]')"

# show: local in the text, UTC in --json
check "show with TZ=Europe/Berlin: created 13:00" sh -c "TZ=Europe/Berlin SECDESK_NOW=$t0 '$SECDESK' -c '$d/secdesk.conf' show 1 | grep -q '2026-11-20 13:00'"
check "show with TZ=Asia/Tokyo: 21:00" sh -c "TZ=Asia/Tokyo SECDESK_NOW=$t0 '$SECDESK' -c '$d/secdesk.conf' show 1 | grep -q '2026-11-20 21:00'"
check_eq "show --json in UTC" "2026-11-20T12:00:00Z" "$(TZ=Europe/Berlin at $t0 show 1 --json | j 'd["created"]')"

# stats --since/--until
S() { TZ=Europe/Berlin at $t0 stats --json "$@" | j "$1"; }
check_eq "stats: all three" "3" "$(TZ=Europe/Berlin at $t0 stats --json | j 'd["total"]')"
check_eq "stats --since 2026-11-01: two" "2" "$(TZ=Europe/Berlin at $t0 stats --json --since 2026-11-01 | j 'd["total"]')"
check_eq "stats --until 2026-11-10 (the day counts): two" "2" "$(TZ=Europe/Berlin at $t0 stats --json --until 2026-11-10 | j 'd["total"]')"
check_eq "stats --since 2026-11 --until 2026-11: November's two" "2" "$(TZ=Europe/Berlin at $t0 stats --json --since 2026-11 --until 2026-11 | j 'd["total"]')"
check_eq "stats --since 2026-11-05 --until 2026-11-15: one" "1" "$(TZ=Europe/Berlin at $t0 stats --json --since 2026-11-05 --until 2026-11-15 | j 'd["total"]')"
check_eq "stats --since 5d (relative): one" "1" "$(TZ=Europe/Berlin at $t0 stats --json --since 5d | j 'd["total"]')"
check_eq "stats --since: the queue counts too" "2" "$(TZ=Europe/Berlin at $t0 stats --json --since 2026-11-01 | j 'sum(d["by_queue"].values())')"
check_eq "stats --json: the bounds in UTC (Berlin's midnight)" "2026-10-31T23:00:00Z 2026-11-15T23:00:00Z" \
	"$(TZ=Europe/Berlin at $t0 stats --json --since 2026-11-01 --until 2026-11-15 | j 'd["since"] + " " + d["until"]')"
check_eq "stats --json without bounds: null" "None None" "$(TZ=Europe/Berlin at $t0 stats --json | j 'str(d["since"]) + " " + str(d["until"])')"
check "stats in text names the window in local time" sh -c "TZ=Europe/Berlin SECDESK_NOW=$t0 '$SECDESK' -c '$d/secdesk.conf' stats --since 2026-11-01 | grep -q '^2 tickets, .* created since 2026-11-01 00:00'"
check_eq "stats --until: the weeks end with its week" "2026-W46" \
	"$(TZ=Europe/Berlin at $t0 stats --json --until 2026-11-10 | j 'd["tickets_per_week"][-1]["week"]')"
check_rc "stats --since of no date" 64 at $t0 stats --since 2026-13-01
check "it says why" grep -q "since: '2026-13-01' is not a date" "$T_DIR/.err"
check_rc "stats --since after --until" 64 at $t0 stats --since 2026-11-10 --until 2026-11-01
check_rc "stats --until without a value" 64 at $t0 stats --until

# report --since/--until
check_rc "report --since --until writes the page" 0 sh -c "TZ=Europe/Berlin SECDESK_NOW=$t0 '$SECDESK' -c '$d/secdesk.conf' report --html '$T_DIR/r.html' --since 2026-11-01 --until 2026-11-30"
check "the page names the window in local time" grep -q 'tickets created from 2026-11-01 00:00 to 2026-12-01 00:00' "$T_DIR/r.html"
check "the report line counts the window's tickets" grep -q '(2 tickets' "$T_DIR/.out"
check_rc "report --until of no date" 64 at $t0 report --html "$T_DIR/r2.html" --until soon
done_testing

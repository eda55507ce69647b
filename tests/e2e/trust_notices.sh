#!/bin/sh
# Automatic mail is bounded (issue 15, point 6): a flood of 3,000 inquiries
# into a Maildir desk, two thirds of them routed to two partners. The
# acknowledgements stop at [ack] hourly_limit; each partner gets at most
# [notice] hourly_limit_per_partner notices in the hour and one digest an
# hour later; and every inquiry routed to a partner is in exactly one
# notice or digest to that partner, so none is dropped. A fixed clock
# (SECDESK_NOW) places the flood in one hour and the send after it.
. "$TOP/tests/lib.sh"

d=$T_DIR/desk
N=${TRUST_FLOOD_N:-3000}
make_config "$d"
mkdir -p "$d/rules"
cat >"$d/rules/00-queues.rules" <<'RULES'
queue secretariat "Secretariat" language en
queue P1 "Partner One" language en contact p1a@partner.example, p1b@partner.example
queue P2 "Partner Two" language en contact p2@partner.example

rule "alpha"
when subject matches /alpha/
then
	route P1
end

rule "beta"
when subject matches /beta/
then
	route P2
end
RULES
sed -i "s|^dir = $TOP/rules|dir = rules|" "$d/secdesk.conf"
printf '[ack]\nhourly_limit = 200\nper_sender_limit = 3\n[notice]\nhourly_limit_per_partner = 20\n' \
	>>"$d/secdesk.conf"
printf '[remind]\nafter = 1m\n' >>"$d/secdesk.conf"
q() { store_sql "$d" "$1"; }
t0=1794999960
at() { _at=$1; shift; env SECDESK_NOW=$((t0 + _at)) "$SECDESK" -q -c "$d/secdesk.conf" "$@"; }

python3 - "$d/inbox/new" "$N" <<'PY'
import sys
box, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    word = ("alpha", "beta", "other")[i % 3]
    with open("%s/%06d.flood:2," % (box, i), "w") as f:
        f.write("From: Person %d <person%d@example.org>\nTo: secretariat@icpermed.example\n"
                "Subject: Question %s %d\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n"
                "Message-ID: <flood-%d@example.org>\n\nA question, number %d.\n"
                % (i, i, word, i, i, i))
PY

at 0 run >/dev/null 2>"$T_DIR/run.err"
check_eq "every inquiry stored" "$N" "$(q "SELECT count(*) FROM tickets")"
acks=$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")
check "acknowledgements bounded by [ack] hourly_limit ($acks <= 200)" test "$acks" -le 200
check "and some went" test "$acks" -gt 0
for p in P1 P2; do
	n=$(q "SELECT count(*) FROM events WHERE what = 'notified' AND new_value = '$p'")
	check "$p: at most 20 notices in the hour ($n)" test "$n" -le 20
done
auto=$(q "SELECT coalesce(sum(n), 0) FROM autoreply_count")
check "acks and notices within the hourly limit, digests beside it ($auto <= 200 + 3)" \
	test "$auto" -le 203
check_eq "one digest per partner, waiting for its hour" 2 \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'digest' AND status = 'pending'")"
check_eq "every routed inquiry notified or held for the digest" \
	"$(q "SELECT count(*) FROM tickets WHERE queue IN ('P1', 'P2')")" \
	"$(q "SELECT count(DISTINCT ticket_id) FROM events WHERE what IN ('notified', 'notice-held')")"
check_eq "the hour's sends deliver no digest yet" 0 "$(grep -l '(hourly digest)' "$d/outbox/"* 2>/dev/null | wc -l)"

# A second, small wave a minute later joins the same digests.
for i in 1 2 3; do
	make_mail "$d/inbox/new/late$i:2," "late-$i@example.org" "late$i@example.org" "Late alpha $i"
done
at 60 run >/dev/null 2>>"$T_DIR/run.err"
check_eq "still one digest per partner" 2 "$(q "SELECT count(*) FROM outbox WHERE kind = 'digest'")"

# Reminders are automatic mail too: within the hour of the flood they wait.
check_rc "remind within the flood's hour" 0 at 120 remind
check_eq "no reminder past the hourly limit" 0 "$(q "SELECT count(*) FROM outbox WHERE kind = 'remind'")"

at 3700 send >/dev/null 2>>"$T_DIR/run.err"
check_eq "an hour later the digests went" 2 \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'digest' AND status = 'sent'")"

# Each delivered file: its recipients, and the inquiries it names (a
# notice by its subject's tag, a digest by its list).
python3 - "$d/outbox" >"$T_DIR/told.txt" <<'PY'
import email, email.policy, glob, re, sys
for path in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    rcpts = ",".join(sorted(re.findall(r"<([^>]*)>", " ".join(m.get_all("X-Envelope-To", [])))))
    subject = str(m["Subject"])
    if "(hourly digest)" in subject:
        for tid in re.findall(r"Inquiry #(\d+):", m.get_content()):
            print("digest", rcpts, tid)
    elif subject.startswith("New inquiry for"):
        print("notice", rcpts, re.search(r"#(\d+)\]", subject).group(1))
PY
q "SELECT CASE queue WHEN 'P1' THEN 'p1a@partner.example,p1b@partner.example'
	ELSE 'p2@partner.example' END || ' ' || id FROM tickets WHERE queue IN ('P1', 'P2')
	ORDER BY id" | sort >"$T_DIR/routed.txt"
awk '{print $2 " " $3}' "$T_DIR/told.txt" | sort >"$T_DIR/told_ids.txt"
check_eq "every routed inquiry is in exactly one notice or digest to its partner" \
	"$(wc -l <"$T_DIR/routed.txt") 0" \
	"$(wc -l <"$T_DIR/told_ids.txt") $(diff "$T_DIR/routed.txt" "$T_DIR/told_ids.txt" | grep -c '^[<>]')"
check_eq "one digest mail per partner" 2 "$(grep -l '(hourly digest)' "$d/outbox/"*.eml | wc -l)"
last=$((N - 2))
check_eq "a digest lists id, subject and requester" 1 \
	"$(grep -l ": Question beta $last" "$d/outbox/"*.eml | xargs grep -l "from Person $last <person$last@example.org>" | wc -l)"

# In the next hour the partner is told one by one again.
make_mail "$d/inbox/new/next:2," "next-1@example.org" "next@example.org" "Next alpha"
at 3800 run >/dev/null 2>>"$T_DIR/run.err"
check_eq "the next hour's inquiry gets its notice" "notified" \
	"$(q "SELECT what FROM events WHERE ticket_id = (SELECT max(id) FROM tickets)
		AND what IN ('notified', 'notice-held')")"
check_rc "remind two hours later" 0 at 7300 remind
check "reminders go once the hour has passed" \
	test "$(q "SELECT count(*) FROM outbox WHERE kind = 'remind'")" -gt 0
check "no errors" test ! -s "$T_DIR/run.err"
done_testing

#!/bin/sh
# remind through the real binary, at fake times (SECDESK_NOW): the right
# digests to the right people (queue contacts, assignees with an address),
# with the tickets that waited too long and their tags; never to a
# requester nor to the desk; rate-limited per address; --dry-run, --json,
# the summary line; delivered by 'secdesk send'; exit codes.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
cp -R "$TOP/rules" "$d/rules"
cp -R "$TOP/templates" "$d/templates"
# ZZ's contacts include the requester of ticket 5.
echo 'queue ZZ "Zedland" language en contact zz1@icpermed.example, person5@example.org, zz2@icpermed.example' \
	>>"$d/rules/00-queues.rules"
sed -i -e "s|^dir = $TOP/rules|dir = $d/rules|" -e "s|^dir = $TOP/templates|dir = $d/templates|" \
	"$d/secdesk.conf"
cat >>"$d/secdesk.conf" <<CONF

[remind]
after           = 3d
min_interval    = 1d
assignee_domain = icpermed.example
CONF
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# A mail ingested at a fake time was written then: its Date says so.
at() { _t=$1; shift; [ "$1" = ingest ] && [ -f "${2:-}" ] && written_at "$_t" "$2"; SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=staff
T=1795608000
H=3600 D=86400

sd db init >/dev/null
for i in 1 2 3 4 5 6 7 8 9; do
	make_mail "$T_DIR/m$i.eml" "m$i@example.org" "person$i@example.org" "Question number $i"
done
# 1: DE, 5 days, assigned to alice (alice@icpermed.example), two tags.
at $((T - 5 * D)) ingest "$T_DIR/m1.eml" >/dev/null
at $((T - 5 * D)) route 1 DE >/dev/null
sd assign 1 alice >/dev/null
sd tag 1 budget >/dev/null
sd tag 1 call-2026 >/dev/null
# 2: DE, half a day: too young.
at $((T - 12 * H)) ingest "$T_DIR/m2.eml" >/dev/null
at $((T - 12 * H)) route 2 DE >/dev/null
# 3: FR, answered: pending, not a waiting status by default.
at $((T - 10 * D)) ingest "$T_DIR/m3.eml" >/dev/null
at $((T - 10 * D)) route 3 FR >/dev/null
at $((T - 9 * D)) reply 3 -m "Answer" >/dev/null
# 4: FR, answered, then the requester wrote again 4 days ago: waiting since.
at $((T - 10 * D)) ingest "$T_DIR/m4.eml" >/dev/null
at $((T - 10 * D)) route 4 FR >/dev/null
at $((T - 9 * D)) reply 4 -m "Answer" >/dev/null
make_mail "$T_DIR/f4.eml" f4@example.org person4@example.org "Re: Question number 4 [ICPerMed #4]"
at $((T - 4 * D)) ingest "$T_DIR/f4.eml" >/dev/null
# 5: ZZ, 6 days; its requester is one of ZZ's contacts.
at $((T - 6 * D)) ingest "$T_DIR/m5.eml" >/dev/null
at $((T - 6 * D)) route 5 ZZ >/dev/null
# 6: secretariat (whose contact is the desk itself), assigned to an address.
at $((T - 7 * D)) ingest "$T_DIR/m6.eml" >/dev/null
sd assign 6 bob@example.net >/dev/null
# 7: secretariat, assigned to its own requester: reaches nobody.
at $((T - 8 * D)) ingest "$T_DIR/m7.eml" >/dev/null
sd assign 7 person7@example.org >/dev/null
# 8: resolved.
at $((T - 20 * D)) ingest "$T_DIR/m8.eml" >/dev/null
sd status 8 resolved >/dev/null
# 9: DE, 3.5 days, assigned to a name that is no address.
at $((T - 4 * D + 12 * H)) ingest "$T_DIR/m9.eml" >/dev/null
at $((T - 4 * D + 12 * H)) route 9 DE >/dev/null
sd assign 9 "Carol Smith" >/dev/null
check_eq "ticket 4 is open again" open "$(sd show 4 --json | jq_ 'd["status"]')"

# The acknowledgements and notices out of the way first.
at $T send >/dev/null
rm -f "$d/outbox/"*
reminds() { sd outbox --all --json | jq_ 'len([o for o in d if o["kind"]=="remind"])'; }

# --dry-run: says what would go, queues nothing, records nothing.
check_rc "remind --dry-run" 0 at $T remind --dry-run
at $T remind --dry-run >"$T_DIR/dry.txt"
check "dry run lists partner-de's digest" grep -q '^partner-de@icpermed.example: 2 tickets (#1 #9) would-queue$' "$T_DIR/dry.txt"
check_eq "dry run queues nothing" 0 "$(reminds)"
check "dry run -v prints the mail" sh -c "SECDESK_NOW=$T '$SECDESK' -v -c '$d/secdesk.conf' remind --dry-run | grep -q '^Subject: Reminder: 2 inquiries waiting for more than 3 days'"

# The run.
at $T remind --json >"$T_DIR/run.json"
check_eq "remind --json exits 0" 0 $?
check_eq "every digest queued, with its outbox id" "6 6" \
	"$(jq_ 'str(len([x for x in d["digests"] if x["state"]=="queued"])) + " " + str(len([x for x in d["digests"] if x["outbox_id"]]))' <"$T_DIR/run.json")"
check_eq "queued, rate-limited, skipped" "6 0 0" \
	"$(jq_ '" ".join(str(d[k]) for k in ("queued","rate_limited","skipped"))' <"$T_DIR/run.json")"
at $T remind --dry-run --json >"$T_DIR/after.json"
check_eq "six digests queued" 6 "$(reminds)"
check_eq "a dry run now sees every address rate-limited" \
	"['rate-limited', 'rate-limited', 'rate-limited', 'rate-limited', 'rate-limited', 'rate-limited']" \
	"$(jq_ '[x["state"] for x in d["digests"]]' <"$T_DIR/after.json")"
j() { jq_ "$1" <"$T_DIR/after.json"; }
check_eq "digests by address, with their tickets" \
	"[('alice@icpermed.example', [1]), ('bob@example.net', [6]), ('partner-de@icpermed.example', [1, 9]), ('partner-fr@icpermed.example', [4]), ('zz1@icpermed.example', [5]), ('zz2@icpermed.example', [5])]" \
	"$(j '[(x["to"], x["tickets"]) for x in d["digests"]]')"
check_eq "waiting tickets, longest wait first" "[7, 6, 5, 1, 4, 9]" "$(j '[t["id"] for t in d["tickets"]]')"
check_eq "ticket 4 waits since the follow-up" 2026-11-21T12:00:00Z "$(j '[t["waiting_since"] for t in d["tickets"] if t["id"]==4][0]')"
check_eq "tags in the JSON" "budget, call-2026" "$(j '[t["tags"] for t in d["tickets"] if t["id"]==1][0]')"
check_eq "a queue's own digest names it; mixed ones (assignees) do not" \
	"[None, None, 'DE', 'FR', 'ZZ', 'ZZ']" "$(j '[x["queue"] for x in d["digests"]]')"
check_eq "the ticket that reaches nobody" "[7]" "$(j 'd["unmailed_tickets"]')"
check_eq "the assignee without an address" "['Carol Smith']" "$(j 'd["assignees_without_address"]')"
check_eq "two tickets left out of their requester's digest" 2 "$(j 'd["requester_skips"]')"
check_eq "the desk's own address skipped" True "$(j 'd["desk_address_skipped"]')"
check_eq "last_sent recorded" 2026-11-25T12:00:00Z "$(j 'd["digests"][0]["last_sent"]')"
check_eq "after and min_interval" "259200 86400" "$(j 'str(d["after_seconds"]) + " " + str(d["min_interval_seconds"])')"

# Delivered by send: look at the mail itself.
check_rc "send delivers the digests" 0 at $T send
cat >"$T_DIR/mail.py" <<'PY'
import email, glob, re, sys
from email import policy
out = {}
for f in sorted(glob.glob(sys.argv[1] + "/*")):
    m = email.message_from_binary_file(open(f, "rb"), policy=policy.default)
    to = m["X-Envelope-To"].strip("<>")
    body = m.get_body().get_content()
    out[to] = (m, body)
what = sys.argv[2]
if what == "rcpts":
    print(sorted(out))
elif what == "refs":
    print(sorted((k, [int(x) for x in re.findall(r"^\[ICPerMed #(\d+)\]", b, re.M)]) for k, (m, b) in out.items()))
elif what == "header":
    print(sorted(set(str(m[sys.argv[3]]) for m, b in out.values())))
elif what == "body":
    print(out[sys.argv[3]][1])
PY
mail() { python3 "$T_DIR/mail.py" "$d/outbox" "$@"; }
check_eq "mail to exactly these six" \
	"['alice@icpermed.example', 'bob@example.net', 'partner-de@icpermed.example', 'partner-fr@icpermed.example', 'zz1@icpermed.example', 'zz2@icpermed.example']" \
	"$(mail rcpts)"
check_eq "each with its tickets" \
	"[('alice@icpermed.example', [1]), ('bob@example.net', [6]), ('partner-de@icpermed.example', [1, 9]), ('partner-fr@icpermed.example', [4]), ('zz1@icpermed.example', [5]), ('zz2@icpermed.example', [5])]" \
	"$(mail refs)"
check "nothing to any requester" sh -c "! grep -l '^X-Envelope-To: <person' '$d/outbox/'*"
check "nothing to the desk itself" sh -c "! grep -l '^X-Envelope-To: <secretariat@' '$d/outbox/'*"
check_eq "From the desk" "['ICPerMed Secretariat <secretariat@icpermed.example>']" "$(mail header From)"
check_eq "RFC 3834: auto-generated" "['auto-generated']" "$(mail header Auto-Submitted)"
check_eq "bounces come back to the desk" "['<secretariat@icpermed.example>']" "$(mail header Return-Path)"
mail body partner-de@icpermed.example >"$T_DIR/de.txt"
check "the queue's digest names the queue" grep -q 'routed to Germany' "$T_DIR/de.txt"
check "tags in the digest" grep -q '^    tags: budget, call-2026$' "$T_DIR/de.txt"
check "the age in the digest" grep -q 'waiting 5 days (since 2026-11-20)' "$T_DIR/de.txt"
check "the assignee in the digest" grep -q '^    assigned to alice$' "$T_DIR/de.txt"
check "the subject in the digest" grep -q '^\[ICPerMed #9\] Question number 9$' "$T_DIR/de.txt"
mail body alice@icpermed.example >"$T_DIR/alice.txt"
check "the assignee's own digest says so" grep -q '^    assigned to alice (you)$' "$T_DIR/alice.txt"
check_eq "a 'reminded' event on ticket 1 naming who" "alice@icpermed.example, partner-de@icpermed.example" \
	"$(sd show 1 --json | jq_ '[e["new"] for e in d["events"] if e["what"]=="reminded"][0]')"
check_eq "no event on the ticket that reached nobody" 0 \
	"$(sd show 7 --json | jq_ 'len([e for e in d["events"] if e["what"]=="reminded"])')"

# Rate limit: a second run within min_interval sends nothing.
rm -f "$d/outbox/"*
check_rc "second run an hour later" 0 at $((T + H)) remind
check_eq "its summary line" \
	"remind: 6 tickets waiting more than 3 days; 0 digests queued, 6 rate-limited, 0 skipped; assignees without address: Carol Smith; reaching nobody: #7" \
	"$(at $((T + 2 * H)) remind)"
check_eq "nothing more queued" 6 "$(reminds)"
at $((T + H)) send >/dev/null
check_eq "nothing more delivered" 0 "$(ls "$d/outbox" | wc -l)"
check_rc "just before the interval ends: still nothing" 0 at $((T + D - 1)) -q remind
check_eq "still six" 6 "$(reminds)"
check_eq "-q prints nothing" "" "$(at $((T + D - 1)) -q remind 2>&1)"

# Once the interval is over, digests go again; a dry run first changes nothing.
check_eq "dry run after the interval would queue six" 6 \
	"$(at $((T + 2 * D)) remind --dry-run --json | jq_ 'd["queued"]')"
check_eq "and queued none" 6 "$(reminds)"
check_eq "a real run then queues six" 6 "$(at $((T + 2 * D)) remind --json | jq_ 'd["queued"]')"
check_eq "twelve in all" 12 "$(reminds)"

# Two reminders at once: one write transaction each, so one sends and the
# other finds every address rate-limited.
at $((T + 3 * D)) remind >"$T_DIR/c1.txt" 2>&1 &
p1=$!
at $((T + 3 * D)) remind >"$T_DIR/c2.txt" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check_eq "two concurrent runs both exit 0" "0 0" "$r1 $r2"
check_eq "together they queue one set of six" 18 "$(reminds)"
check_eq "one queued six, the other found them rate-limited" "0 6, 6 0" \
	"$(cat "$T_DIR/c1.txt" "$T_DIR/c2.txt" | sed -n 's/.*; \([0-9]*\) digests* queued, \([0-9]*\) rate-limited.*/\1 \2/p' | sort | paste -sd, | sed 's/,/, /')"

# A queue's own template (DE/remind.LANG.tmpl) wins for its contacts.
at $((T + 3 * D)) send >/dev/null
mkdir -p "$d/templates/DE"
printf 'Subject: DE digest, {{count}}\n\n{{#tickets}}{{ref}}\n{{/tickets}}\n' >"$d/templates/DE/remind.en.tmpl"
rm -f "$d/outbox/"*
at $((T + 5 * D)) remind >/dev/null
at $((T + 5 * D)) send >/dev/null
check_eq "the DE contact got the DE template (ticket 2 old enough now)" \
	"['DE digest, 3 [ICPerMed #1]', 'DE digest, 3 [ICPerMed #2]', 'DE digest, 3 [ICPerMed #9]']" \
	"$(python3 -c "
import email,glob
from email import policy
r=[]
for f in glob.glob('$d/outbox/*'):
    m=email.message_from_binary_file(open(f,'rb'),policy=policy.default)
    if m['X-Envelope-To']=='<partner-de@icpermed.example>':
        r+=[m['Subject']+' '+l for l in m.get_body().get_content().split('\n') if l]
print(sorted(r))")"

# Errors.
mv "$d/templates/remind.en.tmpl" "$d/templates/remind.en.tmpl.off"
rm -rf "$d/templates/DE"
check_rc "no template: bad configuration (78)" 78 at $((T + 6 * D)) remind
check_eq "and nothing queued or recorded" 6 \
	"$(at $((T + 6 * D)) remind --dry-run --json | jq_ 'len([x for x in d["digests"] if x["state"]=="would-queue"])')"
mv "$d/templates/remind.en.tmpl.off" "$d/templates/remind.en.tmpl"
printf 'Subject: x\nFrom: evil@example.org\n\nbody\n' >"$d/templates/remind.en.tmpl.bad"
cp "$d/templates/remind.en.tmpl" "$d/templates/remind.en.tmpl.good"
cp "$d/templates/remind.en.tmpl.bad" "$d/templates/remind.en.tmpl"
check_rc "a template setting From: bad configuration (78)" 78 at $((T + 6 * D)) remind
cp "$d/templates/remind.en.tmpl.good" "$d/templates/remind.en.tmpl"
sed -i 's/^after  *= 3d$/after = soon/' "$d/secdesk.conf"
check_rc "a bad [remind] after: 78" 78 sd remind
sed -i 's/^after = soon$/after = 3d/' "$d/secdesk.conf"
echo 'statuses = new, bogus' >>"$d/secdesk.conf"
check_rc "a bad status in [remind] statuses: 78" 78 sd remind
sd remind 2>"$T_DIR/err"
check "the error names the key and the word" grep -q "\[remind\] statuses: 'bogus' is not a status" "$T_DIR/err"
sed -i 's/^statuses = .*/statuses = new, open, pending/' "$d/secdesk.conf"
check "statuses = ... pending takes the answered ticket 3 in" sh -c \
	"SECDESK_NOW=$((T + 6 * D)) '$SECDESK' -c '$d/secdesk.conf' remind --dry-run --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if 3 in [t[\"id\"] for t in d[\"tickets\"]] else 1)'"
check_rc "an extra argument is a usage error" 64 sd remind now
check_rc "an unknown option is a usage error" 64 sd remind --bogus
done_testing

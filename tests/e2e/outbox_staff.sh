#!/bin/sh
# secdesk outbox hold|release|cancel ID (issue 18, point 4): a held mail is
# not sent until released; a cancelled one never is, and its ticket says so;
# mail sent already, failed, held for a template error, or not there is
# refused with a clear message; each change is an event by the acting user.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=alice
events() { sd show "$1" --json | jq_ "[(e['who'], e['what']) for e in d['events'] if e['what'].startswith('outbox-')]"; }
sent() { ls "$d"/outbox/*.eml 2>/dev/null | wc -l; }

sd db init >/dev/null
make_mail "$T_DIR/m1.eml" m1@example.org person@example.org "Eligibility"
sd ingest "$T_DIR/m1.eml" >/dev/null
sd send >/dev/null
n0=$(sent)
sd reply 1 -m "First answer." >/dev/null
r1=$(q "SELECT max(id) FROM outbox WHERE kind = 'reply'")

check_rc "hold a queued reply" 0 sd outbox hold "$r1"
check_eq "it is held, by alice" "held|held by alice" "$(q "SELECT status, last_error FROM outbox WHERE id = $r1")"
check_rc "send" 0 sd send --now
check_eq "a held mail is not sent" "$n0" "$(sent)"
check_rc "run" 0 sd run
check_eq "run neither sends it nor takes it for mail held for a template" "$n0 held" \
	"$(sent) $(q "SELECT status FROM outbox WHERE id = $r1")"
check_rc "hold again: refused" 65 sd outbox hold "$r1"
check "saying it is held already" grep -q "outbox mail $r1 is held already" "$T_DIR/.err"
check_rc "outbox lists it" 0 sd outbox
check "as held" grep -q "^$r1 .* held " "$T_DIR/.out"
check_rc "release it" 0 sd outbox release "$r1"
check_rc "release again: refused" 65 sd outbox release "$r1"
check "saying it is not held" grep -q "outbox mail $r1 is not held" "$T_DIR/.err"
sd send >/dev/null
check_eq "released, the next send delivers it" $((n0 + 1)) "$(sent)"
check_eq "the ticket's events, by alice" "[('alice', 'outbox-held'), ('alice', 'outbox-released')]" "$(events 1)"

for verb in hold release cancel; do
	check_rc "$verb of a sent mail: refused" 65 sd outbox "$verb" "$r1"
	check "$verb: saying it was sent" grep -q "outbox mail $r1 was sent already" "$T_DIR/.err"
done
check_eq "the sent row is unchanged" "sent" "$(q "SELECT status FROM outbox WHERE id = $r1")"

sd reply 1 -m "Second answer, to be withdrawn." >/dev/null
r2=$(q "SELECT max(id) FROM outbox WHERE kind = 'reply'")
check_rc "cancel a queued reply" 0 sd outbox cancel "$r2"
check_eq "it is out of the outbox" 0 "$(q "SELECT count(*) FROM outbox WHERE id = $r2")"
sd send --now >/dev/null
check_eq "and never sent" $((n0 + 1)) "$(sent)"
check_eq "the cancel is an event naming whom it was for" "reply person@example.org" \
	"$(sd show 1 --json | jq_ "[e['old']+' '+e['new'] for e in d['events'] if e['what']=='outbox-cancelled'][0]")"
check_rc "cancel again: there is none" 65 sd outbox cancel "$r2"
check "saying so" grep -q "there is no outbox mail $r2" "$T_DIR/.err"

sd reply 1 -m "Third answer, held then cancelled." >/dev/null
r3=$(q "SELECT max(id) FROM outbox WHERE kind = 'reply'")
sd outbox hold "$r3" >/dev/null
check_rc "a held mail can be cancelled" 0 sd outbox cancel "$r3"

# Mail held for a template error waits for a fixed template, not for staff.
q "INSERT INTO outbox (ticket_id, kind, rcpts, data, status, next_try, created, last_error) VALUES (1, 'ack', 'person@example.org', 'x', 'held', 0, 0, 'held: template error: ack.en.txt:1: x')"
r4=$(q "SELECT max(id) FROM outbox")
check_rc "release of mail held for a template error: refused" 65 sd outbox release "$r4"
check "saying why" grep -q "held for a template error" "$T_DIR/.err"
check_rc "hold of it: refused" 65 sd outbox hold "$r4"
check_eq "it stays held" "held" "$(q "SELECT status FROM outbox WHERE id = $r4")"

check_rc "an id that is not a number: usage" 64 sd outbox hold abc
check_rc "no id: usage" 64 sd outbox cancel
check_rc "a missing id: bad data" 65 sd outbox release 9999
check_rc "outbox --json still lists" 0 sd outbox --json
done_testing

#!/bin/sh
# The ticket lifecycle (issue 18, point 1), each transition with real mail
# through `secdesk ingest` and `run` on a Maildir, each recorded as an event:
# new -> pending (staff reply) -> open (mail from the requester, a Cc'd
# participant, anyone answering in the thread) -> resolved -> open; mail to
# a closed ticket opens a new ticket linked both ways (follow_up_of /
# continued_in), acknowledged as a new inquiry, and more such mail joins
# that one; automatic mail (auto-replies, bounces, list mail) moves nothing
# and opens nothing.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
show_() { sd show "$1" --json | jq_ "$2"; }
status() { show_ "$1" 'd["status"]'; }
# event ID WHAT: "old>new" of ticket ID's last event WHAT, "" when none.
event() { show_ "$1" "next((str(e.get('old') or '') + '>' + str(e.get('new') or '') for e in reversed(d['events']) if e['what'] == '$2'), '')"; }
nin() { show_ "$1" 'len([m for m in d["messages"] if m["direction"] == "in"])'; }
ntickets() { sd list --all --json | jq_ 'len(d)'; }
acks_to() { sd outbox --all --json | jq_ "len([o for o in d if o['kind'] == 'ack' and o['ticket'] == $1])"; }
last_out() { show_ "$1" '[m for m in d["messages"] if m["direction"] == "out"][-1]["message_id"]'; }
export SECDESK_USER=alice

# mail FILE FROM MSGID SUBJECT [EXTRA-HEADER-LINES]
mail() {
	{
		printf 'From: %s\nTo: secretariat@icpermed.example\nSubject: %s\n' "$2" "$4"
		printf 'Date: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <%s>\n' "$3"
		[ -n "${5:-}" ] && printf '%s\n' "$5"
		printf 'Content-Type: text/plain; charset=utf-8\n\nA few words about it.\n'
	} >"$1"
}
ingest() { sd ingest "$1"; }

sd db init >/dev/null
mail "$T_DIR/q.eml" "Ana Person <ana@example.org>" q@example.org "Eligibility of our consortium" \
	"Cc: Ben Colleague <ben@example.org>"
check_eq "mail from a new person: a new ticket" "new ticket #1" "$(ingest "$T_DIR/q.eml")"
check_eq "its status is new" new "$(status 1)"
check_eq "recorded as created" ">secretariat" "$(event 1 created)"
check_eq "acknowledged" 1 "$(acks_to 1)"

mail "$T_DIR/more.eml" "Ana Person <ana@example.org>" more@example.org "Re: Eligibility of our consortium" \
	"In-Reply-To: <q@example.org>"
check_eq "more mail from the requester joins" "added to ticket #1" "$(ingest "$T_DIR/more.eml")"
check_eq "a new ticket stays new (nobody answered yet)" new "$(status 1)"
check_eq "the mail is an event" ">ana@example.org" "$(event 1 message)"

sd reply 1 -m "All of them are eligible." >/dev/null
check_eq "a staff reply: pending" pending "$(status 1)"
check_eq "recorded as a status event" "new>pending" "$(event 1 status)"

r1=$(last_out 1)
mail "$T_DIR/a1.eml" "Ana Person <ana@example.org>" a1@example.org "Re: Eligibility of our consortium" \
	"In-Reply-To: <$r1>"
check_eq "the requester answers the reply" "added to ticket #1" "$(ingest "$T_DIR/a1.eml")"
check_eq "the requester's mail: pending -> open" open "$(status 1)"
check_eq "recorded" "pending>open" "$(event 1 status)"

# The Cc'd participant, by the tag alone (no In-Reply-To).
sd reply 1 -m "Anything else?" >/dev/null
mail "$T_DIR/b1.eml" "Ben Colleague <ben@example.org>" b1@example.org \
	"Re: [ICPerMed #1] Eligibility of our consortium"
check_eq "the Cc'd participant writes with the tag" "added to ticket #1" "$(ingest "$T_DIR/b1.eml")"
check_eq "a participant's mail: pending -> open" open "$(status 1)"
check_eq "recorded" "pending>open" "$(event 1 status)"

# Someone else on the thread: answers a mail of it (the reply, forwarded to them).
sd status 1 resolved >/dev/null
check_eq "staff resolve it" "open>resolved" "$(event 1 status)"
r2=$(last_out 1)
mail "$T_DIR/c1.eml" "Carla Office <carla@example.net>" c1@example.net "Re: Eligibility of our consortium" \
	"In-Reply-To: <$r2>"
check_eq "someone answering in the thread joins" "added to ticket #1" "$(ingest "$T_DIR/c1.eml")"
check_eq "their mail: resolved -> open" open "$(status 1)"
check_eq "recorded" "resolved>open" "$(event 1 status)"

# Automatic mail moves nothing: an auto-reply, a bounce of the desk's
# reply, list mail, each threaded into the resolved ticket.
sd status 1 resolved >/dev/null
mail "$T_DIR/ooo.eml" "Ana Person <ana@example.org>" ooo@example.org "Out of office: Eligibility" \
	"In-Reply-To: <$r2>
Auto-Submitted: auto-replied"
check_eq "an auto-reply joins" "added to ticket #1" "$(ingest "$T_DIR/ooo.eml")"
check_eq "and leaves it resolved" resolved "$(status 1)"
cat >"$T_DIR/bounce.eml" <<MAIL
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: secretariat@icpermed.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Nov 2026 10:05:00 +0000
Message-ID: <bounce1@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

The mail could not be delivered.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; ben@example.org
Action: failed
Status: 5.1.1
--b
Content-Type: text/rfc822-headers

From: secretariat@icpermed.example
Subject: Re: [ICPerMed #1] Eligibility of our consortium
Message-ID: <$r2>
--b--
MAIL
check_eq "a bounce of the reply joins" "added to ticket #1" "$(ingest "$T_DIR/bounce.eml")"
check_eq "and leaves it resolved" resolved "$(status 1)"
mail "$T_DIR/list.eml" "Ana Person <ana@example.org>" list1@example.org \
	"Re: [ICPerMed #1] Eligibility of our consortium" \
	"List-Id: Funding news <news.example.org>
Precedence: list"
check_eq "list mail with the tag joins" "added to ticket #1" "$(ingest "$T_DIR/list.eml")"
check_eq "and leaves it resolved" resolved "$(status 1)"
check_eq "no status event for any of them" "open>resolved" "$(event 1 status)"

# Closed: the requester writes again with the tag.
sd status 1 closed >/dev/null
check_eq "staff close it" "resolved>closed" "$(event 1 status)"
acks_before=$(sd outbox --all --json | jq_ "len([o for o in d if o['kind'] == 'ack'])")
mail "$T_DIR/late.eml" "Ana Person <ana@example.org>" late@example.org \
	"Re: [ICPerMed #1] Eligibility of our consortium" "In-Reply-To: <$r2>"
check_eq "mail to a closed ticket opens a new one" "new ticket #2, follow-up of closed #1" \
	"$(ingest "$T_DIR/late.eml")"
check_eq "the closed ticket stays closed" closed "$(status 1)"
check_eq "and does not get the mail" 8 "$(nin 1)"
check_eq "the new ticket is new" new "$(status 2)"
check_eq "its requester is the writer" ana@example.org "$(show_ 2 'd["requester"]')"
check_eq "its subject drops the closed ticket's tag" "Re: Eligibility of our consortium" \
	"$(show_ 2 'd["subject"]')"
check_eq "--json follow_up_of" 1 "$(show_ 2 'd["follow_up_of"]')"
check_eq "--json related_to too" 1 "$(show_ 2 'd["related_to"]')"
check_eq "not flagged as a mere possible follow-up" False "$(show_ 2 '"possible-followup" in d["flags"]')"
check_eq "--json continued_in on the closed one" "[2]" "$(show_ 1 'd["continued_in"]')"
check_eq "the new one continues nothing" "[]" "$(show_ 2 'd["continued_in"]')"
check_eq "the closed one follows up nothing" None "$(show_ 1 'd["follow_up_of"]')"
check_eq "event on the new ticket" ">#1" "$(event 2 follow-up-of)"
check_eq "event on the closed ticket" ">#2" "$(event 1 continued-in)"
sd show 2 >"$T_DIR/show2.txt"
sd show 1 >"$T_DIR/show1.txt"
check "show: follow-up of #1" grep -q '^Follow-up of #1 ' "$T_DIR/show2.txt"
check "show: #1 continued in #2" grep -q '^Continued in #2 ' "$T_DIR/show1.txt"
check "show: no 'possible follow-up' for it" sh -c "! grep -q 'Possible follow-up' '$T_DIR/show2.txt'"
check_eq "acknowledged as a new inquiry" 1 "$(acks_to 2)"
check_eq "one more ack in all" $((acks_before + 1)) \
	"$(sd outbox --all --json | jq_ "len([o for o in d if o['kind'] == 'ack'])")"
sd send >/dev/null
check "the ack names the new inquiry" sh -c "grep -l 'ICPerMed #2' '$d'/outbox/* | xargs grep -q 'inquiry #2'"
check_eq "the ack's subject carries only the new tag" \
	"Subject: Re: Re: Eligibility of our consortium [ICPerMed #2]" \
	"$(grep -h '^Subject:.*ICPerMed #2' "$d"/outbox/* | tr -d '\r')"
check_eq "open work shows it" 2 "$(sd list --json --status new,open | jq_ '[t["id"] for t in d if t["id"] == 2][0]')"

# The Cc'd participant answers the same closing mail a little later: the
# new ticket, not a third one.
mail "$T_DIR/late2.eml" "Ben Colleague <ben@example.org>" late2@example.org \
	"Re: Eligibility of our consortium" "In-Reply-To: <$r2>"
check_eq "more mail to the closed ticket joins its continuation" "added to ticket #2" \
	"$(ingest "$T_DIR/late2.eml")"
check_eq "still one continuation" "[2]" "$(show_ 1 'd["continued_in"]')"

# Automatic mail to a closed ticket opens nothing.
mail "$T_DIR/ooo2.eml" "Ana Person <ana@example.org>" ooo2@example.org \
	"Auto: Re: [ICPerMed #1] Eligibility" "In-Reply-To: <$r2>
Auto-Submitted: auto-replied"
check_eq "an auto-reply to the closed ticket joins it" "added to ticket #1" "$(ingest "$T_DIR/ooo2.eml")"
check_eq "which stays closed" closed "$(status 1)"
check_eq "and no new ticket" 2 "$(ntickets)"

# A stranger's tag on the closed ticket: a possible follow-up as before.
mail "$T_DIR/stranger.eml" "Stranger <x@elsewhere.example>" s1@elsewhere.example \
	"[ICPerMed #1] let me in"
check_eq "a stranger's tag opens a ticket of its own" "new ticket #3" "$(ingest "$T_DIR/stranger.eml")"
check_eq "a possible follow-up, not a continuation" "1 None True" \
	"$(show_ 3 '" ".join(str(x) for x in (d["related_to"], d["follow_up_of"], "possible-followup" in d["flags"]))')"
check_eq "#1 is still continued in #2 only" "[2]" "$(show_ 1 'd["continued_in"]')"

# The continuation closed too, then mail in the old thread, fetched by
# `run` from the Maildir: a new ticket continues the newest of the chain.
sd status 2 closed >/dev/null
mail "$d/inbox/new/late3.eml" "Ana Person <ana@example.org>" late3@example.org \
	"Re: [ICPerMed #1] Eligibility of our consortium" "In-Reply-To: <q@example.org>"
check_rc "run fetches it" 0 sd run
check_eq "a new ticket" 4 "$(ntickets)"
check_eq "it follows up #2, the newest of the chain" 2 "$(show_ 4 'd["follow_up_of"]')"
check_eq "#2 continued in #4" "[4]" "$(show_ 2 'd["continued_in"]')"
check_eq "its subject drops the old thread's tag" "Re: Eligibility of our consortium" \
	"$(show_ 4 'd["subject"]')"
check_eq "#1 and #2 stay closed" "closed closed" "$(status 1) $(status 2)"
check_eq "acknowledged" 1 "$(acks_to 4)"

done_testing

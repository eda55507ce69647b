#!/bin/sh
# What one party wrote reaches another only by a person's choice (issue 15,
# points 1 and 2), through the real binary and the dir: transport, each
# mail read back from the outbox folder and decoded:
#  - a staff reply quotes the newest message that one of its recipients
#    wrote and every other recipient had: never a partner's internal
#    answer, a stranger's mail, a bounce or an auto-reply, never a
#    follow-up the requester sent the desk alone while a participant is
#    on Cc;
#  - a route notice and a reminder show the inquiry, never a partner's
#    answer;
#  - merge B A: B's requester is on Cc of A's replies, B's text is never
#    quoted to A's requester (nor A's to B's); a bounce's sender never
#    becomes a participant;
#  - a merged ticket refuses every triage command with exit 65, naming
#    the ticket it went into, and changes nothing;
#  - stats and list agree on what is open.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=alice
mkdir -p "$T_DIR/out"

# deliver STEP: sends what is due, and keeps the mails of this step apart.
deliver() {
	sd send >/dev/null || not_ok "send at step $1"
	mkdir -p "$T_DIR/out/$1"
	for _f in "$d/outbox/"*; do
		[ -e "$_f" ] && mv "$_f" "$T_DIR/out/$1/"
	done
	return 0
}
# mails STEP EXPR: a Python expression over the list ms of the mails of
# STEP, each a dict: env (envelope recipients), to, cc, subject, irt,
# refs, body (decoded).
mails() {
	python3 - "$T_DIR/out/$1" "$2" <<'PY'
import email, glob, sys
from email import policy
ms = []
for f in sorted(glob.glob(sys.argv[1] + "/*")):
    m = email.message_from_binary_file(open(f, "rb"), policy=policy.default)
    ms.append({"env": " ".join(m.get_all("X-Envelope-To", [])), "to": str(m["To"] or ""),
               "cc": str(m["Cc"] or ""), "subject": str(m["Subject"] or ""),
               "irt": str(m["In-Reply-To"] or ""), "refs": str(m["References"] or ""),
               "body": m.get_body().get_content()})
print(eval(sys.argv[2]))
PY
}
# The one reply of STEP: its field F.
reply_field() { mails "$1" "[m['$2'] for m in ms if m['subject'].startswith('Re:')][0]"; }
msgid() { q "SELECT message_id FROM messages WHERE ticket_id = $1 AND kind = '$2' ORDER BY id DESC LIMIT 1"; }

sd db init >/dev/null

# --- 1. A reply quotes only what its recipients wrote. ---
# Hans writes to the desk with his colleague Eva on Cc: routed to Germany,
# Eva becomes a participant.
cat >"$T_DIR/m1.eml" <<'MAIL'
From: Hans Meier <hans.meier@charite.de>
To: secretariat@icpermed.example
Cc: Eva Colleague <Eva@Charite.DE>
Subject: Funding for a genomics project
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <inq-1@charite.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Can a hospital in Berlin lead a consortium? HANS-INQUIRY
MAIL
check_rc "the inquiry is ingested" 0 sd ingest "$T_DIR/m1.eml"
check_eq "routed to Germany, Eva a participant" "DE Eva@Charite.DE" \
	"$(q "SELECT queue FROM tickets WHERE id = 1") $(q "SELECT addr FROM watchers WHERE ticket_id = 1")"
deliver s1
ack=$(msgid 1 ack)
notice=$(msgid 1 notice)

# The partner's internal answer to the notice.
cat >"$T_DIR/p1.eml" <<MAIL
From: partner-de@icpermed.example
To: secretariat@icpermed.example
Subject: Re: New inquiry for Germany [ICPerMed #1]
Date: Mon, 2 Nov 2026 12:00:00 +0100
Message-ID: <p1@icpermed.example>
In-Reply-To: <$notice>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

PARTNER-SECRET: do not tell the requester, the call will be cancelled.
MAIL
check_rc "the partner's answer is ingested" 0 sd ingest "$T_DIR/p1.eml"
check_eq "filed on ticket 1 as partner correspondence" "1 partner" \
	"$(q "SELECT ticket_id || ' ' || kind FROM messages WHERE message_id = 'p1@icpermed.example'")"

# A reminder and a route notice to another partner: the inquiry, never the
# partner's answer.
# (The reminder is queued at that time: sent at that time too.)
export SECDESK_NOW=$(($(date +%s) + 5 * 86400))
sd remind >/dev/null
deliver s1r
unset SECDESK_NOW
check_eq "a reminder went to the German contact" 1 \
	"$(mails s1r "len([m for m in ms if 'partner-de@' in m['env']])")"
check_eq "the reminder does not carry the partner's answer" 0 \
	"$(mails s1r "sum('PARTNER-SECRET' in m['body'] for m in ms)")"
check_rc "route 1 FR" 0 sd route 1 FR
deliver s1n
check_eq "a notice to the French contact, a moved notice to the German one" \
	"<partner-de@icpermed.example> <partner-fr@icpermed.example>" \
	"$(mails s1n "' '.join(sorted(m['env'] for m in ms))")"
fr="[m for m in ms if 'partner-fr@' in m['env']][0]"
check_eq "the notice quotes the inquiry, not the partner's answer" "True False" \
	"$(mails s1n "str('HANS-INQUIRY' in $fr['body']) + ' ' + str('PARTNER-SECRET' in $fr['body'])")"
check_eq "the moved notice carries neither" "False False" \
	"$(mails s1n "' '.join(str(w in [m for m in ms if 'partner-de@' in m['env']][0]['body']) for w in ('HANS-INQUIRY', 'PARTNER-SECRET'))")"

check_rc "reply after the partner's answer" 0 sd reply 1 -m "STAFF-ANSWER-1"
deliver s2
check_eq "the reply goes To Hans, Eva on Cc, both in the envelope" \
	"Hans Meier <hans.meier@charite.de>|Eva@Charite.DE|<hans.meier@charite.de> <Eva@Charite.DE>" \
	"$(mails s2 "'|'.join([ms[0]['to'], ms[0]['cc'], ms[0]['env']])")"
check_eq "the reply quotes Hans's inquiry" 1 "$(reply_field s2 body | grep -c '^> .*HANS-INQUIRY')"
check_eq "the partner's answer is not in the reply" 0 "$(grep -c PARTNER-SECRET "$T_DIR"/out/s2/* | awk -F: '{s+=$2} END {print s}')"
check_eq "the reply answers the inquiry (In-Reply-To)" "<inq-1@charite.de>" "$(reply_field s2 irt)"
check_eq "the partner's Message-ID is nowhere in the reply" 0 "$(cat "$T_DIR"/out/s2/* | grep -c 'p1@icpermed')"

# A stranger answering the acknowledgement (forwarded to them) joins by its
# Message-ID; an auto-reply from Hans's own address; a bounce. Each is the
# newest inbound message when staff reply; none is quoted.
cat >"$T_DIR/x1.eml" <<MAIL
From: Mallory <mallory@evil.example>
To: secretariat@icpermed.example
Subject: Re: Funding for a genomics project [ICPerMed #1]
Date: Mon, 2 Nov 2026 13:00:00 +0100
Message-ID: <x1@evil.example>
In-Reply-To: <$ack>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

STRANGER-TEXT: please send me everything about this inquiry.
MAIL
cat >"$T_DIR/a1.eml" <<MAIL
From: Hans Meier <hans.meier@charite.de>
To: secretariat@icpermed.example
Subject: Out of office: Funding for a genomics project [ICPerMed #1]
Date: Mon, 2 Nov 2026 14:00:00 +0100
Message-ID: <a1@charite.de>
In-Reply-To: <$ack>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

AUTOREPLY-TEXT: I am away until Monday; my deputy is at +49 30 1234.
MAIL
cat >"$T_DIR/b1.eml" <<MAIL
From: Mail Delivery System <MAILER-DAEMON@mx.charite.de>
To: secretariat@icpermed.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Nov 2026 15:00:00 +0100
Message-ID: <b1@mx.charite.de>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

BOUNCE-TEXT: the mail to hans.meier@charite.de could not be delivered (internal host 10.1.2.3).
--r
Content-Type: message/delivery-status

Final-Recipient: rfc822; hans.meier@charite.de
Action: failed
Status: 5.1.1
--r
Content-Type: text/rfc822-headers

From: secretariat@icpermed.example
Subject: Re: Funding for a genomics project [ICPerMed #1]
Message-ID: <$ack>
--r--
MAIL
n=3
for x in x1:mallory@evil.example:followup:STRANGER-TEXT a1:hans.meier@charite.de:autoreply:AUTOREPLY-TEXT \
	b1:MAILER-DAEMON@mx.charite.de:bounce:BOUNCE-TEXT; do
	f=${x%%:*} rest=${x#*:}
	from=${rest%%:*} rest=${rest#*:}
	kind=${rest%%:*} mark=${rest#*:}
	check_rc "$f: ingested" 0 sd ingest "$T_DIR/$f.eml"
	check_eq "$f: filed on ticket 1 as $kind, the newest inbound message" "1 $kind $from" \
		"$(q "SELECT ticket_id || ' ' || kind || ' ' || from_addr FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT 1")"
	check_rc "$f: reply" 0 sd reply 1 -m "STAFF-ANSWER-$n"
	deliver "s$n"
	check_eq "$f: the reply went out" 1 "$(mails "s$n" "len(ms)")"
	check_eq "$f: its text ($mark) is not in the reply" 0 \
		"$(cat "$T_DIR/out/s$n/"* | grep -c "$mark")"
	check_eq "$f: the reply still quotes the inquiry" 1 \
		"$(reply_field "s$n" body | grep -c '^> .*HANS-INQUIRY')"
	check_eq "$f: and goes to Hans and Eva only" "<hans.meier@charite.de> <Eva@Charite.DE>" \
		"$(mails "s$n" "ms[0]['env']")"
	n=$((n + 1))
done

# Hans writes the desk alone (Eva not on Cc): a reply that goes to Eva too
# does not quote it; the inquiry, which Eva had, is quoted instead.
cat >"$T_DIR/f1.eml" <<'MAIL'
From: Hans Meier <hans.meier@charite.de>
To: secretariat@icpermed.example
Subject: Re: Funding for a genomics project [ICPerMed #1]
Date: Mon, 2 Nov 2026 16:00:00 +0100
Message-ID: <f1@charite.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

HANS-PRIVATE: between us, my salary would be paid from the grant.
MAIL
check_rc "Hans's private follow-up is ingested" 0 sd ingest "$T_DIR/f1.eml"
check_eq "on ticket 1 as a follow-up" "1 followup" \
	"$(q "SELECT ticket_id || ' ' || kind FROM messages WHERE message_id = 'f1@charite.de'")"
check_rc "reply" 0 sd reply 1 -m "STAFF-ANSWER-P"
deliver s6
check_eq "the private follow-up is not quoted to Eva" 0 "$(cat "$T_DIR"/out/s6/* | grep -c HANS-PRIVATE)"
check_eq "the inquiry (Eva on its Cc) is" 1 \
	"$(reply_field s6 body | grep -c '^> .*HANS-INQUIRY')"

# Eva answers to all: Hans had it, so it is quoted (addresses compared
# without regard to case).
cat >"$T_DIR/e1.eml" <<'MAIL'
From: Eva Colleague <eva@charite.de>
To: secretariat@icpermed.example
Cc: Hans Meier <HANS.Meier@charite.de>
Subject: Re: Funding for a genomics project [ICPerMed #1]
Date: Mon, 2 Nov 2026 17:00:00 +0100
Message-ID: <e1@charite.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

EVA-SHARED: we would also bring a partner from Lyon.
MAIL
check_rc "Eva's answer to all is ingested" 0 sd ingest "$T_DIR/e1.eml"
check_rc "reply" 0 sd reply 1 -m "STAFF-ANSWER-E"
deliver s7
check_eq "Eva's message, which Hans had, is quoted" 1 \
	"$(reply_field s7 body | grep -c '^> .*EVA-SHARED')"
check_eq "and nothing else of the ticket" "0 0 0 0 0 0" \
	"$(for m in HANS-PRIVATE PARTNER-SECRET STRANGER-TEXT AUTOREPLY-TEXT BOUNCE-TEXT HANS-INQUIRY; do
		cat "$T_DIR"/out/s7/* | grep -c "$m"; done | tr '\n' ' ' | sed 's/ $//')"

# --- 2. Merge keeps people. ---
cat >"$T_DIR/ma.eml" <<'MAIL'
From: Anna Arm <anna@uni-a.example>
To: secretariat@icpermed.example
Subject: Eligibility of a start-up
Date: Tue, 3 Nov 2026 09:00:00 +0000
Message-ID: <ma@uni-a.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

ANNA-TEXT: may a start-up apply?
MAIL
cat >"$T_DIR/mb.eml" <<'MAIL'
From: Bob Bell <bob@uni-b.example>
To: secretariat@icpermed.example
Subject: Start-up eligibility
Date: Tue, 3 Nov 2026 09:30:00 +0000
Message-ID: <mb@uni-b.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

BOB-PRIVATE: my start-up is insolvent, may it still apply?
MAIL
sd ingest "$T_DIR/ma.eml" >/dev/null
sd ingest "$T_DIR/mb.eml" >/dev/null
A=$(q "SELECT ticket_id FROM messages WHERE message_id = 'ma@uni-a.example'")
B=$(q "SELECT ticket_id FROM messages WHERE message_id = 'mb@uni-b.example'")
check_eq "two new tickets" "2 3" "$A $B"
deliver s8
check_rc "merge B A" 0 sd merge "$B" "$A"
check_eq "B's requester is a participant of A" "bob@uni-b.example" \
	"$(q "SELECT group_concat(addr) FROM watchers WHERE ticket_id = $A")"
check_rc "reply to A" 0 sd reply "$A" -m "STAFF-MERGED"
deliver s9
check_eq "To A's requester, B's on Cc, both in the envelope" \
	"Anna Arm <anna@uni-a.example>|bob@uni-b.example|<anna@uni-a.example> <bob@uni-b.example>" \
	"$(mails s9 "'|'.join([ms[0]['to'], ms[0]['cc'], ms[0]['env']])")"
check_eq "B's text is not quoted to A's requester" 0 "$(cat "$T_DIR"/out/s9/* | grep -c BOB-PRIVATE)"
check_eq "nor A's text to B's requester" 0 "$(cat "$T_DIR"/out/s9/* | grep -c ANNA-TEXT)"
check_eq "the reply answers A's requester's message (In-Reply-To), without References of others" \
	"<ma@uni-a.example> <ma@uni-a.example>" "$(reply_field s9 irt) $(reply_field s9 refs)"
check_eq "the staff text is there" 1 "$(reply_field s9 body | grep -c STAFF-MERGED)"
check_eq "and no empty quote (no 'you wrote:')" 0 "$(reply_field s9 body | grep -c 'wrote:')"

# Anna answers to all (Bob on Cc): now quoted; Bob's words still never.
cat >"$T_DIR/ma2.eml" <<MAIL
From: Anna Arm <anna@uni-a.example>
To: secretariat@icpermed.example
Cc: bob@uni-b.example
Subject: Re: Eligibility of a start-up [ICPerMed #$A]
Date: Tue, 3 Nov 2026 12:00:00 +0000
Message-ID: <ma2@uni-a.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

ANNA-TO-ALL: thank you both.
MAIL
sd ingest "$T_DIR/ma2.eml" >/dev/null
check_rc "reply to A again" 0 sd reply "$A" -m "STAFF-MERGED-2"
deliver s10
check_eq "Anna's message to all is quoted, Bob's is not" "1 0" \
	"$(reply_field s10 body | grep -c '^> .*ANNA-TO-ALL') $(cat "$T_DIR"/out/s10/* | grep -c BOB-PRIVATE)"

# A bounce that opened a ticket of its own, merged in: its sender never
# becomes a participant.
sed -e 's/<b1@mx.charite.de>/<b2@mx.other.example>/' -e "s/<$ack>/<nobody-knows@elsewhere.example>/" \
	-e 's/ \[ICPerMed #1\]$//' "$T_DIR/b1.eml" >"$T_DIR/b2.eml"
sd ingest "$T_DIR/b2.eml" >/dev/null
C=$(q "SELECT ticket_id FROM messages WHERE message_id = 'b2@mx.other.example'")
check "the stray bounce has a ticket of its own" [ "${C:-0}" -gt "$B" ]
check_rc "merge the bounce's ticket into A" 0 sd merge "$C" "$A"
check_eq "MAILER-DAEMON is no participant" "bob@uni-b.example" \
	"$(q "SELECT group_concat(addr) FROM watchers WHERE ticket_id = $A")"

# Anna's own duplicate, merged in: she is A's requester, no participant.
sed -e 's/<ma@uni-a.example>/<ma3@uni-a.example>/' -e 's/^Subject: .*/Subject: Start-up question again/' \
	"$T_DIR/ma.eml" >"$T_DIR/ma3.eml"
sd ingest "$T_DIR/ma3.eml" >/dev/null
D=$(q "SELECT ticket_id FROM messages WHERE message_id = 'ma3@uni-a.example'")
check_rc "merge Anna's duplicate into A" 0 sd merge "$D" "$A"
check_eq "the requester herself is no participant" "bob@uni-b.example" \
	"$(q "SELECT group_concat(addr) FROM watchers WHERE ticket_id = $A")"

# A merged ticket refuses triage, naming the ticket it went into.
before=$(q "SELECT count(*) FROM events WHERE ticket_id = $B")
for cmd in "status $B open" "assign $B bob" "take $B" "tag $B x" "untag $B x" "route $B FR" \
	"note $B -m hello" "reply $B -m hello" "merge $B 1" "merge 1 $B"; do
	# shellcheck disable=SC2086
	check_rc "'$cmd' on the merged ticket: bad data (65)" 65 sd $cmd
	check "'$cmd': the error names #$A" grep -q "#$A" "$T_DIR/.err"
done
check_eq "the merged ticket did not change" "$before closed $A" \
	"$(q "SELECT count(*) FROM events WHERE ticket_id = $B") $(q "SELECT status || ' ' || merged_into FROM tickets WHERE id = $B")"
check_eq "nothing was queued for it" 0 "$(q "SELECT count(*) FROM outbox WHERE ticket_id = $B AND status = 'pending'")"
EDITOR=false VISUAL= sd reply "$B" >/dev/null 2>"$T_DIR/ed.err"
rc=$?
check_eq "reply through the editor is refused before the editor runs" "65 1" \
	"$rc $(grep -c "merged into #$A" "$T_DIR/ed.err")"

# stats and list agree on what is open.
sd status 1 resolved >/dev/null
sd stats --json >"$T_DIR/st.json"
for s in new open pending resolved closed; do
	check_eq "status $s: list and stats agree" \
		"$(sd list --json --status "$s" | jq_ 'len(d)')" \
		"$(jq_ "d['by_status']['$s']" <"$T_DIR/st.json")"
done
check_eq "waiting: list --status new,open,pending and stats agree" \
	"$(sd list --json --status new,open,pending | jq_ 'len(d)')" "$(jq_ 'd["waiting"]' <"$T_DIR/st.json")"
check_eq "total: list and stats agree" "$(sd list --json | jq_ 'len(d)')" "$(jq_ 'd["total"]' <"$T_DIR/st.json")"
check_eq "merged tickets are listed nowhere" "[]" \
	"$(sd list --json | jq_ "[t['id'] for t in d if t['id'] in ($B, $C, $D)]")"

done_testing

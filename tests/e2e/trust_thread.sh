#!/bin/sh
# Who may steer a ticket from outside (issue 15, points 3, 12 and 15):
# automatic mail joins a ticket only by a Message-ID the desk sent, never
# by a tag in its body or its returned headers, and adds no watchers; a
# stranger's Cc never watches an existing ticket; a reused Message-ID with
# other content is stored and flagged, the same mail again is stored once;
# a From that failed DMARC at the trusted MX joins nothing and gets no ack.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sed -i 's/^after = seen$/after = seen\ntrusted_authserv_id = mx.icpermed.example/' "$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# jq_ EXPR: EXPR over the JSON document d read from stdin.
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# show_ ID EXPR: EXPR over ticket ID's show --json.
show_() { sd show "$1" --json | jq_ "$2"; }
watchers() { show_ "$1" '",".join(d["watchers"])'; }
acks_to() { sd outbox --json | jq_ "len([o for o in d if o['kind'] == 'ack' and o['ticket'] == $1])"; }
nin() { show_ "$1" 'len([m for m in d["messages"] if m["direction"] == "in"])'; }
ntickets() { sd list --json | jq_ 'len(d)'; }

# Ticket #1: a requester who copies a colleague.
cat >"$T_DIR/q1.eml" <<'MAIL'
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Cc: colleague@example.org
Subject: A question about the joint call
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <q1@example.org>
Authentication-Results: mx.icpermed.example; dmarc=pass header.from=example.org

When does the next call open?
MAIL
check_eq "the inquiry opens ticket #1" "new ticket #1" "$(sd ingest "$T_DIR/q1.eml")"
check_eq "its Cc watches it" colleague@example.org "$(watchers 1)"
check_eq "a requester that passed DMARC gets the ack" 1 "$(acks_to 1)"
ackid=$(show_ 1 '[m for m in d["messages"] if m["direction"] == "out"][0]["message_id"]')
check "the ack has a Message-ID" [ -n "$ackid" ]

# --- point 3: automatic mail ---

# A forged bounce: a tag in its body (a "returned" Subject line) and
# another in the returned headers, Cc addresses that want the replies.
cat >"$T_DIR/forged1.eml" <<'MAIL'
From: MAILER-DAEMON@evil.example
To: secretariat@icpermed.example
Cc: spy1@evil.example, spy2@evil.example
Subject: failure notice
Date: Mon, 2 Nov 2026 11:00:00 +0000
Message-ID: <forged1@evil.example>
X-Failed-Recipients: person@example.org

Hi. This is the qmail-send program at evil.example.

--- Below this line is a copy of the message.

From: secretariat@icpermed.example
Subject: Re: [ICPerMed #1] A question about the joint call
Message-ID: <not-a-desk-id@evil.example>

Thank you.
MAIL
check_eq "a forged bounce with the tag in its body opens a ticket of its own" \
	"new ticket #2" "$(sd ingest "$T_DIR/forged1.eml")"
check_eq "ticket #1 keeps its one watcher" colleague@example.org "$(watchers 1)"
check_eq "the forged bounce's Cc watch nothing" "" "$(watchers 2)"
check_eq "it is marked as a possible follow-up of #1" 1 "$(show_ 2 'd["related_to"]')"
check_eq "and gets no ack" 0 "$(acks_to 2)"

# A forged DSN: multipart/report whose returned headers carry the tag and
# the requester's own Message-ID (known to everyone she wrote to), not one
# the desk sent.
cat >"$T_DIR/forged2.eml" <<'MAIL'
From: Mail Delivery System <MAILER-DAEMON@evil.example>
To: secretariat@icpermed.example
Cc: spy3@evil.example
Subject: Undelivered Mail Returned to Sender [ICPerMed #1]
Date: Mon, 2 Nov 2026 11:05:00 +0000
Message-ID: <forged2@evil.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

The mail could not be delivered.
--r
Content-Type: message/delivery-status

Final-Recipient: rfc822; person@example.org
Action: failed
Status: 5.1.1
--r
Content-Type: text/rfc822-headers

From: person@example.org
Subject: [ICPerMed #1] A question about the joint call
Message-ID: <q1@example.org>
--r--
MAIL
check_eq "a forged DSN naming the tag and a requester's Message-ID is not joined" \
	"new ticket #3" "$(sd ingest "$T_DIR/forged2.eml")"
check_eq "ticket #1 still has its one watcher" colleague@example.org "$(watchers 1)"
check_eq "ticket #1 holds only the inquiry" 1 "$(nin 1)"

# A real bounce of the desk's ack: the returned Message-ID is the desk's.
cat >"$T_DIR/real.eml" <<MAIL
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: secretariat@icpermed.example
Cc: postmaster@mx.example.org
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Nov 2026 11:10:00 +0000
Message-ID: <real-bounce@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

The mail could not be delivered.
--r
Content-Type: message/delivery-status

Final-Recipient: rfc822; colleague@example.org
Action: failed
Status: 5.1.1
--r
Content-Type: text/rfc822-headers

From: secretariat@icpermed.example
To: person@example.org
Subject: an acknowledgement
Message-ID: <$ackid>
--r--
MAIL
check_eq "a bounce of the desk's own ack joins its ticket" "added to ticket #1" \
	"$(sd ingest "$T_DIR/real.eml")"
check_eq "its Cc watch nothing" colleague@example.org "$(watchers 1)"

# An auto-reply to the ack.
cat >"$T_DIR/vacation.eml" <<MAIL
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Cc: deputy@example.org
Subject: Out of office: your inquiry
Date: Mon, 2 Nov 2026 11:15:00 +0000
Message-ID: <vacation1@example.org>
In-Reply-To: <$ackid>
Auto-Submitted: auto-replied

I am away until Monday.
MAIL
check_eq "an auto-reply to the desk's Message-ID joins the ticket" "added to ticket #1" \
	"$(sd ingest "$T_DIR/vacation.eml")"
check_eq "without adding watchers" colleague@example.org "$(watchers 1)"

# An auto-reply that names only the requester's Message-ID.
cat >"$T_DIR/vacation2.eml" <<'MAIL'
From: Robot <robot@elsewhere.example>
To: secretariat@icpermed.example
Subject: Automatic reply: A question about the joint call
Date: Mon, 2 Nov 2026 11:20:00 +0000
Message-ID: <vacation2@elsewhere.example>
In-Reply-To: <q1@example.org>
References: <q1@example.org>
Auto-Submitted: auto-replied

I am away.
MAIL
check_eq "an auto-reply naming a Message-ID the desk did not send is not joined" \
	"new ticket #4" "$(sd ingest "$T_DIR/vacation2.eml")"

# A stranger's reply by References joins (people thread by Message-ID),
# but the stranger's Cc do not start watching somebody else's ticket.
cat >"$T_DIR/stranger.eml" <<'MAIL'
From: Someone <someone@elsewhere.example>
To: secretariat@icpermed.example
Cc: spy4@evil.example
Subject: Re: A question about the joint call
Date: Mon, 2 Nov 2026 11:25:00 +0000
Message-ID: <stranger1@elsewhere.example>
References: <q1@example.org>

Me too.
MAIL
check_eq "a stranger's reply by References joins ticket #1" "added to ticket #1" \
	"$(sd ingest "$T_DIR/stranger.eml")"
check_eq "a stranger's Cc never watches an existing ticket" colleague@example.org \
	"$(watchers 1)"
# The requester herself may copy somebody in.
cat >"$T_DIR/requester.eml" <<'MAIL'
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Cc: boss@example.org
Subject: Re: [ICPerMed #1] A question about the joint call
Date: Mon, 2 Nov 2026 11:30:00 +0000
Message-ID: <q2@example.org>
Authentication-Results: mx.icpermed.example; dmarc=pass header.from=example.org

Adding my boss.
MAIL
check_eq "the requester's tag joins ticket #1" "added to ticket #1" \
	"$(sd ingest "$T_DIR/requester.eml")"
check_eq "and her Cc watch it" "boss@example.org,colleague@example.org" "$(watchers 1)"

# A stranger's tag stays a ticket of its own, a possible follow-up.
make_mail "$T_DIR/tag.eml" tag1@elsewhere.example someone@elsewhere.example \
	"[ICPerMed #1] let me in"
check_eq "a stranger's tag opens a new ticket" "new ticket #5" "$(sd ingest "$T_DIR/tag.eml")"
check_eq "flagged as a possible follow-up of #1" "1 True" \
	"$(show_ 5 'str(d["related_to"]) + " " + str("possible-followup" in d["flags"])')"

# --- point 12: what is a duplicate ---

make_mail "$T_DIR/d1.eml" same@example.net writer@example.net "Budget question"
check_eq "a new inquiry" "new ticket #6" "$(sd ingest "$T_DIR/d1.eml")"
check_eq "the same bytes again are stored once" "already stored" "$(sd ingest "$T_DIR/d1.eml")"
{
	echo "Received: from relay.example.net by mx.icpermed.example; Mon, 2 Nov 2026 10:00:09 +0000"
	echo "Received: from laptop by relay.example.net; Mon, 2 Nov 2026 10:00:05 +0000"
	sed 's/^Best regards$/Best regards   /' "$T_DIR/d1.eml"
	echo
} >"$T_DIR/d1-path2.eml"
check_eq "the same mail over another path (other Received, trailing blanks) is stored once" \
	"already stored" "$(sd ingest "$T_DIR/d1-path2.eml")"
sed 's/^I would like to know more about the next joint transnational call\.$/Please wire the grant to account 12345./' \
	"$T_DIR/d1.eml" >"$T_DIR/d1-other.eml"
check "the changed copy differs in its body" sh -c "! cmp -s '$T_DIR/d1.eml' '$T_DIR/d1-other.eml'"
out=$(sd ingest "$T_DIR/d1-other.eml")
check_eq "the same Message-ID and sender with another body is stored" "new ticket #7" "$out"
n=$(store_sql "$d" "SELECT count(*) FROM messages WHERE message_id = 'same@example.net'")
check_eq "two messages carry that Message-ID" 2 "$n"
check_eq "the second is flagged message-id-reused" "[] ['message-id-reused']" \
	"$(show_ 6 'd["messages"][0]["flags"]') $(show_ 7 'd["messages"][0]["flags"]')"
check "show says so" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 7 | grep -q 'message-id-reused'"
check "its body is there to read" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 7 --json | grep -q 'account 12345'"
check_eq "the changed copy again is stored once" "already stored" \
	"$(sd ingest "$T_DIR/d1-other.eml")"
sed 's/^Subject: Budget question$/Subject: Budget question (corrected)/' "$T_DIR/d1.eml" \
	>"$T_DIR/d1-subject.eml"
check_eq "another subject is other content too" "new ticket #8" \
	"$(sd ingest "$T_DIR/d1-subject.eml")"
# Another attachment under the same Message-ID, sender, subject and body.
att_mail() {
	cat <<MAIL
From: Writer <writer@example.net>
To: secretariat@icpermed.example
Subject: The form
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <att@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

The form is attached.
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="form.bin"
Content-Transfer-Encoding: base64

$1
--b--
MAIL
}
att_mail "Zm9ybSB2ZXJzaW9uIDE=" >"$T_DIR/a1.eml"
att_mail "Zm9ybSB2ZXJzaW9uIDI=" >"$T_DIR/a2.eml"
check_eq "a mail with an attachment" "new ticket #9" "$(sd ingest "$T_DIR/a1.eml")"
check_eq "the same Message-ID, text and sender with another attachment is stored" \
	"new ticket #10" "$(sd ingest "$T_DIR/a2.eml")"
check_eq "flagged message-id-reused" "['message-id-reused']" \
	"$(show_ 10 'd["messages"][0]["flags"]')"

# --- point 15: DMARC at the trusted MX ---

nq=$(ntickets)
cat >"$T_DIR/spoof1.eml" <<'MAIL'
Received: from attacker.example by mx.icpermed.example; Mon, 2 Nov 2026 12:00:00 +0000
Authentication-Results: mx.icpermed.example; spf=fail smtp.mailfrom=example.org;
 dmarc=fail (p=reject dis=none) header.from=example.org
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Cc: spy5@evil.example
Subject: Re: [ICPerMed #1] change of bank details
Date: Mon, 2 Nov 2026 12:00:00 +0000
Message-ID: <spoof1@attacker.example>

Please send everything to my new address.
MAIL
check_eq "the requester's tag with DMARC failed at the trusted MX opens a ticket" \
	"new ticket $((nq + 1))" "$(sd ingest "$T_DIR/spoof1.eml" | sed 's/#//')"
t=$((nq + 1))
check_eq "flagged as a possible follow-up of #1" "1 True" \
	"$(show_ $t 'str(d["related_to"]) + " " + str("possible-followup" in d["flags"])')"
check_eq "the message is flagged dmarc-fail" "['dmarc-fail']" \
	"$(show_ $t 'd["messages"][0]["flags"]')"
check_eq "no ack goes to a From that failed DMARC" 0 "$(acks_to $t)"
check_eq "its Cc watch nothing" "" "$(watchers $t)"
check_eq "ticket #1 keeps its watchers" "boss@example.org,colleague@example.org" "$(watchers 1)"

cat >"$T_DIR/spoof2.eml" <<MAIL
Authentication-Results: mx.icpermed.example; dmarc=fail header.from=example.org
Received: from attacker.example by mx.icpermed.example; Mon, 2 Nov 2026 12:05:00 +0000
Authentication-Results: mx.icpermed.example; dmarc=pass header.from=example.org
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Subject: Re: your acknowledgement
Date: Mon, 2 Nov 2026 12:05:00 +0000
Message-ID: <spoof2@attacker.example>
In-Reply-To: <$ackid>

Reply by Message-ID, a forged pass below.
MAIL
t=$((nq + 2))
check_eq "DMARC failed: not joined by the desk's Message-ID either, a forged pass below" \
	"new ticket $t" "$(sd ingest "$T_DIR/spoof2.eml" | sed 's/#//')"
check_eq "a possible follow-up of #1, no ack" "1 0" "$(show_ $t 'd["related_to"]') $(acks_to $t)"

# A stranger who fails DMARC: a new ticket as ever, without an ack.
cat >"$T_DIR/spoof3.eml" <<'MAIL'
Authentication-Results: mx.icpermed.example; dmarc=fail header.from=funder.example
From: Director <director@funder.example>
To: secretariat@icpermed.example
Subject: Urgent payment
Date: Mon, 2 Nov 2026 12:10:00 +0000
Message-ID: <spoof3@attacker.example>

Pay now.
MAIL
t=$((nq + 3))
check_eq "a stranger failing DMARC opens a ticket" "new ticket $t" \
	"$(sd ingest "$T_DIR/spoof3.eml" | sed 's/#//')"
check_eq "without an ack" 0 "$(acks_to $t)"
check "the ticket's events say why" sh -c "'$SECDESK' -c '$d/secdesk.conf' show $t --json | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(e['what']=='dmarc-fail' for e in d['events']) else 1)\""
sed -e 's/dmarc=fail/dmarc=pass/' -e 's/<spoof3@/<pass3@/' "$T_DIR/spoof3.eml" >"$T_DIR/pass3.eml"
t=$((nq + 4))
check_eq "the same mail with dmarc=pass opens a ticket" "new ticket $t" \
	"$(sd ingest "$T_DIR/pass3.eml" | sed 's/#//')"
check_eq "and gets its ack" 1 "$(acks_to $t)"

# dmarc=fail from an authserv-id that is not the trusted one: ignored.
cat >"$T_DIR/other-id.eml" <<'MAIL'
Authentication-Results: mx.elsewhere.example; dmarc=fail header.from=example.org
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Subject: Re: [ICPerMed #1] one more thing
Date: Mon, 2 Nov 2026 12:15:00 +0000
Message-ID: <q3@example.org>

And another question.
MAIL
check_eq "dmarc=fail from another authserv-id is ignored" "added to ticket #1" \
	"$(sd ingest "$T_DIR/other-id.eml")"
# A forged fail below the MX's own block: not read either.
cat >"$T_DIR/below.eml" <<'MAIL'
Authentication-Results: mx.icpermed.example; dmarc=pass header.from=example.org
Received: from relay.example.org by mx.icpermed.example; Mon, 2 Nov 2026 12:20:00 +0000
Authentication-Results: mx.icpermed.example; dmarc=fail header.from=example.org
From: Ana Person <person@example.org>
To: secretariat@icpermed.example
Subject: Re: [ICPerMed #1] and a last one
Date: Mon, 2 Nov 2026 12:20:00 +0000
Message-ID: <q4@example.org>

Last question.
MAIL
check_eq "a trusted-id field below the MX's own block is not read" "added to ticket #1" \
	"$(sd ingest "$T_DIR/below.eml")"

# Without [mailbox] trusted_authserv_id nothing is read.
d2=$T_DIR/plain
make_config "$d2"
"$SECDESK" -c "$d2/secdesk.conf" ingest "$T_DIR/q1.eml" >/dev/null
sed 's/^Message-ID: <spoof1@attacker.example>$/Message-ID: <spoof1b@attacker.example>/' \
	"$T_DIR/spoof1.eml" >"$T_DIR/spoof1b.eml"
check_eq "without trusted_authserv_id, Authentication-Results are not read" \
	"added to ticket #1" "$("$SECDESK" -c "$d2/secdesk.conf" ingest "$T_DIR/spoof1b.eml")"

check_rc "db check passes" 0 sd db check
done_testing

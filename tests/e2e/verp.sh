#!/bin/sh
# The desk's bounce address (issue 21): partner notices and staff replies go
# out with the envelope sender secretariat+bounce-OUTBOXID-CHECK@...,
# acknowledgements with the null sender; a bounce to that address joins the
# ticket of the mail it returns (whatever else it carries) and flags it
# with "notice-bounced" / "reply-bounced" naming the recipient; a bounce
# address with a wrong check joins nothing.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
# retpath KIND: the Return-Path of the outbox file of the mail of that kind
retpath() {
	f=$(grep -l "^Message-ID: <$(q "SELECT message_id FROM messages WHERE kind = '$1' ORDER BY id DESC LIMIT 1")>" "$d"/outbox/*)
	sed -n 's/^Return-Path: //p' "$f"
}
# verp KIND: the bounce address the desk should use for its last mail of KIND
verp() {
	oid=$(q "SELECT id FROM outbox WHERE kind = '$1' ORDER BY id DESC LIMIT 1")
	mid=$(q "SELECT message_id FROM messages WHERE kind = '$1' ORDER BY id DESC LIMIT 1")
	echo "secretariat+bounce-$oid-$(printf %s "$mid" | sha256sum | cut -c1-8)@icpermed.example"
}
# dsn FILE TO RCPT: a Postfix-style bounce to TO about RCPT, whose returned
# headers carry neither the tag nor a known Message-ID.
dsn() {
	cat >"$1" <<MAIL
Return-Path: <>
Delivered-To: $2
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: $2
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"
Message-Id: <dsn-$$-$(basename "$1")@mx.example.net>
Date: Tue, 3 Nov 2026 10:00:00 +0000

--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<$3>: host mx.example.net said: 550 5.1.1 no such user

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; $3
Action: failed
Status: 5.1.1

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: someone@icpermed.example
To: $3
Subject: a mail
Message-ID: <unrelated-$(basename "$1")@nowhere.example>

--B1--
MAIL
}

cat >"$T_DIR/m1.eml" <<'MAIL'
From: Hans Meier <hans.meier@charite.de>
To: secretariat@icpermed.example
Subject: Funding for a genomics project
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <inq-v1@charite.de>

Hello, can a hospital in Berlin lead a consortium?
MAIL
check_rc "ingest an inquiry routed to a partner" 0 sd ingest "$T_DIR/m1.eml"
check_rc "send" 0 sd send
check_eq "the acknowledgement has the null envelope sender" "<>" "$(retpath ack)"
check_eq "the partner notice has the desk's bounce address" "<$(verp notice)>" "$(retpath notice)"
check_rc "a staff reply" 0 env SECDESK_USER=maria "$SECDESK" -c "$d/secdesk.conf" reply 1 -m "Yes, it can."
check_rc "send the reply" 0 sd send
check_eq "the reply has the desk's bounce address" "<$(verp reply)>" "$(retpath reply)"

# The partner's address is dead: its bounce comes back to the notice's address.
dsn "$T_DIR/b1.eml" "$(verp notice)" partner-de@icpermed.example
check_eq "the notice's bounce joins the ticket" "added to ticket #1" "$(sd ingest "$T_DIR/b1.eml")"
check_eq "an event says the notice to the partner bounced" "partner-de@icpermed.example" \
	"$(q "SELECT new_value FROM events WHERE ticket_id = 1 AND what = 'notice-bounced'")"
check "the ticket is flagged" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 1 --json | python3 -c \"import json,sys; sys.exit(0 if 'send-failed' in json.load(sys.stdin)['flags'] else 1)\""
check "show says so" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 1 | grep -q 'notice-bounced'"
dsn "$T_DIR/b2.eml" "$(verp reply)" hans.meier@charite.de
check_eq "the reply's bounce joins the ticket" "added to ticket #1" "$(sd ingest "$T_DIR/b2.eml")"
check_eq "with reply-bounced" "hans.meier@charite.de" \
	"$(q "SELECT new_value FROM events WHERE ticket_id = 1 AND what = 'reply-bounced'")"

# A guessed bounce address (right outbox number, wrong check) joins nothing.
forged=$(verp notice | sed 's/-[0-9a-f]\{8\}@/-00000000@/')
dsn "$T_DIR/b3.eml" "$forged" partner-de@icpermed.example
check_eq "a forged bounce address opens a ticket of its own" "new ticket #2" "$(sd ingest "$T_DIR/b3.eml")"
check_eq "and adds no bounce event to #1" 2 \
	"$(q "SELECT count(*) FROM events WHERE ticket_id = 1 AND what LIKE '%-bounced'")"
done_testing

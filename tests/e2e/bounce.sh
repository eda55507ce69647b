#!/bin/sh
# A bounce of the desk's own acknowledgement joins the ticket it came from:
# the parser finds the returned Message-ID in a multipart/report and in a
# plain-text bounce (qmail style); ingest files the bounce on that ticket,
# flagged, and sends no acknowledgement to it.
. "$TOP/tests/lib.sh"
make_config "$T_DIR/desk"
conf=$T_DIR/desk/secdesk.conf
make_mail "$T_DIR/q.eml" q1@example.org person@example.org "A question"
check_rc "the inquiry is ingested" 0 "$SECDESK" -c "$conf" ingest "$T_DIR/q.eml"
ackid=$(store_sql "$T_DIR/desk" "SELECT message_id FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1")
check "the acknowledgement has a Message-ID" [ -n "$ackid" ]
cat >"$T_DIR/b1.eml" <<MAIL
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: secretariat@icpermed.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Nov 2026 11:00:00 +0000
Message-ID: <bounce-b1@mx.example.org>
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

From: secretariat@icpermed.example
To: person@example.org
Subject: an acknowledgement, without the tag
Message-ID: <$ackid>
--r--
MAIL
check_rc "the DSN is ingested" 0 "$SECDESK" -c "$conf" ingest "$T_DIR/b1.eml"
cat >"$T_DIR/b2.eml" <<MAIL
From: MAILER-DAEMON@mail.example.net
To: secretariat@icpermed.example
Subject: failure notice
Date: Mon, 2 Nov 2026 11:05:00 +0000
Message-ID: <bounce-b2@mail.example.net>

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.

<person@example.org>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <secretariat@icpermed.example>
From: secretariat@icpermed.example
Subject: an acknowledgement, again
Message-ID: <$ackid>

Thank you for your inquiry.
MAIL
check_rc "the qmail bounce is ingested" 0 "$SECDESK" -c "$conf" ingest "$T_DIR/b2.eml"
"$SECDESK" -c "$conf" show 1 --json >"$T_DIR/show.json"
check_eq "both bounces joined ticket 1" 3 "$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(len([m for m in d['messages'] if m['direction'] == 'in']))" "$T_DIR/show.json")"
check_eq "still one ticket" 1 "$("$SECDESK" -c "$conf" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "both flagged as bounces in the store" 2 "$(store_sql "$T_DIR/desk" "SELECT count(*) FROM messages WHERE direction = 'in' AND flags & 2 <> 0")"
check_eq "one acknowledgement only (none to the bounces)" 1 "$(store_sql "$T_DIR/desk" "SELECT count(*) FROM outbox WHERE kind = 'ack'")"
done_testing

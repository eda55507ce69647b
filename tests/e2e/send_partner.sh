#!/bin/sh
# Partner notifications end to end, through a real SMTP server on loopback
# (tests/harness/smtpd.py) and the shipped rules:
#  - an inquiry routed to a partner queue sends the queue's contacts the
#    partner template: the bytes received are checked (envelope, Reply-To
#    the desk, the tag, RFC 3834 headers, the quoted inquiry);
#  - the partner's answer (In-Reply-To the notice, or the tag alone) lands
#    on the same ticket as partner correspondence (show --json field by
#    field) and gets no acknowledgement;
#  - the contact of another queue and a stranger using the tag open new
#    tickets flagged as possible follow-ups (as tests/e2e/ingest.sh checks
#    for strangers), and never touch the tagged ticket;
#  - secdesk route notifies the new queue, whose contact then threads;
#  - the ticket's copy of a notice leaves out its quote of the inquiry.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"

if ! smtpd_available; then
	skip "python3-aiosmtpd is not installed"
	done_testing
	exit 0
fi
d=$T_DIR/desk
make_config "$d"
# The notices here are the English ones (partner.en.txt, ASCII): the German
# partner's own template is left out, so that these checks stay on the
# bytes of the notice (templates_lang.sh checks every language's).
mkdir -p "$d/tpl"
cp -R "$TOP/templates/." "$d/tpl/"
rm "$d/tpl/partner.de.txt"
sed -i "s|^dir = $TOP/templates|dir = $d/tpl|" "$d/secdesk.conf"
smtpd_start "$T_DIR/smtp" --pipelining || { not_ok "smtp server starts"; done_testing; exit 1; }
at_exit smtpd_stop
smtpd_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
# js FILE EXPR: a Python expression over the JSON document j in FILE
js() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# rcv RCPT: the base name of the last mail the server received for RCPT
rcv() {
	for _e in $(ls "$SMTPD_DIR"/rcv/*.env | sort -r); do
		if grep -q "\"$1\"" "$_e"; then
			echo "${_e%.env}"
			return
		fi
	done
}

# --- 1. a new inquiry routed to Germany (by the sender's domain) ---
cat >"$T_DIR/m1.eml" <<'MAIL'
From: Hans Meier <hans.meier@charite.de>
To: secretariat@icpermed.example
Subject: Funding for a genomics project
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <inq-p1@charite.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello, I have a question about the next call.
Can a hospital in Berlin lead a consortium?
MAIL
check_rc "ingest the inquiry" 0 sd ingest "$T_DIR/m1.eml"
check_eq "routed to the German queue" DE "$(q "SELECT queue FROM tickets WHERE id = 1")"
check_eq "a notice queued to the queue's contact" "notice partner-de@icpermed.example" \
	"$(q "SELECT kind || ' ' || rcpts FROM outbox WHERE kind = 'notice'")"
check_eq "an event says who was notified" 1 \
	"$(q "SELECT count(*) FROM events WHERE ticket_id = 1 AND what = 'notified' AND new_value = 'DE'")"
check_rc "send" 0 sd send
check_eq "ack and notice at the server" 2 "$(smtpd_count)"
nid=$(q "SELECT message_id FROM messages WHERE ticket_id = 1 AND kind = 'notice'")
base=$(rcv partner-de@icpermed.example)
check "the server got the notice" test -n "$base"

python3 - "$base" "$nid" >"$T_DIR/n.out" 2>&1 <<'PY'
import email, email.policy, json, sys
base, nid = sys.argv[1], sys.argv[2]
raw = open(base + ".eml", "rb").read()
env = json.load(open(base + ".env"))
m = email.message_from_bytes(raw, policy=email.policy.default)
head = raw.split(b"\r\n\r\n", 1)[0]
def out(k, v):
    print("%s=%s" % (k, v))
out("mail_from", env["mail_from"] or "<>")
out("rcpt", ",".join(env["rcpt_tos"]))
out("from", m["From"])
out("to", m["To"])
out("reply_to", m["Reply-To"])
out("subject", m["Subject"])
out("auto", m["Auto-Submitted"])
out("suppress", m["X-Auto-Response-Suppress"])
out("msgid", m["Message-ID"] == "<%s>" % nid)
out("date", m["Date"] is not None)
out("ascii_head", all(b < 128 for b in head))
out("short_lines", max(len(l) for l in head.split(b"\r\n")) <= 78)
out("one_reply_to", len(m.get_all("Reply-To", [])))
body = m.get_content()
out("quoted", "> Can a hospital in Berlin lead a consortium?" in body)
out("names_requester", "hans.meier@charite.de" in body)
out("says_how", "[ICPerMed #1]" in body)
PY
r() { sed -n "s/^$1=//p" "$T_DIR/n.out"; }
check_eq "notice: the desk's bounce address as envelope sender (VERP)" \
	"secretariat+bounce-$(q "SELECT id FROM outbox WHERE kind = 'notice'")-$(printf %s "$nid" | sha256sum | cut -c1-8)@icpermed.example" \
	"$(r mail_from)"
check_eq "notice: envelope recipient the contact" partner-de@icpermed.example "$(r rcpt)"
check_eq "notice: From the desk" "ICPerMed Secretariat <secretariat@icpermed.example>" "$(r from)"
check_eq "notice: To the contact" partner-de@icpermed.example "$(r to)"
check_eq "notice: Reply-To the desk" "ICPerMed Secretariat <secretariat@icpermed.example>" \
	"$(r reply_to)"
check_eq "notice: exactly one Reply-To" 1 "$(r one_reply_to)"
check_eq "notice: subject with queue and tag" \
	"New inquiry for Germany: Funding for a genomics project [ICPerMed #1]" "$(r subject)"
check_eq "notice: Auto-Submitted" auto-replied "$(r auto)"
check_eq "notice: X-Auto-Response-Suppress" All "$(r suppress)"
check_eq "notice: Message-ID as recorded on the ticket" True "$(r msgid)"
check_eq "notice: Date" True "$(r date)"
check_eq "notice: ASCII header" True "$(r ascii_head)"
check_eq "notice: header lines under 78" True "$(r short_lines)"
check_eq "notice: quotes the inquiry" True "$(r quoted)"
check_eq "notice: names the requester" True "$(r names_requester)"
check_eq "notice: asks to keep the tag" True "$(r says_how)"

# --- 2. the partner answers the notice (In-Reply-To, no tag) ---
cat >"$T_DIR/p1.eml" <<MAIL
From: Petra Partner <partner-de@icpermed.example>
To: ICPerMed Secretariat <secretariat@icpermed.example>
Subject: Re: the Berlin question
Date: Tue, 3 Nov 2026 09:00:00 +0100
Message-ID: <partner-ans-1@icpermed.example>
In-Reply-To: <$nid>
References: <$nid>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Yes, a hospital may lead. I will write to him.
MAIL
check_rc "ingest the partner's answer" 0 sd ingest "$T_DIR/p1.eml"
check "it says follow-up of #1" grep -q "#1" "$T_DIR/.out"
check_eq "no new ticket" 1 "$(q "SELECT count(*) FROM tickets")"
check_eq "no acknowledgement to the partner" 1 "$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")"
check_eq "no automatic mail at all to the partner address" 1 \
	"$(q "SELECT count(*) FROM outbox WHERE rcpts LIKE '%partner-de%'")"
sd show 1 --json >"$T_DIR/show1.json"
m='[x for x in j["messages"] if x["message_id"] == "partner-ans-1@icpermed.example"][0]'
check_eq "show: the answer is on ticket 1" 1 \
	"$(js "$T_DIR/show1.json" "len([x for x in j['messages'] if x['message_id'] == 'partner-ans-1@icpermed.example'])")"
check_eq "show: direction" in "$(js "$T_DIR/show1.json" "$m['direction']")"
check_eq "show: kind partner" partner "$(js "$T_DIR/show1.json" "$m['kind']")"
check_eq "show: partner flag" True "$(js "$T_DIR/show1.json" "$m['partner']")"
check_eq "show: not automatic" False "$(js "$T_DIR/show1.json" "$m['automatic']")"
check_eq "show: from" partner-de@icpermed.example "$(js "$T_DIR/show1.json" "$m['from']")"
check_eq "show: from_name" "Petra Partner" "$(js "$T_DIR/show1.json" "$m['from_name']")"
check_eq "show: to" "ICPerMed Secretariat <secretariat@icpermed.example>" \
	"$(js "$T_DIR/show1.json" "$m['to']")"
check_eq "show: subject" "Re: the Berlin question" "$(js "$T_DIR/show1.json" "$m['subject']")"
check_eq "show: in_reply_to the notice" "$nid" "$(js "$T_DIR/show1.json" "$m['in_reply_to']")"
check_eq "show: date" 2026-11-03T08:00:00Z "$(js "$T_DIR/show1.json" "$m['date']")"
check_eq "show: body" "Yes, a hospital may lead. I will write to him." \
	"$(js "$T_DIR/show1.json" "$m['body'].strip()")"
check_eq "show: the requester is unchanged" hans.meier@charite.de \
	"$(js "$T_DIR/show1.json" "j['requester']")"
check_eq "show: the queue is unchanged" DE "$(js "$T_DIR/show1.json" "j['queue']")"
check_eq "show: a message event names the partner" 1 \
	"$(js "$T_DIR/show1.json" "len([e for e in j['events'] if e['what'] == 'message' and e['new'] == 'partner-de@icpermed.example'])")"
check_eq "show: no no-ack or ack for it (one ack in all)" 1 \
	"$(js "$T_DIR/show1.json" "len([x for x in j['messages'] if x['kind'] == 'ack'])")"
check_eq "the partner is not made a watcher" 0 "$(q "SELECT count(*) FROM watchers")"
check_rc "send" 0 sd send
check_eq "nothing more was sent" 2 "$(smtpd_count)"

# --- 3. the partner writes again with the tag only ---
cat >"$T_DIR/p2.eml" <<'MAIL'
From: partner-de@icpermed.example
To: secretariat@icpermed.example
Subject: Update [ICPerMed #1]
Date: Tue, 3 Nov 2026 15:00:00 +0100
Message-ID: <partner-ans-2@icpermed.example>

I have answered him by phone.
MAIL
check_rc "ingest the tagged partner mail" 0 sd ingest "$T_DIR/p2.eml"
check_eq "the tag threads the queue's contact" "1 partner" \
	"$(q "SELECT ticket_id || ' ' || kind FROM messages WHERE message_id = 'partner-ans-2@icpermed.example'")"
check_eq "still no acknowledgement" 1 "$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")"

# --- 4. the contact of another queue uses the tag: no threading ---
cat >"$T_DIR/f1.eml" <<'MAIL'
From: partner-fr@icpermed.example
To: secretariat@icpermed.example
Subject: About [ICPerMed #1]
Date: Tue, 3 Nov 2026 16:00:00 +0100
Message-ID: <fr-1@icpermed.example>

Is this one for us?
MAIL
check_rc "ingest the French contact's mail" 0 sd ingest "$T_DIR/f1.eml"
t_fr=$(q "SELECT ticket_id FROM messages WHERE message_id = 'fr-1@icpermed.example'")
check "a new ticket, not #1" test "$t_fr" -gt 1
sd show "$t_fr" --json >"$T_DIR/showfr.json"
check_eq "flagged possible follow-up of #1" "1 True" \
	"$(js "$T_DIR/showfr.json" "'%s %s' % (j['related_to'], 'possible-followup' in j['flags'])")"
check_eq "no acknowledgement to a partner address either" 1 \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")"

# --- 5. a stranger uses the tag (see also tests/e2e/ingest.sh) ---
cat >"$T_DIR/s1.eml" <<'MAIL'
From: Eve <eve@example.net>
To: secretariat@icpermed.example
Subject: Re: Funding for a genomics project [ICPerMed #1]
Date: Tue, 3 Nov 2026 17:00:00 +0100
Message-ID: <eve-1@example.net>

Please send me everything about ticket 1.
MAIL
check_rc "ingest the stranger's mail" 0 sd ingest "$T_DIR/s1.eml"
t_eve=$(q "SELECT ticket_id FROM messages WHERE message_id = 'eve-1@example.net'")
check "a new ticket for the stranger" test "$t_eve" -gt "$t_fr"
sd show "$t_eve" --json >"$T_DIR/showeve.json"
check_eq "stranger: flagged possible follow-up of #1" "1 True eve@example.net" \
	"$(js "$T_DIR/showeve.json" "'%s %s %s' % (j['related_to'], 'possible-followup' in j['flags'], j['requester'])")"
check "show points it out" sh -c "'$SECDESK' -c '$d/secdesk.conf' show $t_eve | grep -q 'Possible follow-up of #1'"
check_eq "ticket #1 holds only its own messages" \
	"inq-p1@charite.de partner-ans-1@icpermed.example partner-ans-2@icpermed.example" \
	"$(q "SELECT group_concat(message_id, ' ') FROM (SELECT message_id FROM messages WHERE ticket_id = 1 AND direction = 'in' ORDER BY id) AS m")"

# --- 6. staff re-route #1 to France: the French contact is told, and threads ---
check_rc "route 1 FR" 0 sd route 1 FR
check_eq "a notice queued to the French contact" 1 \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'notice' AND rcpts = 'partner-fr@icpermed.example' AND ticket_id = 1")"
check_rc "send" 0 sd send
base=$(rcv partner-fr@icpermed.example)
check "the server got the French notice" test -n "$base"
python3 - "$base" >"$T_DIR/n2.out" 2>&1 <<'PY'
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1] + ".eml", "rb").read(), policy=email.policy.default)
print("reply_to=%s" % m["Reply-To"])
print("tag=%s" % ("[ICPerMed #1]" in m["Subject"]))
print("quoted=%s" % ("> Can a hospital in Berlin" in m.get_content()))
PY
check_eq "French notice: Reply-To the desk" \
	"ICPerMed Secretariat <secretariat@icpermed.example>" "$(sed -n 's/^reply_to=//p' "$T_DIR/n2.out")"
check_eq "French notice: the tag" True "$(sed -n 's/^tag=//p' "$T_DIR/n2.out")"
sed 's/fr-1@/fr-2@/; s/Is this one for us?/Now it is ours./' "$T_DIR/f1.eml" >"$T_DIR/f2.eml"
check_rc "ingest the French contact's tagged mail" 0 sd ingest "$T_DIR/f2.eml"
check_eq "now it threads, as partner correspondence" "1 partner" \
	"$(q "SELECT ticket_id || ' ' || kind FROM messages WHERE message_id = 'fr-2@icpermed.example'")"
check_eq "and gets no acknowledgement" 0 \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'ack' AND rcpts LIKE '%partner-fr%'")"
# delivered_check FILE TICKET: whether the notice FILE delivered for TICKET
# is the ticket's copy with the pointer replaced by the quoted inquiry, has
# the notice's Message-ID, holds the inquiry's last words; its transfer
# encoding; whether its lines stay under 78.
delivered_check() {
	python3 - "$1" "$2" "$(q "SELECT hex(body) FROM messages WHERE ticket_id = $2 AND kind = 'inquiry'")" \
		$(q "SELECT hex(body), message_id FROM messages WHERE ticket_id = $2 AND kind = 'notice'" |
			tr '|' ' ') <<'PY'
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
t = int(sys.argv[2])
inq = bytes.fromhex(sys.argv[3]).decode()
copy, mid = bytes.fromhex(sys.argv[4]).decode(), sys.argv[5]
quoted = ''.join('> ' + l + '\n' for l in inq.rstrip('\n').split('\n'))
want = copy.replace("> [the inquiry's text, quoted here: see inquiry #%d]" % t, quoted, 1)
got = msg.get_content().replace('\r\n', '\n')
last = inq.rstrip('\n').split('\n')[-1]
print(got.rstrip('\n') == want.rstrip('\n'), msg['Message-ID'] == '<%s>' % mid, last in got,
      msg['Content-Transfer-Encoding'], max(len(l) for l in raw.split(b'\r\n')) <= 78)
PY
}

# --- 5. the ticket's copy of a notice leaves out its quote of a long inquiry
# (the ticket holds that text already); the mail itself quotes it whole ---
{
	printf 'From: Greta Lang <greta.lang@charite.de>\nTo: secretariat@icpermed.example\n'
	printf 'Subject: A long question about consortia\nMessage-ID: <inq-long@charite.de>\n'
	printf 'Date: Mon, 2 Nov 2026 11:00:00 +0100\n\n'
	i=0
	while [ $i -lt 12 ]; do
		echo "Line $i of a long inquiry about the consortium rules of the next joint call."
		i=$((i + 1))
	done
	echo "The one sentence to find: zebra consortium lighthouse."
} >"$T_DIR/long.eml"
check_rc "ingest a long inquiry" 0 sd ingest "$T_DIR/long.eml"
lt=$(q "SELECT ticket_id FROM messages WHERE message_id = 'inq-long@charite.de'")
# The outbox keeps the notice around the quote and quotes the inquiry by
# reference: its text is stored once, in the inquiry.
check_eq "the mail queued quotes the inquiry by reference, not a copy" "1 0" \
	"$(q "SELECT CASE WHEN o.quote_of = m.id THEN 1 ELSE 0 END, CASE WHEN instr(o.data, 'zebra consortium lighthouse') > 0 THEN 1 ELSE 0 END FROM outbox o JOIN messages m ON m.ticket_id = o.ticket_id AND m.kind = 'inquiry' WHERE o.ticket_id = $lt AND o.kind = 'notice'" | tr '|' ' ')"
check_rc "send delivers it" 0 sd send
lf=$(rcv partner-de@icpermed.example)
# The mail delivered is the notice with the whole quote put back: its text
# is the ticket's copy with the pointer replaced by the quoted inquiry.
delivered_check "$lf.eml" "$lt" >"$T_DIR/long.check"
check_eq "the mail delivered quotes it whole, in place, with the notice's own Message-ID" \
	"True True True 7bit True" "$(cat "$T_DIR/long.check")"
check_eq "the ticket's copy points to the inquiry instead" \
	"1 0" "$(q "SELECT CASE WHEN instr(body, '> [the inquiry''s text, quoted here: see inquiry #$lt]') > 0 THEN 1 ELSE 0 END, CASE WHEN instr(body, 'zebra consortium lighthouse') > 0 THEN 1 ELSE 0 END FROM messages WHERE ticket_id = $lt AND kind = 'notice'" | tr '|' ' ')"
check_eq "and keeps the rest of the notice" 1 \
	"$(q "SELECT CASE WHEN instr(body, 'To answer, reply to this mail') > 0 THEN 1 ELSE 0 END FROM messages WHERE ticket_id = $lt AND kind = 'notice'")"

# The same with accents: the body put back together goes quoted-printable.
{
	printf 'From: Jürgen Weiß <juergen.weiss@charite.de>\nTo: secretariat@icpermed.example\n'
	printf 'Subject: Große Frage zur Förderung\nMessage-ID: <inq-long2@charite.de>\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
	printf 'Content-Transfer-Encoding: 8bit\nDate: Mon, 2 Nov 2026 11:30:00 +0100\n\n'
	i=0
	while [ $i -lt 12 ]; do
		echo "Zeile $i einer langen Anfrage über die Förderregeln für Konsortien, Müller & Söhne."
		i=$((i + 1))
	done
} >"$T_DIR/long2.eml"
check_rc "ingest a long inquiry with accents" 0 sd ingest "$T_DIR/long2.eml"
lt2=$(q "SELECT ticket_id FROM messages WHERE message_id = 'inq-long2@charite.de'")
check_rc "send delivers its notice" 0 sd send
delivered_check "$(rcv partner-de@icpermed.example).eml" "$lt2" >"$T_DIR/long2.check"
check_eq "with accents: delivered whole, quoted-printable, lines under 78" \
	"True True True quoted-printable True" "$(cat "$T_DIR/long2.check")"
done_testing

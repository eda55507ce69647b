#!/bin/sh
# Issue 15, points 7 and 14: the desk knows its own addresses (plus
# addressing, any case, a trailing dot, [desk] aliases) and bounces and
# auto-replies that carry no DSN (a known phrase in a member's language
# with a mail-system sender, a returned copy of the desk's own ack, an
# "Automatic reply:" in Finnish...). A Maildir desk takes them in; no
# acknowledgement goes out for them (the dir: outbox shows it), while the
# inquiries beside them, some close to a bounce phrase, get one each.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
printf '[desk]\naliases = office@icpermed.example ,  ICPerMed@dlr.example.\n' >>"$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }

# mail NAME FROM SUBJECT [EXTRA-HEADER] < BODY: a mail into the inbox.
mail() {
	{
		printf 'From: %s\nTo: secretariat@icpermed.example\nSubject: %s\n' "$2" "$3"
		printf 'Date: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <%s@test.example>\n' "$1"
		[ -n "${4:-}" ] && printf '%s\n' "$4"
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
		cat
	} >"$d/inbox/new/$1:2,"
}
ask() { echo "Dear secretariat, a question about the joint call."; }

# An inquiry first, for an acknowledgement whose copy comes back below.
ask | mail q0 "Ana <ana@example.org>" "Eligibility of partners"
check_rc "the first inquiry is taken in" 0 sd -q run
ackid=$(q "SELECT message_id FROM messages WHERE direction = 'out' AND kind = 'ack' LIMIT 1")
check "its acknowledgement has a desk Message-ID" sh -c "echo '$ackid' | grep -q '\.secdesk@icpermed\.example$'"
rm -f "$d/outbox/"*

# Bounces and auto-replies without a DSN, and mail of the desk itself.
echo "Die Nachricht konnte nicht zugestellt werden." |
	mail b1 "Mail Delivery System <MAILER-DAEMON@mx.example.de>" "Unzustellbar: Ihre Anfrage"
echo "Het bericht kon niet worden bezorgd." |
	mail b2 "postmaster@mx.example.nl" "Onbestelbaar: uw vraag"
echo "Il messaggio non è stato recapitato." |
	mail b3 "Mail Delivery Subsystem <relay@mx.example.it>" "Non recapitabile: domanda"
printf 'Wiadomość nie została dostarczona.\n\n> Message-ID: <%s>\n> Subject: Re: Eligibility\n' "$ackid" |
	mail b4 "Administrator <admin@mx.example.pl>" "Zwrot"
printf 'Delivery problem.\n\nFrom: secretariat@icpermed.example\nAuto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\nSubject: Re: x\n' |
	mail b5 "relay@mx.example.org" "Problem with your message"
echo "Olen lomalla 3.5. asti." | mail a1 "Matti <matti@example.fi>" "Automaattinen vastaus: kysymys"
echo "Jestem na urlopie." |
	mail a2 "Jan <jan@example.pl>" "=?UTF-8?Q?Odpowied=C5=BA_automatyczna:_pytanie?="
echo "Nejsem v kanceláři." | mail a3 "Petr <petr@example.cz>" "SV: Automatická odpověď: dotaz"
ask | mail d1 "Desk <office@icpermed.example>" "A note filed by the desk"
ask | mail d2 "secretariat+test@ICPERMED.EXAMPLE." "Copy of a desk mail"
ask | mail d3 "ana@example.org" "Sent by the desk for Ana" "Sender: icpermed@dlr.example"

# Inquiries: close to a bounce phrase or to the desk's address, all people.
ask | mail i1 "Eva <eva@example.org>" "Question about returned funds"
ask | mail i2 "Piotr <piotr@example.pl>" "Zwrot kosztów podróży"
ask | mail i3 "Lea <lea@example.de>" "Unzustellbarkeit von Briefen im Antrag"
ask | mail i4 "Near <secretariat2@icpermed.example>" "Absence of a partner country"
ask | mail i5 "Evil <secretariat@icpermed.example.evil.org>" "Out of officer training funds?"
ask | mail i6 "Carl <carl@example.se>" "Re: Delivery status of my proposal" \
	"Cc: office@icpermed.example, Secretariat+cc@icpermed.example, friend@example.se"

check_rc "the run takes them all in" 0 sd -q run
check_eq "every mail is stored" 18 "$(q "SELECT count(*) FROM messages WHERE direction = 'in'")"
for who in eva@example.org piotr@example.pl lea@example.de secretariat2@icpermed.example \
	secretariat@icpermed.example.evil.org carl@example.se; do
	check_eq "the inquiry of $who is acknowledged" 1 \
		"$(grep -l -i "^To:.*$who" "$d/outbox/"* 2>/dev/null | wc -l)"
done
check_eq "the first ack and six now, no more" 7 "$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")"
for who in MAILER-DAEMON@mx.example.de postmaster@mx.example.nl relay@mx.example.it \
	admin@mx.example.pl relay@mx.example.org matti@example.fi jan@example.pl \
	petr@example.cz office@icpermed.example secretariat+test ana@example.org; do
	check_eq "nothing goes to $who" 0 \
		"$(grep -l -i "^To:.*$who" "$d/outbox/"* 2>/dev/null | wc -l)"
done
for id in b1 b2 b3 b4 b5; do
	check_eq "$id is filed as a bounce" bounce \
		"$(q "SELECT kind FROM messages WHERE message_id = '$id@test.example'")"
done
for id in a1 a2 a3; do
	check_eq "$id is filed as an auto-reply" autoreply \
		"$(q "SELECT kind FROM messages WHERE message_id = '$id@test.example'")"
done
check_eq "the returned ack joins the ticket of its inquiry" \
	"$(q "SELECT ticket_id FROM messages WHERE message_id = 'q0@test.example'")" \
	"$(q "SELECT ticket_id FROM messages WHERE message_id = 'b4@test.example'")"
check_eq "the desk's own mail is told apart" 3 \
	"$(q "SELECT count(*) FROM events WHERE what = 'no-ack' AND new_value = 'from the desk itself'")"
check_eq "the desk's addresses in Cc become no watchers" "friend@example.se" \
	"$(q "SELECT group_concat(addr) FROM watchers")"

# rules test says the same, mail by mail.
for id in b1 b4 a2 d1; do
	check_eq "rules test: no acknowledgement for $id" false \
		"$(sd rules test --json "$d/inbox/cur/$id:2,S" | jq -r .acknowledgement.sent)"
done
check_eq "rules test: the inquiry i2 is acknowledged" true \
	"$(sd rules test --json "$d/inbox/cur/i2:2,S" | jq -r .acknowledgement.sent)"

# A bad alias is a config error naming the key.
{ grep -v '^aliases' "$d/secdesk.conf"; printf '[desk]\naliases = office@icpermed.example, <bad>\n'; } \
	>"$d/bad.conf"
check_rc "an alias that is not an address is refused" 78 "$SECDESK" -c "$d/bad.conf" list
check "the error names [desk] aliases" grep -q "\[desk\] aliases: '<bad>' is not a mail address" \
	"$T_DIR/.err"
done_testing

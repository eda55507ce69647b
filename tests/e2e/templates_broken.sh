#!/bin/sh
# Templates fail alone (issue 18, point 2). A broken canned reply refuses
# only `reply --template` of that name; a broken ack or notice template
# in one language sends the English one, said in the summary line and the
# ticket's history; a broken English one too holds the mail in the outbox
# ("held: template error"), which the first run after the fix renders and
# sends; `templates check` names file:line. A missing template folder is
# still a configuration error that stops the run before any mail is read.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
mkdir -p "$d/tpl"
cp -R "$TOP/templates/." "$d/tpl/"
sed -i "s|^dir = $TOP/templates|dir = $d/tpl|" "$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
sd db init >/dev/null
# The mail in the outbox folder to RCPT: its Content-Language and first
# body line, decoded ("" when there is none).
sent_to() {
	python3 - "$d/outbox" "$1" <<'PY'
import email, email.policy, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    if sys.argv[2] in str(m["To"]):
        body = m.get_content().replace("\r", "")
        print(m["Content-Language"], [l for l in body.split("\n") if l][1])
PY
}
polish() { # FILE MSGID FROM
	printf 'From: %s\nTo: secretariat@icpermed.example\nSubject: Pytanie o nabór\nDate: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <%s>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nSzanowni Państwo,\n\nchciałabym zapytać, kiedy zostanie ogłoszony kolejny nabór wniosków i czy\nnasz zespół może złożyć wniosek. Bardzo dziękuję za odpowiedź.\n\nZ poważaniem\nAnna Kowalska\n' \
		"$3" "$2" >"$1"
}

# ---- a broken canned reply ----
printf 'Subject: Re: {{subjet}\n\nThe call opens in March.\n' >"$d/tpl/canned-typo.en.txt"
printf 'Subject: Re: {{subject}}\n\nThe call opens in March.\n{{> signature}}\n' >"$d/tpl/canned-call.en.txt"
make_mail "$d/inbox/new/1.M1.host" "m1@example.org" "first@example.org" "A question"
check_rc "run is not stopped by a broken canned reply" 0 sd run
check "it fetched and acknowledged the inquiry" grep -q "^fetched 1, new tickets 1, .*acks queued 1," "$T_DIR/.out"
check "it warns, naming file:line" grep -q "warning: .*canned-typo.en.txt:1: '{{' without a closing '}}'" "$T_DIR/.err"
check_rc "templates check fails" 78 sd templates check
check "naming file:line and the error" grep -q "canned-typo.en.txt:1: '{{' without a closing '}}'" "$T_DIR/.err"
check_rc "reply --template canned-typo is refused: 78" 78 sd reply 1 --template canned-typo -m x
check "with file:line" grep -q "template 'canned-typo' cannot be used: .*canned-typo.en.txt:1: '{{' without a closing '}}'" "$T_DIR/.err"
check_eq "nothing queued for it" 0 "$(q "SELECT count(*) FROM outbox WHERE kind = 'reply'")"
check_rc "a canned reply without {{text}} refuses -m (issue 18: never dropped silently)" 64 \
	sd reply 1 --template canned-call -m x
check "saying so" grep -q "template 'canned-call' has no {{text}} for -m" "$T_DIR/.err"
check_rc "another canned reply goes as it is (--no-edit)" 0 sd reply 1 --template canned-call --no-edit
check_rc "so does a plain reply" 0 sd reply 1 -m "Thank you for your question."
check_eq "two replies queued" 2 "$(q "SELECT count(*) FROM outbox WHERE kind = 'reply'")"
rm "$d/tpl/canned-typo.en.txt"

# ---- a broken ack in one language: English ----
printf 'Subject: Re: {{subject}} {{ref}}\n\nDzień dobry,\n{{subjet}}\n{{> signature}}\n' >"$d/tpl/ack.pl.txt"
polish "$d/inbox/new/2.M2.host" "pl-1@example.org" "Anna Kowalska <anna@example.pl>"
check_rc "run with a broken Polish ack exits 0" 0 sd run
check "the summary line says one went with a fallback template" \
	grep -q ", template errors: 1 sent with a fallback template, 0 held, 0 released," "$T_DIR/.out"
check_eq "the ticket is Polish" pl "$(q "SELECT language FROM tickets WHERE requester = 'anna@example.pl'")"
check_eq "its ack went out in English" "en thank you for writing to the ICPerMed Secretariat. We have received your message" \
	"$(sent_to anna@example.pl)"
check_eq "its history says why" "ack $d/tpl/ack.pl.txt:4: unknown variable 'subjet'; sent with $d/tpl/ack.en.txt" \
	"$(q "SELECT old_value || ' ' || new_value FROM events WHERE what = 'template-fallback' AND ticket_id = (SELECT id FROM tickets WHERE requester = 'anna@example.pl')")"
check_rc "templates check names it" 78 sd templates check
check "with file:line" grep -q "ack.pl.txt:4: unknown variable 'subjet'" "$T_DIR/.err"

# ---- a broken notice in one language: English ----
printf 'Subject: x\n\n{{#quoted}}\n' >"$d/tpl/partner.pl.txt"
polish "$d/inbox/new/3.M3.host" "pl-2@example.org" "Jan Nowak <jan@example.pl>"
check_rc "run with a broken Polish notice exits 0" 0 sd run
check "the summary line counts the ack and the notice" \
	grep -q ", template errors: 2 sent with a fallback template, 0 held, 0 released," "$T_DIR/.out"
check_eq "the notice to the Polish partner went, in English" "en the ICPerMed Secretariat has routed a new inquiry to you (Poland)." \
	"$(sent_to partner-pl@icpermed.example | tail -n 1)"

# ---- the English ack broken too: held until fixed ----
cp "$d/tpl/ack.en.txt" "$T_DIR/ack.en.good"
printf 'Subject: Re: {{subject}}\n\n{{> signatur}}\n' >"$d/tpl/ack.en.txt"
polish "$d/inbox/new/4.M4.host" "pl-3@example.org" "Ewa Lis <ewa@example.pl>"
make_mail "$d/inbox/new/5.M5.host" "en-5@example.org" "bob@example.org" "Another question"
check_rc "run with no working ack exits 0" 0 sd run
check "it fetched both" grep -q "^fetched 2, new tickets 2," "$T_DIR/.out"
check "the summary line says two are held (and the notice's fallback)" \
	grep -q ", acks queued 0, .*template errors: 1 sent with a fallback template, 2 held, 0 released," "$T_DIR/.out"
check "and a warning says what to do" grep -q "2 mail(s) held in the outbox: no template works" "$T_DIR/.err"
check_eq "nothing went to them" "" "$(sent_to ewa@example.pl; sent_to bob@example.org)"
sd outbox >"$T_DIR/outbox.txt" 2>&1
check "outbox lists them as held" grep -q "ack  *held .*ewa@example.pl" "$T_DIR/outbox.txt"
check "with the template error: the Polish and the English file:line" \
	grep -q "last error: held: template error: $d/tpl/ack.pl.txt:4: unknown variable 'subjet'; $d/tpl/ack.en.txt:3: no partial 'signatur'" "$T_DIR/outbox.txt"
check "the English requester's: the English file:line" \
	grep -q "last error: held: template error: $d/tpl/ack.en.txt:3: no partial 'signatur' (expected a file _signatur.txt)$" "$T_DIR/outbox.txt"
check_eq "outbox --json: status held" "held held" \
	"$(sd outbox --json | python3 -c 'import json,sys; print(" ".join(o["status"] for o in json.load(sys.stdin) if o["status"] != "sent"))')"
check_eq "their tickets say so" 2 "$(q "SELECT count(*) FROM events WHERE what = 'template-held'")"
check_rc "send --now leaves held mail alone" 0 sd send --now
check_eq "still nothing sent to them" "" "$(sent_to ewa@example.pl; sent_to bob@example.org)"
check_rc "a run before the fix" 0 sd run
check "keeps them held" grep -q "2 held, 0 released," "$T_DIR/.out"
check_eq "held once each" 2 "$(q "SELECT count(*) FROM outbox WHERE status = 'held'")"

# The fix: the next run renders and sends them.
cp "$T_DIR/ack.en.good" "$d/tpl/ack.en.txt"
check_rc "the run after the fix" 0 sd run
check "says two were released" grep -q "0 held, 2 released, sent 2," "$T_DIR/.out"
check_eq "nothing held any more" 0 "$(q "SELECT count(*) FROM outbox WHERE status = 'held'")"
check_eq "the English requester has the English ack" "en thank you for writing to the ICPerMed Secretariat. We have received your message" \
	"$(sent_to bob@example.org)"
check_eq "the Polish one too (ack.pl.txt is still broken)" "en thank you for writing to the ICPerMed Secretariat. We have received your message" \
	"$(sent_to ewa@example.pl)"
check_eq "the ack answers the inquiry (In-Reply-To)" "<pl-3@example.org>" "$(python3 - "$d/outbox" <<'PY'
import email, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read())
    if "ewa@example.pl" in m["To"]:
        print(m["In-Reply-To"])
PY
)"
check_eq "recorded on the ticket as an ack" 1 \
	"$(q "SELECT count(*) FROM messages WHERE direction = 'out' AND kind = 'ack' AND to_addrs = 'ewa@example.pl'")"
check_eq "the ack's history tells held, released, fallback" "template-held template-released template-fallback" \
	"$(q "SELECT group_concat(what, ' ') FROM (SELECT what FROM events WHERE what LIKE 'template-%' AND old_value LIKE 'ack%' AND ticket_id = (SELECT id FROM tickets WHERE requester = 'ewa@example.pl') ORDER BY id) AS e")"
check_rc "a run after that" 0 sd run
check "changes nothing" grep -q "^fetched 0, .*acks queued 0, .*partner notices 0, sent 0," "$T_DIR/.out"

# ---- the English notice broken too: the notice held, then released ----
cp "$d/tpl/partner.en.txt" "$T_DIR/partner.en.good"
printf 'Subject: x\nFrom: me@example.org\n\n{{quoted}}\n' >"$d/tpl/partner.en.txt"
polish "$d/inbox/new/6.M6.host" "pl-4@example.org" "Olga Wrona <olga@example.pl>"
check_rc "run with no working notice exits 0" 0 sd run
check "the notice is held" grep -q "1 held, 0 released," "$T_DIR/.out"
check_eq "held in the outbox for the Polish partner" "notice partner-pl@icpermed.example" \
	"$(q "SELECT kind || ' ' || rcpts FROM outbox WHERE status = 'held'")"
cp "$T_DIR/partner.en.good" "$d/tpl/partner.en.txt"
cp "$TOP/templates/partner.pl.txt" "$d/tpl/"
check_rc "the run after the fix" 0 sd run
check "releases it" grep -q "0 held, 1 released," "$T_DIR/.out"
python3 - "$d/outbox" >"$T_DIR/notice" <<'PY'
import email, email.policy, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    body = m.get_content()
    if "partner-pl@" in str(m["To"]) and "Olga Wrona" in body:
        print(m["Content-Language"], m["Reply-To"], "> chciałabym zapytać" in body)
PY
check_eq "the notice went in Polish, quoting the inquiry" \
	"pl ICPerMed Secretariat <secretariat@icpermed.example> True" "$(cat "$T_DIR/notice")"

# ---- configuration errors stay fatal ----
sed -i "s|^dir = $d/tpl|dir = $d/no-such-folder|" "$d/secdesk.conf"
make_mail "$d/inbox/new/7.M7.host" "m7@example.org" "seven@example.org" "A question"
check_rc "run without its template folder: 78" 78 sd run
check "naming the folder" grep -q "templates folder '$d/no-such-folder'" "$T_DIR/.err"
check "before reading any mail" test -f "$d/inbox/new/7.M7.host"
done_testing

#!/bin/sh
# Acknowledgements and staff replies through a real SMTP server on loopback:
# the bytes received (headers, threading, encoding, envelope), one ack per
# ticket, replies from the desk's address, and the outbox and templates
# commands.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"

if ! smtpd_available; then
	skip "python3-aiosmtpd is not installed"
	done_testing
	exit 0
fi
d=$T_DIR/desk
make_config "$d"
# The outbound mechanics under test, without routing: the queue list only,
# so that the German inquiry below gets its acknowledgement and nothing else.
mkdir -p "$T_DIR/rules"
cp "$TOP/rules/00-queues.rules" "$T_DIR/rules/"
sed -i "s|^dir = $TOP/rules|dir = $T_DIR/rules|" "$d/secdesk.conf"
smtpd_start "$T_DIR/smtp" --pipelining || { not_ok "smtp server starts"; done_testing; exit 1; }
at_exit smtpd_stop
smtpd_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# sde VAR=VALUE... -- ARGS: secdesk with variables set
sde() {
	_env=""
	while [ "$1" != "--" ]; do _env="$_env $1"; shift; done
	shift
	# shellcheck disable=SC2086
	env $_env "$SECDESK" -c "$d/secdesk.conf" "$@"
}
q() { store_sql "$d" "$1"; }

# An inquiry in German with a name and subject that need encoding.
cat >"$T_DIR/m1.eml" <<'MAIL'
From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: secretariat@icpermed.example
Subject: =?UTF-8?Q?F=C3=B6rderm=C3=B6glichkeiten_f=C3=BCr_Nachwuchsgruppen?=
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <inq-1@example.de>
References: <older@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Guten Tag, ich habe eine Frage zur Ausschreibung.
MAIL
check_rc "ingest an inquiry" 0 sd ingest "$T_DIR/m1.eml"
check_eq "one ack queued" 1 "$(q "SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'pending'")"
check_eq "recorded on the ticket as an outgoing message" "out ack" \
	"$(q "SELECT direction || ' ' || kind FROM messages WHERE ticket_id = 1 AND direction = 'out'")"
sd outbox >"$T_DIR/outbox.txt" 2>&1
check "outbox lists it" grep -q 'ack .*pending.*juergen@example.de' "$T_DIR/outbox.txt"
sd outbox --json >"$T_DIR/outbox.json"
check_eq "outbox --json" "ack pending juergen@example.de" \
	"$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))[0]; print(o["kind"], o["status"], o["to"])' "$T_DIR/outbox.json")"

check_rc "send delivers" 0 sd send
check_eq "the server got one mail" 1 "$(smtpd_count)"
check_eq "outbox row sent" sent "$(q "SELECT status FROM outbox WHERE id = 1")"
msgid=$(q "SELECT message_id FROM messages WHERE direction = 'out' AND kind = 'ack'")

python3 - "$SMTPD_DIR/rcv/000001" "$msgid" >"$T_DIR/check.out" 2>&1 <<'PY'
import email, email.policy, json, sys
base, msgid = sys.argv[1], sys.argv[2]
raw = open(base + ".eml", "rb").read()
env = json.load(open(base + ".env"))
m = email.message_from_bytes(raw, policy=email.policy.default)
head = raw.split(b"\r\n\r\n", 1)[0]
def out(name, value):
    print("%s=%s" % (name, value))
out("mail_from", env["mail_from"])
out("rcpt", ",".join(env["rcpt_tos"]))
out("auto_submitted", m["Auto-Submitted"])
out("suppress", m["X-Auto-Response-Suppress"])
out("in_reply_to", m["In-Reply-To"])
out("references", " ".join(str(m["References"]).split()))
out("subject", m["Subject"])
out("to", m["To"])
out("from", m["From"])
out("msgid_ok", m["Message-ID"] == "<%s>" % msgid and m["Message-ID"].endswith("@icpermed.example>"))
out("date", m["Date"] is not None)
out("ascii_head", all(b < 128 for b in head))
out("short_lines", max(len(l) for l in head.split(b"\r\n")) <= 78)
out("crlf_only", b"\n" not in raw.replace(b"\r\n", b""))
out("charset", m.get_content_charset())
body = m.get_content()
out("body_lang", "de" if "Guten Tag" in body and "Grüßen" in body else
    "en" if "thank you for writing" in body else "?")
out("body_id", "#1" in body)
PY
r() { sed -n "s/^$1=//p" "$T_DIR/check.out"; }
check_eq "null envelope sender" "<>" "$(r mail_from)"
check_eq "envelope recipient" "juergen@example.de" "$(r rcpt)"
check_eq "Auto-Submitted" "auto-replied" "$(r auto_submitted)"
check_eq "X-Auto-Response-Suppress" "All" "$(r suppress)"
check_eq "In-Reply-To the inquiry" "<inq-1@example.de>" "$(r in_reply_to)"
check_eq "References the thread" "<older@example.de> <inq-1@example.de>" "$(r references)"
check_eq "subject decoded, with the tag" \
	"Re: Fördermöglichkeiten für Nachwuchsgruppen [ICPerMed #1]" "$(r subject)"
check_eq "To keeps the name" "Jürgen Müller <juergen@example.de>" "$(r to)"
check_eq "From the desk" "ICPerMed Secretariat <secretariat@icpermed.example>" "$(r from)"
check_eq "Message-ID on the desk's domain, as recorded" True "$(r msgid_ok)"
check_eq "Date" True "$(r date)"
check_eq "header is ASCII (RFC 2047)" True "$(r ascii_head)"
check_eq "header lines folded under 78" True "$(r short_lines)"
check_eq "CRLF line ends" True "$(r crlf_only)"
check_eq "UTF-8 body" utf-8 "$(r charset)"
# The language is the ticket's (set by the rules); English when unknown.
lang=$(q "SELECT language FROM tickets WHERE id = 1")
case $lang in de) want=de ;; *) want=en ;; esac
check_eq "template in the ticket's language ('$lang')" "$want" "$(r body_lang)"
check_eq "body names the ticket" True "$(r body_id)"

# The requester answers the ack: a follow-up, no second ack.
cat >"$T_DIR/m2.eml" <<MAIL
From: juergen@example.de
To: secretariat@icpermed.example
Subject: Re: Fördermöglichkeiten [ICPerMed #1]
Date: Mon, 2 Nov 2026 11:00:00 +0100
Message-ID: <inq-2@example.de>
In-Reply-To: <$msgid>

Danke!
MAIL
check_rc "ingest the answer" 0 sd ingest "$T_DIR/m2.eml"
check_eq "it joins the ticket" 1 "$(q "SELECT ticket_id FROM messages WHERE message_id = 'inq-2@example.de'")"
check_eq "no second ack" 1 "$(q "SELECT count(*) FROM outbox WHERE kind = 'ack'")"
check_rc "send: nothing due" 0 sd send
check_eq "still one mail at the server" 1 "$(smtpd_count)"

# A staff reply: from the desk's address, threaded, ticket pending.
check_rc "reply -m" 0 sde SECDESK_USER=anna -- reply 1 -m "Sehr geehrter Herr Müller,
die Frist ist der 15. März."
check_eq "ticket pending" pending "$(q "SELECT status FROM tickets WHERE id = 1")"
check_eq "reply recorded" "out reply" \
	"$(q "SELECT direction || ' ' || kind FROM messages WHERE kind = 'reply'")"
check_eq "event by the staff member" anna "$(q "SELECT who FROM events WHERE what = 'reply'")"
check_rc "send the reply" 0 sd send
check_eq "two mails at the server" 2 "$(smtpd_count)"
python3 - "$SMTPD_DIR/rcv/000002" >"$T_DIR/check2.out" 2>&1 <<'PY'
import email, email.policy, json, sys
base = sys.argv[1]
m = email.message_from_bytes(open(base + ".eml", "rb").read(), policy=email.policy.default)
env = json.load(open(base + ".env"))
print("mail_from=%s" % env["mail_from"])
print("auto=%s" % m["Auto-Submitted"])
print("irt=%s" % m["In-Reply-To"])
print("text=%s" % ("15. März" in m.get_content()))
PY
r2() { sed -n "s/^$1=//p" "$T_DIR/check2.out"; }
check "reply envelope from the desk's bounce address (VERP)" sh -c "echo '$(r2 mail_from)' | grep -Eq '^secretariat\+bounce-[0-9]+-[0-9a-f]{8}@icpermed\.example$'"
check_eq "reply is not auto-submitted" None "$(r2 auto)"
check_eq "reply threads to the last message" "<inq-2@example.de>" "$(r2 irt)"
check_eq "reply carries the text" True "$(r2 text)"

check_rc "reply with an empty text is refused" 64 sd reply 1 -m "  "
check_rc "reply to a missing ticket" 65 sd reply 99 -m "x"
check_rc "reply with an unknown template" 64 sd reply 1 --template nosuch -m "x"
cat >"$T_DIR/editor.sh" <<'ED'
#!/bin/sh
printf 'Written in the editor.\n# a comment line\n' >"$1"
ED
chmod +x "$T_DIR/editor.sh"
check_rc "reply without -m and without a terminal: a usage error, no editor" 64 \
	sde EDITOR="$T_DIR/editor.sh" VISUAL= -- reply 1
check_rc "reply through \$EDITOR on a terminal" 0 \
	on_tty env EDITOR="$T_DIR/editor.sh" VISUAL= "$SECDESK" -c "$d/secdesk.conf" reply 1
check_eq "the editor's text, comments dropped" 1 \
	"$(q "SELECT count(*) FROM messages WHERE kind = 'reply' AND body LIKE '%Written in the editor.%' AND body NOT LIKE '%comment line%'")"

# templates check: the shipped set is clean; a broken one names file:line.
check_rc "templates check passes" 0 sd templates check
mkdir -p "$T_DIR/tpl"
cp -R "$TOP/templates/." "$T_DIR/tpl/"
printf 'Subject: {{#id}}x\n\nbody\n' >"$T_DIR/tpl/broken.en.txt"
sed -i "s|^dir = $TOP/templates|dir = $T_DIR/tpl|" "$d/secdesk.conf"
check_rc "templates check fails" 78 sd templates check
check "with file:line" grep -q "broken.en.txt:1: section 'id' is never closed" "$T_DIR/.err"
# A broken template stops no mail but its own (issue 18, point 2): the
# inquiry is stored and acknowledged as usual; only a reply with that
# template is refused, naming the file and line.
sed -e 's/Message-ID: <inq-1@example.de>/Message-ID: <inq-9@example.de>/' \
	-e 's/juergen@example.de/juergen9@example.de/' "$T_DIR/m1.eml" >"$T_DIR/m9.eml"
check_rc "ingest is not stopped by a broken template it does not use" 0 sd ingest "$T_DIR/m9.eml"
check_eq "its inquiry is acknowledged" 1 \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'pending' AND rcpts = 'juergen9@example.de'")"
check_rc "reply --template broken is refused: 78" 78 sd reply 1 --template broken -m "x"
check "with file:line" grep -q "template 'broken' cannot be used: .*broken.en.txt:1: section 'id' is never closed" "$T_DIR/.err"
check_rc "another reply still goes" 0 sd reply 1 -m "Still working."
done_testing

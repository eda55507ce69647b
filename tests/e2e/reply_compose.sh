#!/bin/sh
# Replies as a careful person writes them (issue 18, points 3 and 4), through
# the real binary and the dir: transport: staff text as format=flowed, then
# the signature, then the attribution (the reply's language, [desk]
# timezone, the original's Date) and the quote, "-- " only when the
# signature ends the mail; Reply-To; --to, --cc, --attach; -m against a
# template without {{text}}; the editor's draft, cancel and terminal rules;
# --dry-run; note in the editor.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sed -i 's/^tag     = ICPerMed$/tag     = ICPerMed\ntimezone = Europe\/Berlin/' "$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export SECDESK_USER=alice
replies() { q "SELECT count(*) FROM outbox WHERE kind = 'reply'"; }
events() { sd show "$1" --json | jq_ "len([e for e in d['events'] if e['what']=='$2'])"; }

# mailinfo FILE: the fields of a mail the checks read, one "key=value" a line;
# the text part decoded from format=flowed as RFC 3676 says.
cat >"$T_DIR/mailinfo.py" <<'PY'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
text = m if not m.is_multipart() else next(p for p in m.walk() if p.get_content_type() == "text/plain")
body = text.get_content().replace("\r\n", "\n")
lines = body.split("\n")
joined, cur = [], ""
for l in lines:
    if l == "-- ":
        joined.append(cur + l); cur = ""; continue
    if l.startswith(" ") and not l.startswith(">"):
        l = l[1:]
    if l.endswith(" "):
        cur += l
    else:
        joined.append(cur + l); cur = ""
print("to=%s" % m["To"])
print("cc=%s" % (m["Cc"] or ""))
print("type=%s" % m.get_content_type())
print("format=%s" % text.get_param("format"))
print("lang=%s" % m["Content-Language"])
print("longest=%d" % max(len(l) for l in lines))
print("sigdash=%d" % sum(1 for l in lines if l == "-- "))
print("nparts=%d" % sum(1 for p in m.walk() if not p.is_multipart()))
for p in m.walk():
    if p.get_filename():
        print("file=%s %s %d" % (p.get_filename(), p.get_content_type(), len(p.get_content())))
open(sys.argv[1] + ".text", "w").write("\n".join(joined))
PY
info() { python3 "$T_DIR/mailinfo.py" "$1" >"$1.info" && sed -n "s/^$2=//p" "$1.info"; }
# pos FILE TEXT: the line number of the first line holding TEXT (0: none).
pos() { grep -n -F -- "$2" "$1" | head -1 | cut -d: -f1 | grep . || echo 0; }
newest() { ls "$d"/outbox/*.eml | sort | tail -1; }

cat >"$T_DIR/m1.eml" <<'MAIL'
From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
Reply-To: J Mueller <jm-private@example.de>
To: secretariat@icpermed.example
Subject: Frage zur Ausschreibung
Date: Mon, 30 Nov 2026 08:15:00 +0000
Message-ID: <inq-1@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Sehr geehrte Damen und Herren,
wann beginnt die nächste gemeinsame Ausschreibung?
Mit freundlichen Grüßen
Jürgen Müller
MAIL
sd db init >/dev/null
sd ingest "$T_DIR/m1.eml" >/dev/null
sd send >/dev/null
rm -f "$d"/outbox/*.eml

# ---- 3. a reply with -m ----
long="Die nächste Ausschreibung beginnt im Dezember 2026; es nehmen voraussichtlich mehr als zwanzig Länder teil, und die Liste der Förderorganisationen finden Sie auf unserer Website unter der Rubrik Ausschreibungen."
check_rc "reply -m" 0 sd reply 1 -m "$long"
sd send >/dev/null
f=$(newest)
check_eq "Reply-To honoured: the reply goes to it (RFC 5322 3.6.2)" "J Mueller <jm-private@example.de>" "$(info "$f" to)"
check_eq "sent as format=flowed (RFC 3676)" "flowed" "$(info "$f" format)"
check "no line longer than 78" test "$(info "$f" longest)" -le 78
check "the long paragraph comes back whole from the flowed lines" grep -q -F "$long" "$f.text"
check_eq "in German (Content-Language)" "de" "$(info "$f" lang)"
check_eq "the attribution in German, in Europe/Berlin, from the original's Date" 1 \
	"$(grep -c -F 'Am 30.11.2026 um 09:15 schrieb Jürgen Müller:' "$f.text")"
t=$(pos "$f.text" "Die nächste Ausschreibung") s=$(pos "$f.text" "ICPerMed Secretariat")
a=$(pos "$f.text" "Am 30.11.2026") qt=$(pos "$f.text" "> Sehr geehrte")
check "text, then the signature, then the attribution, then the quote" \
	test "$t" -gt 0 -a "$t" -lt "$s" -a "$s" -lt "$a" -a "$a" -lt "$qt"
check_eq "no '-- ' before the quote (clients would hide it as signature)" 0 "$(info "$f" sigdash)"
check_eq "the reply's event names whom it went to" "jm-private@example.de" \
	"$(sd show 1 --json | jq_ "[e['new'] for e in d['events'] if e['what']=='reply'][-1]")"

# The desk's time zone: the system's when [desk] timezone is not set; an
# unknown one is a config error naming the key.
sed 's/^timezone = .*$/timezone = Europe\/Atlantis/' "$d/secdesk.conf" >"$d/bad.conf"
check_rc "an unknown [desk] timezone is a config error" 78 "$SECDESK" -c "$d/bad.conf" reply 1 -m x
check "naming the key" grep -q "timezone" "$T_DIR/.err"
sed '/^timezone = /d' "$d/secdesk.conf" >"$d/systz.conf"
TZ=Asia/Tokyo "$SECDESK" -c "$d/systz.conf" reply 1 -m "Tokyo." --dry-run >"$T_DIR/tokyo.eml"
python3 "$T_DIR/mailinfo.py" "$T_DIR/tokyo.eml" >/dev/null
check_eq "without the key: the system's zone (TZ)" 1 "$(grep -c -F 'Am 30.11.2026 um 17:15 schrieb' "$T_DIR/tokyo.eml.text")"

# In English, for an English inquiry (Date 10:00 UTC: 11:00 in Berlin).
make_mail "$T_DIR/m2.eml" en-1@example.org person@example.org "A question about the joint call"
sd ingest "$T_DIR/m2.eml" >/dev/null
check_rc "an English reply, dry" 0 sd reply 2 -m "Thank you." --dry-run
check "the attribution in English" grep -q -F "On 2 Nov 2026, at 11:00, Test Person wrote:" "$T_DIR/.out"
check_eq "above the quote" "> Dear secretariat," "$(grep -A1 -F "On 2 Nov 2026, at 11:00" "$T_DIR/.out" | tail -1)"

# ---- --to, --cc: the quote only what they all had ----
check_rc "reply --to --cc" 0 sd reply 1 -m "Kurz." --to other@example.org --cc boss@example.org
sd send >/dev/null
f=$(newest)
check_eq "--to replaces the requester" "other@example.org" "$(info "$f" to)"
check_eq "--cc adds a Cc" "boss@example.org" "$(info "$f" cc)"
check_eq "what they never had is not quoted" 0 "$(grep -c '^> ' "$f.text")"
check_eq "and with nothing below it the signature has its '-- '" 1 "$(info "$f" sigdash)"
check_rc "--to that is not an address: usage" 64 sd reply 1 -m x --to "not an address"
check_rc "--cc that is not an address: usage" 64 sd reply 1 -m x --cc "a@b@c"

# ---- --attach ----
printf '%%PDF-1.4 test\n' >"$T_DIR/call-text.pdf"
printf '\000\001\002binary' >"$T_DIR/data.xyz"
check_rc "reply --attach twice" 0 sd reply 1 -m "Anbei die Unterlagen." \
	--attach "$T_DIR/call-text.pdf" --attach "$T_DIR/data.xyz"
sd send >/dev/null
f=$(newest)
check_eq "multipart/mixed" "multipart/mixed" "$(info "$f" type)"
check_eq "the text part is still flowed" "flowed" "$(info "$f" format)"
check_eq "both files, typed by name, unknown as octet-stream" \
	"call-text.pdf application/pdf 14|data.xyz application/octet-stream 9" \
	"$(sed -n 's/^file=//p' "$f.info" | paste -sd'|')"
before=$(replies)
status_before=$(sd show 1 --json | jq_ 'd["status"]')
sd status 1 open >/dev/null
check_rc "a missing file is refused" 66 sd reply 1 -m x --attach "$T_DIR/nosuch.pdf"
check "naming it" grep -q "cannot attach '.*nosuch.pdf'" "$T_DIR/.err"
check_rc "a folder is refused" 66 sd reply 1 -m x --attach "$T_DIR"
chmod 000 "$T_DIR/call-text.pdf"
if [ "$(id -u)" -ne 0 ]; then
	check_rc "an unreadable file is refused" 66 sd reply 1 -m x --attach "$T_DIR/call-text.pdf"
else
	skip "root reads a file of mode 000"
fi
check_eq "nothing queued, the ticket unchanged" "$before open" "$(replies) $(sd show 1 --json | jq_ 'd["status"]')"

# ---- -m and templates ----
mkdir -p "$T_DIR/tpl"
cp -R "$TOP/templates/." "$T_DIR/tpl/"
printf 'Subject: Re: {{subject}} {{ref}}\n\nThe call opens in March.\n{{> signature}}\n' >"$T_DIR/tpl/canned-march.en.txt"
sed -i "s|^dir = $TOP/templates|dir = $T_DIR/tpl|" "$d/secdesk.conf"
check_rc "-m to a template without {{text}}: usage error" 64 sd reply 1 --template canned-march -m "dropped?"
check "saying why" grep -q "template 'canned-march' has no {{text}} for -m" "$T_DIR/.err"
check_rc "--no-edit to a template with {{text}}: it needs text" 64 sd reply 1 --no-edit
check_eq "nothing queued" "$before" "$(replies)"
check_rc "the canned text as it is" 0 sd reply 1 --template canned-march --no-edit

# ---- --dry-run ----
before=$(replies); ev=$(events 1 reply)
check_rc "--dry-run" 0 sd reply 1 -m "Nur eine Vorschau." --dry-run
check "prints the mail" grep -q "^Subject: Re: Frage zur Ausschreibung \[ICPerMed #1\]" "$T_DIR/.out"
check "with its text" grep -q "format=flowed" "$T_DIR/.out"
check_eq "changes nothing" "$before $ev" "$(replies) $(events 1 reply)"

# ---- 4. the editor ----
before=$(replies)
check_rc "no -m and no terminal: a usage error, no editor" 64 env EDITOR=false "$SECDESK" -c "$d/secdesk.conf" reply 1
check "saying so" grep -q "no terminal" "$T_DIR/.err"
cat >"$T_DIR/ed-write.sh" <<'ED'
#!/bin/sh
cp "$1" "$DRAFT"
{ printf 'Vielen Dank, hier ist die Antwort aus dem Editor.\n'; cat "$DRAFT"; } >"$1"
ED
chmod +x "$T_DIR/ed-write.sh"
check_rc "reply in the editor on a terminal" 0 \
	on_tty env DRAFT="$T_DIR/draft" EDITOR="$T_DIR/ed-write.sh" VISUAL= "$SECDESK" -c "$d/secdesk.conf" reply 1
check "the draft holds the rendered template (its greeting)" grep -q "^Guten Tag J" "$T_DIR/draft"
check "then the marker line" grep -q -x -- "# ---- everything below this line is not sent ----" "$T_DIR/draft"
check "then the quote, for reference" test "$(pos "$T_DIR/draft" "# ---- everything below")" -lt "$(pos "$T_DIR/draft" "> Sehr geehrte")"
sd send >/dev/null
f=$(newest)
info "$f" to >/dev/null
check "the mail has the editor's text" grep -q "hier ist die Antwort aus dem Editor" "$f.text"
check_eq "the marker and the hints are not sent" 0 "$(grep -c '^#' "$f.text")"
check_eq "the quote is there once, below the attribution" 1 "$(grep -c '^> Sehr geehrte' "$f.text")"
before=$(replies); ev=$(events 1 reply)
sd status 1 open >/dev/null
check_rc "an unchanged draft cancels: exit 0" 0 \
	on_tty env EDITOR=true VISUAL= "$SECDESK" -c "$d/secdesk.conf" reply 1
check "saying 'reply cancelled'" grep -q "reply cancelled" "$T_DIR/.out"
printf '#!/bin/sh\n: >"$1"\n' >"$T_DIR/ed-empty.sh"
chmod +x "$T_DIR/ed-empty.sh"
check_rc "an emptied draft cancels: exit 0" 0 \
	on_tty env EDITOR="$T_DIR/ed-empty.sh" VISUAL= "$SECDESK" -c "$d/secdesk.conf" reply 1
check "saying 'reply cancelled'" grep -q "reply cancelled" "$T_DIR/.out"
check_eq "nothing queued, no event, the ticket still open" "$before $ev open" \
	"$(replies) $(events 1 reply) $(sd show 1 --json | jq_ 'd["status"]')"
check_rc "a failing editor: nothing queued" 65 \
	on_tty env EDITOR=false VISUAL= "$SECDESK" -c "$d/secdesk.conf" reply 1
check_eq "nothing queued" "$before" "$(replies)"

# ---- note in the editor ----
ev=$(events 1 note)
check_rc "note without -m and no terminal: usage error" 64 sd note 1 </dev/null
cat >"$T_DIR/ed-note.sh" <<'ED'
#!/bin/sh
{ printf 'Called back, will send the list.\n'; cat "$1"; } >"$1.new" && mv "$1.new" "$1"
ED
chmod +x "$T_DIR/ed-note.sh"
check_rc "note in the editor" 0 on_tty env EDITOR="$T_DIR/ed-note.sh" VISUAL= "$SECDESK" -c "$d/secdesk.conf" note 1
check_eq "the note is added" "Called back, will send the list." \
	"$(sd show 1 --json | jq_ "[e['new'] for e in d['events'] if e['what']=='note'][-1]")"
check_rc "an empty note cancels" 0 on_tty env EDITOR=true VISUAL= "$SECDESK" -c "$d/secdesk.conf" note 1
check_eq "one note only" $((ev + 1)) "$(events 1 note)"
check_rc "note -m - reads stdin" 0 sh -c "echo 'From a pipe.' | '$SECDESK' -c '$d/secdesk.conf' note 1 -m -"
done_testing

#!/bin/sh
# Every member's language (issue 18, point 7), through the real binary
# and the dir: transport: a Polish, a Dutch and a Portuguese inquiry, as
# the language detection sees them, each get the acknowledgement of their
# language; then one inquiry per detected language (the language set by a
# test rule) gets its language's acknowledgement, and a routed one its
# partner's notice in the queue's language: UTF-8, Content-Language,
# every placeholder filled.
. "$TOP/tests/lib.sh"
q() { store_sql "$1" "$2"; }

# The acks and notices in an outbox folder, one line each:
# KIND RCPT CHARSET CONTENT-LANGUAGE LEFTOVER-TAGS HAS-TEMPLATE-TEXT NAMED-ID
# (the template's own text: a piece of its first body line, from the
# template file of the mail's Content-Language).
mails() {
	python3 - "$1" "$TOP/templates" <<'PY'
import email, email.policy, glob, os, re, sys
out, tdir = sys.argv[1], sys.argv[2]

def piece(kind, lang):
    """The longest run of text without tags on the first line of the body
    that is the template's own (not a section tag, not a greeting)."""
    path = os.path.join(tdir, "%s.%s.txt" % (kind, lang))
    if not os.path.exists(path):
        return None
    body = open(path, encoding="utf-8").read().split("\n\n", 1)[1]
    # After the greeting: its two forms are sections on requester_name.
    body = body.rsplit("{{/requester_name}}\n", 1)[-1]
    for line in body.split("\n"):
        if not line.strip() or line.startswith("{{") and line.endswith("}}"):
            continue
        runs = [r.strip() for r in re.split(r"\{\{[^}]*\}\}", line)]
        return max(runs, key=len)
    return None

for f in sorted(glob.glob(os.path.join(out, "*.eml"))):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    subject = str(m["Subject"])
    kind = "notice" if m["Reply-To"] else "ack"
    lang = m["Content-Language"] or "-"
    text = m.get_content()
    p = piece("partner" if kind == "notice" else "ack", lang)
    ref = re.search(r"\[ICPerMed #(\d+)\]", subject)
    named = bool(ref) and ("#" + ref.group(1)) in text
    print(kind, str(m["To"]).split("<")[-1].rstrip(">"), m.get_content_charset(), lang,
          "{{" in text or "}}" in text or "{{" in subject, bool(p) and p in text, named)
PY
}

# ---- detected: Polish, Dutch, Portuguese ----
d=$T_DIR/detect
make_config "$d"
"$SECDESK" -c "$d/secdesk.conf" db init >/dev/null
inquiry() { # FILE FROM SUBJECT BODY
	printf 'From: %s\nTo: secretariat@icpermed.example\nSubject: %s\nDate: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <%s>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
		"$2" "$3" "$(basename "$1")@example.org" "$4" >"$1"
}
inquiry "$d/inbox/new/1.pl.host" "Anna Kowalska <anna.kowalska@gmail.com>" "Pytanie o nabór" \
"Szanowni Państwo,

chciałabym zapytać, kiedy zostanie ogłoszony kolejny nabór wniosków i czy
nasz zespół może złożyć wniosek jako partner. Bardzo dziękuję za odpowiedź.

Z poważaniem
Anna Kowalska"
inquiry "$d/inbox/new/2.nl.host" "Joost de Vries <joost.devries@gmail.com>" "Vraag over de oproep" \
"Geachte heer, mevrouw,

Ik zou graag willen weten wanneer de volgende oproep wordt gepubliceerd en of
onze onderzoeksgroep als partner kan deelnemen. Alvast hartelijk dank voor
uw antwoord.

Met vriendelijke groet,
Joost de Vries"
inquiry "$d/inbox/new/3.pt.host" "João Silva <joao.silva@gmail.com>" "Pedido de informações" \
"Bom dia,

Gostaria de saber quando será publicado o próximo concurso e se o nosso
grupo de investigação pode participar como parceiro. Muito obrigado pela
vossa atenção.

Com os melhores cumprimentos,
João Silva"
"$SECDESK" -c "$d/secdesk.conf" run >"$T_DIR/detect.out" 2>"$T_DIR/detect.err"
check_eq "run exits 0" 0 $?
check_eq "the languages detected" "anna.kowalska@gmail.com pl
joao.silva@gmail.com pt
joost.devries@gmail.com nl" \
	"$(q "$d" "SELECT requester || ' ' || language FROM tickets ORDER BY requester")"
mails "$d/outbox" >"$T_DIR/detect.mails"
for pair in anna.kowalska@gmail.com:pl joost.devries@gmail.com:nl joao.silva@gmail.com:pt; do
	a=${pair%:*} l=${pair#*:}
	check_eq "$l: the ack is in $l, UTF-8, every placeholder filled, names the inquiry" \
		"ack $a utf-8 $l False True True" "$(grep "^ack $a " "$T_DIR/detect.mails")"
done
python3 - "$d/outbox" >"$T_DIR/greet" <<'PY'
import email, email.policy, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    if not m["Reply-To"]:
        print(m.get_content().split("\n")[0].rstrip("\r"))
PY
check_eq "the acks greet by name, decoded" "Beste Joost de Vries,
Caro/a João Silva,
Dzień dobry, Anna Kowalska," "$(sort "$T_DIR/greet")"

# ---- every language, set by a rule; notices through the queues ----
e=$T_DIR/every
make_config "$e"
mkdir -p "$e/rules"
cp "$TOP/rules/"* "$e/rules/"
cat >"$e/rules/99-test-language.rules" <<'RULES'
rule "test: the language named in the subject"
when subject matches /\[lang=(?<lang>[a-z]{2})\]/
then
	language ${lang}
end

rule "test: the queue named in the subject"
when subject matches /\[queue=(?<queue>[A-Z-]+)\]/
then
	route ${queue}
end
RULES
sed -i "s|^dir = $TOP/rules|dir = $e/rules|" "$e/secdesk.conf"
"$SECDESK" -c "$e/secdesk.conf" db init >/dev/null
langs="bg ca cs da de el en es et fi fr he hr hu it lt lv nl no pl pt ro sk sl sv tr"
# A queue of each language that has one (the partner's language).
queue_of() {
	awk -v l="$1" '$1 == "queue" && $2 != "secretariat" && $0 ~ (" language " l " ") {
		print $2; exit }' \
		"$TOP/rules/00-queues.rules"
}
n=0
for l in $langs; do
	n=$((n + 1))
	qid=$(queue_of "$l")
	[ -n "$qid" ] && qid=" [queue=$qid]"
	make_mail "$e/inbox/new/$n.M$n.host" "every-$l@example.org" "person-$l@example.org" \
		"A question [lang=$l]$qid"
done
"$SECDESK" -c "$e/secdesk.conf" run >"$T_DIR/every.out" 2>"$T_DIR/every.err"
check_eq "run over one inquiry per language exits 0" 0 $?
check_eq "no template error in the summary" "" "$(grep -o 'template errors.*' "$T_DIR/every.out")"
check_eq "nothing logged" "" "$(cat "$T_DIR/every.err")"
mails "$e/outbox" >"$T_DIR/every.mails"
for l in $langs; do
	check_eq "$l: the ack is in $l (Content-Language), UTF-8, filled, names the inquiry" \
		"ack person-$l@example.org utf-8 $l False True True" \
		"$(grep "^ack person-$l@" "$T_DIR/every.mails")"
	qid=$(queue_of "$l")
	[ -z "$qid" ] && continue
	check_eq "$l: the notice to $qid is in $l, UTF-8, filled, names the inquiry" \
		"utf-8 $l False True True" \
		"$(grep "^notice " "$T_DIR/every.mails" | awk -v l="$l" '$4 == l { print $3, $4, $5, $6, $7 }' | sort -u)"
done
check_eq "every ticket in its language" "$(echo $langs | tr ' ' '\n' | sort)" \
	"$(q "$e" "SELECT language FROM tickets ORDER BY language")"

# templates check: the shipped set has a template of every kind for every
# detected language, and says which are missing when they are.
check_rc "templates check passes" 0 "$SECDESK" -c "$e/secdesk.conf" templates check
check_eq "and names no missing language" "" "$(grep 'no .* template' "$T_DIR/.err")"
mkdir -p "$T_DIR/tpl"
cp -R "$TOP/templates/." "$T_DIR/tpl/"
rm "$T_DIR/tpl/ack.pl.txt" "$T_DIR/tpl/reply.pl.txt" "$T_DIR/tpl/reply.tr.txt"
sed -i "s|^dir = $TOP/templates|dir = $T_DIR/tpl|" "$e/secdesk.conf"
check_rc "a missing language is no problem" 0 "$SECDESK" -c "$e/secdesk.conf" templates check
check "but ack's is named" grep -q "no ack template for the detected language(s) pl: they get English" "$T_DIR/.err"
check "and reply's" grep -q "no reply template for the detected language(s) pl, tr: they get English" "$T_DIR/.err"
done_testing

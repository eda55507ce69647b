#!/bin/sh
# Partner notices with context (issue 18, point 6): a notice lists the
# inquiry's attachments (name, type, size) and carries them when [notice]
# attach says so; secdesk route tells the new partner where the ticket came
# from and whether staff answered (template reroute, in the partner's
# language, English when it has none), and tells the old partner it moved
# (template moved).
. "$TOP/tests/lib.sh"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
# mail_to RCPT [N]: the body text (decoded) of the Nth (default: last) mail
# in the outbox folder for RCPT; parts: "PART type name size sha" lines.
py_mail() {
	python3 - "$d/outbox" "$@" <<'PY'
import email, email.policy, glob, hashlib, os, sys
out, rcpt, what = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else -1
mails = []
for f in sorted(glob.glob(os.path.join(out, "*")), key=os.path.getmtime):
    if f.endswith(".tmp"):
        continue
    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
    if rcpt in str(m["To"]):
        mails.append(m)
if not mails:
    sys.exit(1)
m = mails[n]
if what == "count":
    print(len(mails))
elif what == "subject":
    print(m["Subject"])
elif what == "body":
    print(m.get_body(("plain",)).get_content())
elif what == "parts":
    for p in m.iter_attachments():
        data = p.get_payload(decode=True)
        print(p.get_content_type(), p.get_filename(), len(data), hashlib.sha256(data).hexdigest()[:16])
PY
}
body_has() { py_mail "$1" body ${3:-} | grep -qF -- "$2"; }
# check_not DESCRIPTION COMMAND...: passes when the command fails.
check_not() { _d=$1; shift; if "$@"; then not_ok "$_d"; else ok "$_d"; fi; }

make_desk() {
	d=$1
	make_config "$d"
	sd db init >/dev/null
}

# An inquiry from a German hospital (routed to DE by its domain) with a PDF
# of 3000 bytes and a spreadsheet of 40000 with a non-ASCII name.
python3 - "$T_DIR/m1.eml" <<'PY'
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Hans Meier <hans.meier@charite.de>"
m["To"] = "secretariat@icpermed.example"
m["Subject"] = "Funding for a genomics project"
m["Date"] = "Mon, 2 Nov 2026 10:00:00 +0100"
m["Message-ID"] = "<inq-n1@charite.de>"
m.set_content("Hello, can a hospital in Berlin lead a consortium?\nOur outline is attached.\n")
m.add_attachment(bytes(range(256)) * 11 + b"x" * 184, maintype="application", subtype="pdf",
                 filename="Projektskizze.pdf")
m.add_attachment(b"budget;" * 5714 + b"xx", maintype="application",
                 subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 filename="Budget Übersicht.xlsx")
open(sys.argv[1], "wb").write(bytes(m))
PY
pdf_sha=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes(range(256)) * 11 + b"x" * 184).hexdigest()[:16])')

# ---- 1. the first notice lists the attachments, carries none by default
make_desk "$T_DIR/a"
check_rc "ingest the inquiry" 0 sd ingest "$T_DIR/m1.eml"
check_eq "routed to DE" DE "$(q "SELECT queue FROM tickets WHERE id = 1")"
sd send >/dev/null 2>&1
check "the notice lists the PDF with its type and size" \
	body_has partner-de "Projektskizze.pdf (application/pdf, 3 KB)"
check "and the spreadsheet, by its UTF-8 name" \
	body_has partner-de "Budget Übersicht.xlsx (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, 40 KB)"
check "under the German heading" body_has partner-de "Anhänge:"
check_eq "attach = no (the default): nothing carried" "" "$(py_mail partner-de parts)"
check_not "the acknowledgement does not list them" body_has hans.meier Projektskizze

# ---- 2. re-routed: the new partner hears where from and that nobody answered
check_rc "route 1 FR" 0 sd route 1 FR
sd send >/dev/null 2>&1
check_eq "its subject says it was passed on" 1 \
	"$(py_mail partner-fr subject | grep -c 'Demande transmise à France')"
check "it names the queue it came from" body_has partner-fr "Elle était
auparavant chez Germany."
check "it says staff have not answered yet" body_has partner-fr "Répondu :    pas encore"
check "it lists the attachments (French heading)" body_has partner-fr "Pièces jointes :"
check "it quotes the inquiry" body_has partner-fr "> Hello, can a hospital in Berlin"
check_eq "the old partner gets two mails now: notice, then the moved one" 2 \
	"$(py_mail partner-de count)"
check "the moved notice tells the old partner in German" \
	body_has partner-de "an
France weitergegeben. Sie müssen nichts mehr dafür tun."
check_not "the moved notice does not quote the inquiry" body_has partner-de "> Hello"
check "the first notice did" body_has partner-de "> Hello, can a hospital" 0
check_eq "the history says the old queue was told" 1 \
	"$(q "SELECT count(*) FROM events WHERE ticket_id = 1 AND what = 'notified-moved' AND new_value = 'DE'")"

# ---- 3. after a staff reply, the next partner hears it was answered
check_rc "a staff reply" 0 sd reply 1 -m "Yes, a hospital may lead a consortium."
check_rc "route 1 IT" 0 sd route 1 IT
sd send >/dev/null 2>&1
check "the Italian partner hears that staff answered" body_has partner-it "Risposta:   sì, l'ultima il"
check "and where it was before" body_has partner-it "In
precedenza era assegnata a France."
check "the French partner hears it moved (French)" body_has partner-fr "Vous n'avez plus à vous en occuper."

# ---- 4. the Belgian partner, in Dutch
check_rc "route 1 BE (Dutch)" 0 sd route 1 BE
sd send >/dev/null 2>&1
check "the Belgian partner gets the Dutch re-route notice" \
	body_has partner-be "heeft een vraag aan u doorgestuurd (Belgium). Deze lag
eerder bij Italy."
check "it says the desk replied" body_has partner-be "Beantwoord: ja, laatste antwoord"
check "the Dutch one lists the attachments too" body_has partner-be "Bijlagen:"
check "the Italian partner hears it moved (Italian)" body_has partner-it "Non dovete più occuparvene."

# ---- 5. [notice] attach = under:10K: the PDF rides along, the sheet does not
make_desk "$T_DIR/b"
printf '\n[notice]\nattach = under:10K\n' >>"$d/secdesk.conf"
check_rc "ingest with attach = under:10K" 0 sd ingest "$T_DIR/m1.eml"
sd send >/dev/null 2>&1
check_eq "the PDF is carried, byte for byte" "application/pdf Projektskizze.pdf 3000 $pdf_sha" \
	"$(py_mail partner-de parts)"
check "the list marks the spreadsheet as not attached" \
	body_has partner-de "40 KB) - not attached"
check "the notice text is there as well" body_has partner-de "> Hello, can a hospital in Berlin"
check_eq "the ticket's copy holds no attachment bytes" 0 \
	"$(q "SELECT count(*) FROM messages WHERE kind = 'notice' AND body LIKE '%JVBER%'")"
check_rc "route 1 FR carries it too" 0 sd route 1 FR
sd send >/dev/null 2>&1
check_eq "the re-route notice carries the PDF" "application/pdf Projektskizze.pdf 3000 $pdf_sha" \
	"$(py_mail partner-fr parts)"

# ---- 6. attach = yes: both; a bad value is a config error
make_desk "$T_DIR/c"
printf '\n[notice]\nattach = yes\n' >>"$d/secdesk.conf"
sd ingest "$T_DIR/m1.eml" >/dev/null 2>&1
sd send >/dev/null 2>&1
check_eq "attach = yes: both ride along" 2 "$(py_mail partner-de parts | wc -l | tr -d ' ')"
check_eq "its name decodes" "Budget Übersicht.xlsx" \
	"$(py_mail partner-de parts | sed -n 2p | sed 's/^[^ ]* //; s/ [0-9]* [0-9a-f]*$//')"
sed -i 's/^attach = yes/attach = sometimes/' "$d/secdesk.conf"
check_rc "attach = sometimes: exit 78" 78 sd list
check "the error names the key and the forms" grep -q "attach: 'sometimes' is not no, yes or under:SIZE" "$T_DIR/.err"
done_testing

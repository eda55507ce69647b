#!/bin/sh
# secdesk list's table and formats: the table fits COLUMNS=60/80/120 and
# the piped default (78) by display columns (UTF-8 subjects: Polish, a
# combining accent, CJK), cut with an ellipsis; closed tickets and spam
# left out unless --all, --status closed or --category spam; --limit counts
# what is shown; --format csv|tsv|json|TEMPLATE and their usage errors; the
# legend of [!] in list --help.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
sd db init >/dev/null

# mail N FROM SUBJECT BODY
mail() {
	cat >"$T_DIR/$1.eml" <<MAIL
From: Someone <$2>
To: secretariat@icpermed.example
Subject: $3
Message-ID: <table$1@example.org>
Content-Type: text/plain; charset=utf-8

$4
MAIL
	sd ingest "$T_DIR/$1.eml" >/dev/null
}
mail 1 a.very.long.requester.address@university-hospital.example.org \
	"Interview request about the ICPerMed award, its jury and the \"prize\"" "A question."
mail 2 pl@example.org "Zgłoszenie — pytanie o termin składania wniosków w konkursie" "Pytanie."
mail 3 jp@example.org "研究助成金の申請について質問があります、締め切りはいつですか" "質問"
mail 4 e@example.org "$(printf 'Cafe\314\201 in Lyon: the conference venue and the programme')" "Hello."
mail 5 spam@example.org "Cheap pills, casino bonus, lottery winner" "Viagra casino lottery winner, claim your prize money now."
mail 6 closed@example.org "An old question" "Hello."
sd status 6 closed >/dev/null

# The widest line of a file in display columns (east Asian wide: two,
# combining marks: none).
widest() {
	python3 -c '
import sys, unicodedata
w = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    n = sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
    w = max(w, n)
print(w)' "$1"
}

for c in 60 80 120; do
	COLUMNS=$c sd list >"$T_DIR/t$c.txt"
	check "COLUMNS=$c: no line wider than $c columns (widest $(widest "$T_DIR/t$c.txt"))" \
		test "$(widest "$T_DIR/t$c.txt")" -le "$c"
	check "COLUMNS=$c: a header line" grep -q '^ID  *STATUS  *QUEUE .*SUBJECT' "$T_DIR/t$c.txt"
	check_eq "COLUMNS=$c: four tickets (closed and spam left out)" "5" "$(wc -l <"$T_DIR/t$c.txt" | tr -d ' ')"
	check_eq "COLUMNS=$c: queue third" "secretariat" "$(awk '$1 == 1 { print $3 }' "$T_DIR/t$c.txt")"
done
env -u COLUMNS "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/piped.txt"
check "piped without COLUMNS: at most 78 columns (widest $(widest "$T_DIR/piped.txt"))" \
	test "$(widest "$T_DIR/piped.txt")" -le 78
check "piped: the category column is there" grep -q '^ID .*CATEGORY' "$T_DIR/piped.txt"
check "COLUMNS=60: the category column makes room" sh -c "! grep -q CATEGORY '$T_DIR/t60.txt'"
check "COLUMNS=60: a long subject is cut with an ellipsis" grep -q '^2 .*Zgłoszenie.*…$' "$T_DIR/t60.txt"
check "COLUMNS=60: the CJK subject is cut by columns" grep -q '^3 .*研究.*…$' "$T_DIR/t60.txt"
check "COLUMNS=60: the requester is cut too" grep -q '^1 .* a\.very\.[a-z]*… ' "$T_DIR/t60.txt"
COLUMNS=200 sd list >"$T_DIR/t200.txt"
check "COLUMNS=200: the Polish subject whole" grep -q '^2 .*Zgłoszenie — pytanie o termin składania wniosków w konkursie$' "$T_DIR/t200.txt"
check "COLUMNS=200: the requester whole" grep -q '^1 .* a\.very\.long\.requester\.address@university-hospital\.example\.org ' "$T_DIR/t200.txt"
# (the CJK line may end a column short: a wide character is not split)
check_eq "COLUMNS=60: every cut Latin line is 60 columns wide, the accented one too (a combining mark takes none)" \
	"60 60 60" "$(python3 -c '
import sys, unicodedata
print(" ".join(str(sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l.rstrip("\n"))) for l in open(sys.argv[1], encoding="utf-8") if l[0] in "124"))' "$T_DIR/t60.txt")"
check "COLUMNS=200: the accented subject whole" grep -q "^4 .*Cafe$(printf '\314\201') in Lyon: the conference venue and the programme$" "$T_DIR/t200.txt"

# What is left out, and how to see it
L() { sd list --json "$@" | python3 -c 'import json,sys; print(" ".join(str(t["id"]) for t in json.load(sys.stdin)))'; }
check_eq "default: no closed ticket, no spam" "1 2 3 4" "$(L --sort id)"
check_eq "--all: every ticket" "1 2 3 4 5 6" "$(L --sort id --all)"
check_eq "--status closed shows the closed one" "6" "$(L --status closed)"
check_eq "--category spam shows spam" "5" "$(L --category spam)"
check_eq "--limit counts the tickets shown" "1 2" "$(L --sort id --limit 2)"
check_eq "--format json is --json" "$(sd list --json)" "$(sd list --format json)"
check_eq "the table lists the same tickets" "1 2 3 4" "$(COLUMNS=120 sd list --sort id | awk 'NR > 1 { printf "%s%s", s, $1; s = " " }')"

# CSV, TSV, templates
sd list --format csv --sort id >"$T_DIR/l.csv"
check_eq "csv: header and the subject with a comma and quotes, read back" \
	'id status subject|1 new Interview request about the ICPerMed award, its jury and the "prize"' \
	"$(python3 -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))
print(" ".join(["id", "status", "subject"]) + "|" + " ".join([r[0]["id"], r[0]["status"], r[0]["subject"]]))' "$T_DIR/l.csv")"
check_eq "csv: the UTF-8 subject as it is" "研究助成金の申請について質問があります、締め切りはいつですか" \
	"$(python3 -c 'import csv,sys; print(list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))[2]["subject"])' "$T_DIR/l.csv")"
check_eq "csv: times in UTC" "Z" "$(python3 -c 'import csv,sys; print(list(csv.DictReader(open(sys.argv[1], newline="")))[0]["created"][-1])' "$T_DIR/l.csv")"
sd list --format tsv --sort id >"$T_DIR/l.tsv"
check_eq "tsv: a header of the keys" "id status queue category priority language assignee requester requester_name subject created updated flags tags" \
	"$(head -n 1 "$T_DIR/l.tsv" | tr '\t' ' ')"
check_eq "tsv: fourteen fields a line" "14" "$(awk -F'\t' 'NR == 2 { print NF }' "$T_DIR/l.tsv")"
check_eq "template" "2|pl@example.org|new" "$(sd list --format '%{id}|%{requester}|%{status}' --sort id | sed -n 2p)"
check_eq "template: %% and \\t" "1 100% x	y" "$(sd list --format '%{id} 100%% x\ty' --sort id --limit 1)"
check_eq "template: tags and flags" "5 spam spam" "$(sd list --format '%{id} %{tags} %{flags}' --category spam)"
check_rc "an unknown template key" 64 sd list --format '%{nope}'
check "it names the key" grep -q "unknown key 'nope'" "$T_DIR/.err"
check_rc "an unclosed %{" 64 sd list --format '%{id'
check_rc "an unknown format" 64 sd list --format xml
check "it names the formats" grep -q "table, csv, tsv, json" "$T_DIR/.err"

# The legend
sd help list >"$T_DIR/help.txt"
tr -s ' \n' '  ' <"$T_DIR/help.txt" >"$T_DIR/help1.txt"
check "list --help explains [!]" grep -q 'ends in \[!\] when the ticket is flagged' "$T_DIR/help1.txt"
check "list --help names the template keys" grep -q 'requester_name, subject, created' "$T_DIR/help1.txt"
check "the manual explains [!]" sh -c "MANWIDTH=200 mandoc -T utf8 '$TOP/doc/secdesk.1' | col -b | tr '\t\n' '  ' | tr -s ' ' | grep -q 'ends in \[!\] when the ticket is flagged'"
done_testing

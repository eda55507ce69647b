#!/bin/sh
# The search language (secdesk(1), SEARCH LANGUAGE) against a desk of seven
# tickets: a table of queries and the tickets each must find, then the
# queries that must be refused with the spot named.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
export SECDESK_USER=alice TZ=UTC

# mail N FROM-NAME FROM-ADDR SUBJECT BODY RECEIVED(epoch) [CC]
mail() {
	cat >"$T_DIR/m$1.eml" <<MAIL
From: $2 <$3>
To: secretariat@icpermed.example${7:+
Cc: $7}
Subject: $4
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <search-$1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear secretariat,
$5
Kind regards
MAIL
	SECDESK_NOW=$6 sd ingest "$T_DIR/m$1.eml" >/dev/null ||
		not_ok "ingest of mail $1"
}

sd db init >/dev/null
# 2026-11-02, 2026-11-10, 2026-11-20, 2026-12-01, 2026-12-05, 2026-12-06 (noon UTC)
mail 1 "Anna Schmidt" anna@charite.de "Call eligibility question" \
	"Is a hospital eligible for funding in the joint call?" 1793620800
mail 2 "Marco Rossi" marco@unimi.it "Membership of Italy" \
	"We ask about membership and the annual meeting." 1794312000 "giulia@unimi.it"
mail 3 "Jan de Vries" jan@umcg.nl "Spam filter complaint" \
	"Your spam filter blocked our call application." 1795176000
mail 4 "Laura Perez" laura@isciii.es "Budget rules" \
	"What budget rules apply to partners in the joint call?" 1796126400
mail 5 "Pierre Martin" pierre@inserm.fr "Conference registration" \
	"I want to register for the conference in Paris, not the call." 1796472000
mail 6 "Press Desk" press@journal.example "Interview request" \
	"A journalist asking about the award of the consortium." 1796558400
mail 7 "Paweł Żółć" pawel@uw.edu.pl "Zgłoszenie do konkursu" \
	"Chcę zgłosić wniosek. Viele Grüße, Förderfähigkeit der Kosten; Ærø, Đakovo, Þórshöfn." 1796558400
sd route 2 IT >/dev/null
sd route 4 ES >/dev/null
sd status 3 closed >/dev/null
sd tag 1 urgent >/dev/null
sd tag 4 Urgent >/dev/null
sd assign 5 bob >/dev/null
store_sql "$d" "UPDATE tickets SET category = 'general';
	UPDATE tickets SET category = 'membership' WHERE id = 2;
	UPDATE tickets SET category = 'press' WHERE id = 6;
	UPDATE tickets SET category = 'funding' WHERE id IN (1, 4)"

# The table (shared with test_pg_search, which runs it against both
# backends): query <TAB> the tickets it finds, in id order.
ids() { python3 -c "import json,sys; print(' '.join(str(i) for i in sorted(t['id'] for t in json.load(sys.stdin))))"; }
n=0
while IFS='	' read -r query want; do
	case $query in '#'*|'') continue ;; esac
	n=$((n + 1))
	# shellcheck disable=SC2086
	got=$(sd search --json -- $query 2>"$T_DIR/err" | ids)
	check_eq "search $query" "$want" "$got"
done <"$TOP/tests/e2e/search_language.table"
check "the table had its rows ($n)" test "$n" -ge 55

# Relative dates count back from now (SECDESK_NOW).
export SECDESK_NOW=1796601600 # 2026-12-07 00:00 UTC
check_eq "date:7d.. is the last week" "4 5 6 7" "$(sd search --json -- 'date:7d..' | ids)"
check_eq "date:1m.. is the last month" "2 3 4 5 6 7" "$(sd search --json -- 'date:1m..' | ids)"
check_eq "date:yesterday" "6 7" "$(sd search --json -- 'date:yesterday' | ids)"
check_eq "date:..2w before two weeks ago" "1 2 3" "$(sd search --json -- 'date:..2w' | ids)"
unset SECDESK_NOW

# -word after -- is NOT word, not an option; quoted too.
check_eq "'call -budget' quoted in one argument" "1 3 5" "$(sd search --json 'call -budget' | ids)"
check_rc "-budget without -- is taken as options (usage)" 64 sd search -budget

# Malformed queries: exit 64, the column named and a caret under it.
bad() {
	sd search -- "$1" >/dev/null 2>"$T_DIR/err"
	rc=$?
	if [ "$rc" -eq 64 ] && grep -qF "$2" "$T_DIR/err" && grep -q '^ *\^$' "$T_DIR/err"; then
		ok "refused: $1 ($2)"
	else
		not_ok "refused: $1 (exit $rc)"
		sed 's/^/#   /' "$T_DIR/err"
	fi
}
bad 'call OR' "a word expected after the operator at column 8"
bad 'OR call' "a word expected before the operator at column 1"
bad '(call' "'(' without ')' at column 1"
bad 'call)' "')' without '(' at column 5"
bad 'call "joint' "unclosed quote at column 6"
bad 'subject:' "a word or \"phrase\" expected after the field"
bad 'date:soon' "a date expected"
bad 'date:2026-13' "a date expected"
bad 'id:abc' "id: takes a ticket number"
bad '""' "empty phrase"
bad 'call *' "'*' ends a word"
check "the caret stands under the spot" sh -c \
	"'$SECDESK' -c '$d/secdesk.conf' search -- 'call OR' 2>&1 | tail -n 1 | grep -qx '         ^'"
done_testing

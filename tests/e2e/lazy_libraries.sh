#!/bin/sh
# libxml2 and uchardet are opened when mail first needs them, libpq when a
# PostgreSQL store is opened (include/lazylib.h, src/store/pq.h): a staff
# command starts without them, and one that cannot be opened stops the
# command with exit 75 and its name, the mail kept for the next attempt
# once the installation is mended.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
sd db init >/dev/null

check "the program does not load them at its start" \
	sh -c "! ldd '$SECDESK' | grep -E 'lib(xml2|uchardet|pq)\\.'"
# The loader finds these broken copies first (LD_LIBRARY_PATH).
broken=$T_DIR/broken-libs
mkdir -p "$broken"
# break_libraries NAMES: broken copies of the libraries named NAMES (an
# extended regular expression) by the sonames the program opens, in place
# of the ones broken before.
break_libraries() {
	rm -f "$broken"/*
	for name in $(strings "$SECDESK" | grep -E "^lib($1)\\.so\\.[0-9]+\$" | sort -u); do
		printf 'not a library\n' >"$broken/$name"
	done
}
break_libraries 'xml2|uchardet'
check_eq "the program names both libraries" 2 "$(ls "$broken" | wc -l)"
broken_sd() { LD_LIBRARY_PATH=$broken "$SECDESK" -c "$d/secdesk.conf" "$@"; }

make_mail "$T_DIR/plain.eml" plain@example.org
check_rc "a plain UTF-8 mail needs neither" 0 broken_sd ingest "$T_DIR/plain.eml"
check_rc "list needs neither" 0 broken_sd list
check_rc "show needs neither" 0 broken_sd show 1

cat >"$T_DIR/html.eml" <<'MAIL'
From: Test Person <html@example.org>
To: secretariat@icpermed.example
Subject: HTML only
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <html@example.org>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p>Dear secretariat,</p><p>is <b>Portugal</b> a partner?</p></body></html>
MAIL
check_rc "an HTML mail without libxml2: exit 75" 75 broken_sd ingest "$T_DIR/html.eml"
check "the error names libxml2" grep -q "cannot load libxml2.so.*installation is incomplete" "$T_DIR/.err"
check_eq "nothing of it is stored" 1 "$(sd list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
# The first attempt stored the mail and left it pending, as a crash does:
# the next attempt finishes it, and says what it made of it.
check_rc "mended, the same mail again" 0 sd ingest "$T_DIR/html.eml"
check_eq "it says the ticket it opened" "new ticket #2" "$(cat "$T_DIR/.out")"
check_rc "offered once more" 0 sd ingest "$T_DIR/html.eml"
check_eq "now it is stored already" "already stored" "$(cat "$T_DIR/.out")"
check_eq "it has opened its ticket, once" "2 2" "$(sd list --json | python3 -c 'import json,sys; t=json.load(sys.stdin); print(len(t), max(x["id"] for x in t))')"
check "its HTML was read as text" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 2 | grep -q 'is Portugal a partner?'"

# 8-bit text with no charset: uchardet guesses it.
printf 'From: Test Person <latin@example.org>\nTo: secretariat@icpermed.example\nSubject: Latin-1\nDate: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <latin@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nGr\374\337e aus M\374nchen, la r\351union du comit\351.\n' >"$T_DIR/latin.eml"
check_rc "8-bit text of no charset without uchardet: exit 75" 75 broken_sd ingest "$T_DIR/latin.eml"
check "the error names uchardet" grep -q "cannot load libuchardet.so" "$T_DIR/.err"
check_rc "mended, the same mail again" 0 sd ingest "$T_DIR/latin.eml"
check_eq "it has opened its ticket, once" "3 3" "$(sd list --json | python3 -c 'import json,sys; t=json.load(sys.stdin); print(len(t), max(x["id"] for x in t))')"
check "its text was decoded" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 3 | grep -q 'Grüße aus München'"
# A fetch reads its mail in threads: the first to need libxml2 stops the
# run; the mailbox keeps the mail, and the next run stores it once.
sed 's/html@example.org>$/html2@example.org>/; s/^Subject: HTML only/Subject: HTML by fetch/' \
	"$T_DIR/html.eml" >"$d/inbox/new/1.eml"
for i in 1 2 3 4 5 6; do make_mail "$d/inbox/new/p$i.eml" "p$i@example.org"; done
check_rc "a fetch without libxml2: exit 75" 75 broken_sd fetch
check "its error names libxml2" grep -q "cannot load libxml2" "$T_DIR/.err"
check_rc "mended, the next fetch" 0 sd fetch
check_eq "every mail has its one ticket" "1 7" "$(sd list --json | python3 -c 'import json,sys; t=json.load(sys.stdin); print(sum(x["subject"] == "HTML by fetch" for x in t), len(t) - 3)')"

# libpq: a SQLite desk never opens it; a PostgreSQL one cannot do without.
break_libraries pq
check_eq "the program names libpq" 1 "$(ls "$broken" | wc -l)"
make_mail "$T_DIR/after.eml" after@example.org after@example.org "Opened without libpq"
if store_is_pg; then
	check_rc "list on PostgreSQL without libpq: exit 75" 75 broken_sd list
	check "the error names libpq" grep -q "cannot load libpq.so.*installation is incomplete" "$T_DIR/.err"
	check_rc "a mail on PostgreSQL without libpq: exit 75" 75 broken_sd ingest "$T_DIR/after.eml"
	check_eq "nothing of it is stored" 10 "$(sd list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
else
	check_rc "a mail on SQLite without libpq" 0 broken_sd ingest "$T_DIR/after.eml"
	check_rc "list on SQLite without libpq" 0 broken_sd list
	check "its ticket is listed" grep -q "Opened without libpq" "$T_DIR/.out"
	check_rc "search on SQLite without libpq" 0 broken_sd search secretariat
fi
done_testing

#!/bin/sh
# Terminal safety (issue 15, point 9), through the real binary: a mail
# whose subject, display name and body carry C1 controls, bidi overrides,
# isolates and marks, and a store holding (as a hand-edited or older store
# could) ESC sequences, a lone CR, DEL and bytes that are not UTF-8. list,
# show, search, rules test, stats, outbox, report --html and error messages
# print none of them raw: they come out as \xHH / \uHHHH escapes
# (termsafe.h), Hebrew, Arabic and emoji unchanged; list's columns count the
# escaped form; --json keeps the exact text.
. "$TOP/tests/lib.sh"
sqlite_only "a store holding bytes that are not UTF-8, which a PostgreSQL UTF8 database refuses"
d=$T_DIR/desk
make_config "$d"
chmod 700 "$d/outbox"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
export SECDESK_USER=alice
sd db init >/dev/null

# unsafe FILE [lines]: the characters of FILE that could steer a terminal,
# as Python reprs, one per line (none: empty). With "lines", newline and tab
# are allowed (text of several lines), else newline only (line ends).
unsafe() {
	python3 - "$1" "${2:-}" <<'EOF'
import sys
text = open(sys.argv[1], 'rb').read().decode('utf-8', 'surrogateescape')
ok = '\n\t' if sys.argv[2] == 'lines' else '\n'
for ch in text:
    c = ord(ch)
    if ch in ok:
        continue
    if c < 0x20 or c == 0x7f or 0x80 <= c <= 0x9f or c in (0x61c, 0x200e, 0x200f) \
       or 0x202a <= c <= 0x202e or 0x2066 <= c <= 0x2069 or 0xdc80 <= c <= 0xdcff:
        print(repr(ch))
EOF
}

SUBJ='Inv \u202egpj.exe \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \U0001F600 c1\u009b31m end'
python3 - "$T_DIR/m1.eml" "$SUBJ" <<'EOF'
import base64, sys
subj = sys.argv[2].encode('ascii').decode('unicode_escape')
name = "Eve\u202e \u009d0;x"
body = ("Line one \u202e reversed\nLine two \u2067isolate\u2069 and \u200f mark \u061c\n"
        "Tabbed\there \u05e9\u05dc\u05d5\u05dd \U0001F44D\n")
ew = lambda s: "=?utf-8?b?%s?=" % base64.b64encode(s.encode()).decode()
open(sys.argv[1], "w").write(
    "From: %s <eve@example.org>\nTo: secretariat@icpermed.example\nSubject: %s\n"
    "Date: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <t1@example.org>\nMIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n%s"
    % (ew(name), ew(subj), base64.encodebytes(body.encode()).decode()))
EOF
make_mail "$T_DIR/m2.eml" t2@example.org bob@example.org "Second"
sd ingest "$T_DIR/m1.eml" >/dev/null
sd ingest "$T_DIR/m2.eml" >/dev/null
# What the parser would not let through, put in the store directly: ESC
# sequences, BEL, DEL, a lone CR, bytes that are not UTF-8; a queue with a
# bidi override.
python3 - "$d/secdesk.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE tickets SET subject = ?, queue = ? WHERE id = 2",
          ("\x1b" * 40, "Q\u202eX"))
c.execute("UPDATE messages SET subject = 'S\x1b[2J\x07\x7f' || CAST(X'ff' AS TEXT),"
          " body = 'paid' || char(13) || 'UNPAID \x1b]0;title' || char(7) || char(10)"
          " || 'bad ' || CAST(X'c0af' AS TEXT) || ' byte' || char(10) WHERE ticket_id = 2"
          " AND direction = 'in'")
c.commit()
EOF

# ---------- list ----------
# wide enough for the whole first subject (list cuts to the width)
COLUMNS=200 sd list >"$T_DIR/list.out"
check_eq "list: nothing that steers the terminal" "" "$(unsafe "$T_DIR/list.out")"
check "list: the override and the C1 control as escapes" grep -q 'Inv \\u202egpj.exe' "$T_DIR/list.out"
check "list: C1 control as \\u009b" grep -q 'c1\\u009b31m end' "$T_DIR/list.out"
check "list: Hebrew, Arabic and emoji unchanged" grep -q "$(printf 'שלום مرحبا \360\237\230\200')" "$T_DIR/list.out"
# The columns, found by the header: the category where the escaped queue's
# padding puts it; the subject cut without splitting an escape.
sd list --json >"$T_DIR/list.json"
python3 - "$T_DIR/list.out" "$T_DIR/list.json" >"$T_DIR/cols" <<'EOF'
import json, sys
cat = {t['id']: t['category'] for t in json.load(open(sys.argv[2]))}
rows = open(sys.argv[1], encoding='utf-8').read().splitlines()
at, subj = rows[0].index('CATEGORY'), rows[0].index('SUBJECT')
for r in rows[1:]:
    i = int(r.split()[0])
    print(i, 'aligned' if r[at:at + len(cat[i]) + 1] == cat[i] + ' ' else 'misaligned: ' + repr(r), r[subj:])
EOF
check_eq "list: the escaped queue is padded by what is shown (category column aligned)" \
	"aligned aligned" "$(awk '{ print $2 }' "$T_DIR/cols" | tr '\n' ' ' | sed 's/ $//')"
check "list: 40 ESC bytes show as escapes, the cut splitting none" \
	grep -qE '^2 aligned (\\x1b)+…$' "$T_DIR/cols"
check "list: the queue shown escaped" grep -q 'Q\\u202eX ' "$T_DIR/list.out"
check_eq "list --json keeps the exact text" "True True" "$(python3 -c "
import json,sys
d = {t['id']: t for t in json.load(open(sys.argv[1]))}
print(d[2]['subject'] == '\x1b' * 40, d[1]['subject'] == sys.argv[2].encode('ascii').decode('unicode_escape'))" "$T_DIR/list.json" "$SUBJ")"

# ---------- show ----------
sd show 1 >"$T_DIR/show1.out"
check_eq "show: nothing that steers the terminal (tab kept in the body)" "" "$(unsafe "$T_DIR/show1.out" lines)"
check "show: the subject line escaped" grep -q '^Subject: Inv \\u202egpj.exe' "$T_DIR/show1.out"
check "show: the display name escaped" grep -q '^From:    Eve\\u202e \\u009d0;x <eve@example.org>' "$T_DIR/show1.out"
check "show: the body's isolates and marks escaped" grep -q 'Line two \\u2067isolate\\u2069 and \\u200f mark \\u061c' "$T_DIR/show1.out"
check "show: the body's tab, Hebrew and emoji kept" grep -q "$(printf 'Tabbed\there שלום \360\237\221\215')" "$T_DIR/show1.out"
sd show 2 >"$T_DIR/show2.out"
check_eq "show (store with C0 and bad bytes): nothing that steers the terminal" "" "$(unsafe "$T_DIR/show2.out" lines)"
check "show: ESC, BEL, DEL and a bad byte in the subject escaped" grep -q '^Subject: S\\x1b\[2J\\x07\\x7f\\xff$' "$T_DIR/show2.out"
check "show: a lone CR in the body escaped, the line not overwritten" grep -q 'paid\\x0dUNPAID \\x1b\]0;title\\x07' "$T_DIR/show2.out"
check "show: an overlong UTF-8 sequence escaped byte by byte" grep -q 'bad \\xc0\\xaf byte' "$T_DIR/show2.out"
sd show 1 --json >"$T_DIR/show1.json"
check_eq "show --json keeps the exact text" "True True" "$(python3 -c "
import json,sys
d = json.load(open(sys.argv[1]))
print(d['subject'] == sys.argv[2].encode('ascii').decode('unicode_escape'), d['messages'][0]['from_name'] == 'Eve\u202e \u009d0;x')" "$T_DIR/show1.json" "$SUBJ")"

# ---------- search, rules test, stats, outbox, report ----------
sd search mark >"$T_DIR/search.out"
check_eq "search: nothing that steers the terminal" "" "$(unsafe "$T_DIR/search.out")"
check "search: the snippet's isolates and marks escaped" grep -q 'isolate\\u2069 and \\u200f \[mark\]' "$T_DIR/search.out"
sd rules test "$T_DIR/m1.eml" >"$T_DIR/rules.out"
check_eq "rules test: nothing that steers the terminal" "" "$(unsafe "$T_DIR/rules.out")"
check "rules test: the subject escaped" grep -q '^subject: Inv \\u202egpj.exe' "$T_DIR/rules.out"
sd stats >"$T_DIR/stats.out"
check_eq "stats: nothing that steers the terminal" "" "$(unsafe "$T_DIR/stats.out")"
check "stats: the queue escaped" grep -q 'Q\\u202eX' "$T_DIR/stats.out"
sd outbox --all >"$T_DIR/outbox.out"
check_eq "outbox: nothing that steers the terminal" "" "$(unsafe "$T_DIR/outbox.out")"
sd report --html "$T_DIR/r.html" >/dev/null
check_eq "report --html: no control, override or bad byte in the page" "" "$(unsafe "$T_DIR/r.html" lines)"
check "report --html: the queue shown escaped" grep -q 'Q\\u202eX' "$T_DIR/r.html"

# ---------- error messages ----------
sd status 1 "$(printf 'x\033]0;pwned\007')" 2>"$T_DIR/err.out"
check_eq "an error quoting its input: nothing that steers the terminal" "" "$(unsafe "$T_DIR/err.out")"
check "an error quoting its input: shown escaped" grep -q "x\\\\x1b\]0;pwned\\\\x07" "$T_DIR/err.out"
# A tag is one word without control characters: refused, and the refusal
# quotes it escaped.
sd tag 1 "$(printf 'vip\033[8m')" >/dev/null 2>"$T_DIR/tag.err"
check_eq "tag: a tag with an ESC is refused, nothing that steers the terminal" "" "$(unsafe "$T_DIR/tag.err")"
check "tag: the refusal shows the ESC escaped" grep -q 'vip\\x1b\[8m' "$T_DIR/tag.err"
sd show 1 >"$T_DIR/show1b.out"
check "show: the refused tag is not on the ticket" sh -c "! grep -q '^Tags:.*vip' '$T_DIR/show1b.out'"

done_testing

#!/bin/sh
# Every fixture tests/mail/NNNN.eml through the parser (tests/tools/parsedump)
# compared with NNNN.expect beside it; NNNN.args holds parsedump options
# (e.g. a size limit). Then the fixtures through `secdesk ingest`: stored,
# attachments listed and written back byte for byte.
. "$TOP/tests/lib.sh"
: "${BUILD:=$TOP/build}"
dump=$BUILD/tests/tools/parsedump
if [ ! -x "$dump" ]; then
	skip "parsedump not built (make check builds it)"
	done_testing
	exit
fi
for eml in "$TOP"/tests/mail/*.eml; do
	base=${eml%.eml}
	name=$(basename "$base")
	args=""
	[ -f "$base.args" ] && args=$(cat "$base.args")
	# shellcheck disable=SC2086
	if "$dump" $args "$eml" >"$T_DIR/out" 2>"$T_DIR/err" && cmp -s "$base.expect" "$T_DIR/out"; then
		ok "tests/mail/$name parses as expected"
	else
		not_ok "tests/mail/$name parses as expected"
		diff "$base.expect" "$T_DIR/out" | sed 's/^/#   /' | head -20
	fi
	check "tests/mail/$name: every string valid UTF-8" "$dump" -c $args "$eml"
done

# Through ingest: the stored attachment is the decoded file.
make_config "$T_DIR/desk"
conf=$T_DIR/desk/secdesk.conf
check_rc "ingest of the RFC 2231 fixture" 0 "$SECDESK" -c "$conf" ingest "$TOP/tests/mail/0006.eml"
"$SECDESK" -c "$conf" attachment 1 1 -o "$T_DIR/a1" 2>"$T_DIR/err"
check_eq "attachment 1 written with -o" "%PDF-1.4" "$(head -c 8 "$T_DIR/a1")"
"$SECDESK" -c "$conf" attachment 1 3 >"$T_DIR/a3" 2>"$T_DIR/err"
check_eq "attachment 3 to stdout" "attached text, not body" "$(cat "$T_DIR/a3")"
check_rc "no attachment 4" 65 "$SECDESK" -c "$conf" attachment 1 4
check_rc "usage error without N" 64 "$SECDESK" -c "$conf" attachment 1
"$SECDESK" -c "$conf" show 1 >"$T_DIR/show.txt"
check "show lists the attachments by number" grep -q "2. Budžet.xlsx (application/octet-stream, 4 bytes)" "$T_DIR/show.txt"
check_eq "show --json lists them with names and sizes" "Übersicht 2027 call.pdf 9 True" \
	"$("$SECDESK" -c "$conf" show 1 --json | python3 -c 'import json,sys; a=json.load(sys.stdin)["attachments"][0]; print(a["filename"], a["size"], a["kept"])')"
# The same file in a second ticket is stored once.
sed 's/0006@ut.ee/0006-again@ut.ee/; s/^Subject: .*/Subject: the same files again/' \
	"$TOP/tests/mail/0006.eml" >"$T_DIR/again.eml"
check_rc "ingest of the same files in a new mail" 0 "$SECDESK" -c "$conf" ingest "$T_DIR/again.eml"
if command -v sqlite3 >/dev/null 2>&1; then
	check_eq "six attachment rows" 6 "$(store_sql "$T_DIR/desk" 'SELECT count(*) FROM attachments')"
	check_eq "three blobs: each file stored once" 3 "$(store_sql "$T_DIR/desk" 'SELECT count(*) FROM blobs')"
else
	skip "sqlite3 shell not installed"
	skip "sqlite3 shell not installed"
fi
done_testing

#!/bin/sh
# Every message of the shared corpus (../shared/corpus: real bounces,
# auto-replies, MIME torture and malformed mail) through the parser and
# through ingest: no crash (nor sanitizer report, in make asan), every
# message stored, every stored subject and body valid UTF-8, and no
# acknowledgement to a bounce or an auto-reply of sisimai's set.
# Skips visibly when the corpus is absent.
. "$TOP/tests/lib.sh"
: "${BUILD:=$TOP/build}"
corpus=$TOP/../shared/corpus
dump=$BUILD/tests/tools/parsedump
if [ ! -d "$corpus" ]; then
	skip "no corpus at ../shared/corpus"
	done_testing
	exit
fi
if [ ! -x "$dump" ]; then
	skip "parsedump not built (make check builds it)"
	done_testing
	exit
fi
find "$corpus" -type f ! -name '*.md' ! -name '*.tsv' ! -name 'LICENSE*' ! -name 'PROVENANCE*' \
	! -path '*/LICENSES/*' ! -name '.*' | sort >"$T_DIR/list"
n=$(wc -l <"$T_DIR/list")
fails=0
while read -r f; do
	if ! "$dump" -c "$f" >/dev/null 2>>"$T_DIR/dump.err"; then
		fails=$((fails + 1))
	fi
done <"$T_DIR/list"
check_eq "all $n corpus messages parse to valid UTF-8 without a crash" 0 "$fails"
[ "$fails" -eq 0 ] || head -20 "$T_DIR/dump.err" | sed 's/^/#   /'

# A sample (every 20th message) under valgrind: no leak, no invalid access.
case "$BUILD" in
*asan*) skip "valgrind sample: not with the ASan build" ;;
*)
	if command -v valgrind >/dev/null 2>&1; then
		awk 'NR % 20 == 0' "$T_DIR/list" >"$T_DIR/sample"
		# shellcheck disable=SC2046
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible --error-exitcode=9 \
			--suppressions="$TOP/tests/valgrind.supp" "$dump" -c $(cat "$T_DIR/sample") \
			>"$T_DIR/vg.out" 2>&1
		rc=$?
		check "a sample of $(wc -l <"$T_DIR/sample") under valgrind: no leak or error" [ "$rc" -eq 0 ]
		[ "$rc" -eq 0 ] || head -30 "$T_DIR/vg.out" | sed 's/^/#   /'
	else
		skip "valgrind not installed"
	fi
	;;
esac

# Through secdesk: a Maildir of the whole corpus, one fetch.
make_config "$T_DIR/desk"
i=0
while read -r f; do
	i=$((i + 1))
	cp "$f" "$T_DIR/desk/inbox/new/corpus.$i.host"
done <"$T_DIR/list"
"$SECDESK" -c "$T_DIR/desk/secdesk.conf" fetch >"$T_DIR/fetch.out" 2>&1
rc=$?
check "fetch of the corpus ends with 0 (stored, flagged where broken)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || tail -5 "$T_DIR/fetch.out" | sed 's/^/#   /'
db=$T_DIR/desk/secdesk.db
store_sql "$db" "SELECT sha256 FROM raws" >"$T_DIR/have"
missing=$(python3 - "$T_DIR/have" "$T_DIR/list" <<'PY'
import hashlib, sys
have = set(open(sys.argv[1]).read().split())
missing = 0
for path in open(sys.argv[2]).read().split('\n'):
    if path and hashlib.sha256(open(path, 'rb').read()).hexdigest() not in have:
        missing += 1
print(missing)
PY
)
check_eq "every corpus message stored (its raw bytes in the store)" 0 "$missing"
echo "# fetch: $(tail -n 1 "$T_DIR/fetch.out")"
store_sql "$db" "SELECT hex(subject), hex(body), hex(from_name), hex(from_addr) FROM messages" \
	>"$T_DIR/texts"
bad=$(python3 - "$T_DIR/texts" <<'PY'
import sys
bad = 0
for line in open(sys.argv[1]):
    for v in line.rstrip('\n').split('|'):
        try:
            s = bytes.fromhex(v).decode('utf-8')
            if '\0' in s:
                bad += 1
        except UnicodeDecodeError:
            bad += 1
print(bad)
PY
)
check_eq "every stored subject, body and sender valid UTF-8 without NUL" 0 "$bad"
# Inbound messages of sisimai's bounces and auto-replies that got an ack.
acks=$(store_sql "$db" "SELECT count(*) FROM outbox o WHERE o.kind = 'ack' AND o.ticket_id IN
  (SELECT ticket_id FROM messages WHERE direction = 'in' AND (flags & 6) != 0)
  AND o.ticket_id NOT IN (SELECT ticket_id FROM messages WHERE direction = 'in' AND (flags & 6) = 0)")
check_eq "no acknowledgement to a ticket made only of bounces and auto-replies" 0 "$acks"
done_testing

#!/bin/sh
# make bench: messages per second through secdesk end to end (a Maildir of
# generated inquiries into a fresh store, durable group commits) beside the
# bare SQLite loop that is this machine's storage limit; peak memory. Then
# the benches of the other stages, where present (bench/*.sh).
# BENCH_N sets the number of mails (default 10000), BENCH_SIZE their size.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
N=${BENCH_N:-10000}
SIZE=${BENCH_SIZE:-10240}
out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT

now() { date +%s.%N; }
rate() { python3 -c "print('%.0f' % ($1 / ($3 - $2)))"; }

echo "== generating $N mails of ~$SIZE bytes"
"$BUILD/bench/gen_mail" "$out/gen" "$N" "$SIZE"
bytes=$(du -sb "$out/gen/new" | cut -f1)

echo "== bare SQLite loop (same FTS5 index, commits of 100, synchronous=FULL)"
t0=$(now); "$BUILD/bench/bare_loop" "$out/gen" "$out/bare.db"; t1=$(now)
bare=$(rate "$N" "$t0" "$t1")
echo "bare loop: $bare mails/s"

echo "== secdesk fetch, end to end (maildir -> parse -> rules -> store -> outbox)"
mkdir -p "$out/desk/outbox"
cp -R "$out/gen" "$out/desk/inbox"
cat >"$out/desk/secdesk.conf" <<CONF
[desk]
name = ICPerMed Secretariat
address = secretariat@icpermed.example
tag = ICPerMed
[mailbox]
url = maildir:inbox
[store]
path = secdesk.db
[send]
url = dir:outbox
[rules]
dir = $top/rules
[templates]
dir = $top/templates
CONF
t0=$(now)
/usr/bin/env time -f '%M' -o "$out/rss" "$SECDESK" -v -c "$out/desk/secdesk.conf" fetch \
	>"$out/desk.out" 2>"$out/desk.err" || { echo "secdesk fetch failed:"; cat "$out/desk.err"; }
t1=$(now)
sd=$(rate "$N" "$t0" "$t1")
rss_kb=$(tail -n 1 "$out/rss")
echo "secdesk: $sd mails/s end to end; peak RSS $((rss_kb / 1024)) MB"
python3 -c "print('ratio to the bare loop: %.0f%%' % (100.0 * $sd / $bare))"
python3 -c "print('input: %.1f MB, %.1f MB/s' % ($bytes / 1e6, $bytes / 1e6 / ($t1 - $t0)))"
left=$(ls "$out/desk/inbox/new" | wc -l)
echo "left in new/: $left"
# Where the storing thread's time went (secdesk -v), as messages/s per stage.
grep -o 'stage times: .*' "$out/desk.err" || true
python3 - "$N" "$(grep -o 'stage times: .*' "$out/desk.err")" <<'PY' || true
import re, sys
n = int(sys.argv[1])
for name, secs in re.findall(r'([a-z ]+) ([0-9.]+) s', sys.argv[2]):
    name = name.strip().replace('stage times: ', '')
    rate = n / float(secs) if float(secs) > 0 else float('inf')
    print('  %-12s %6.2f s  %9.0f msgs/s' % (name, float(secs), rate))
PY

for b in "$top"/bench/*.sh; do
	case "$b" in */run.sh) continue ;; esac
	echo "== $(basename "$b")"
	BUILD=$BUILD SECDESK=$SECDESK sh "$b" || echo "($(basename "$b") failed)"
done

#!/bin/sh
# Peak memory against the size of the backlog (run by make bench): one
# secdesk fetch each of 10,000 and of BENCH_MEM_N (default 100,000) unseen
# generated mails, into a fresh store, peak RSS by /usr/bin/time. A fetch
# keeps the mailbox's listing on disk and holds a window of it (fetch.c),
# so the two should be about the same, and both under 64 MB. Each fetch
# plain ([store] index_thread = no) and with the thread, the default
# (BENCH_MODES picks).
#   BUILD=$PWD/build SECDESK=$PWD/build/secdesk sh bench/memory.sh
# BENCH_MEM_SIZE: the mails' size (default 2048 bytes: the backlog's
# length is what counts here, and small mails keep the run short).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
BIG=${BENCH_MEM_N:-100000}
SIZE=${BENCH_MEM_SIZE:-2048}
out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-membench.XXXXXX")
trap 'rm -rf "$out"' EXIT
. "$top/bench/lib.sh"

for mode in ${BENCH_MODES:-plain thread}; do
for n in 10000 "$BIG"; do
	d=$out/$n
	bench_conf "$d"
	[ "$mode" = plain ] && sed -i 's/^\[store\]/[store]\nindex_thread = no/' "$d/secdesk.conf"
	"$BUILD/bench/gen_mail" "$d/inbox" "$n" "$SIZE" >/dev/null
	"$SECDESK" -c "$d/secdesk.conf" db init >/dev/null
	if ! /usr/bin/env time -f '%M %e' -o "$d/time" "$SECDESK" -c "$d/secdesk.conf" fetch \
		>/dev/null 2>"$d/err"; then
		echo "secdesk fetch of $n mails failed:"
		cat "$d/err"
		exit 1
	fi
	set -- $(tail -n 1 "$d/time")
	echo "$n unseen mails of ~$SIZE bytes ($mode): peak RSS $(($1 / 1024)) MB ($2 s); left in new/: $(ls "$d/inbox/new" | wc -l)"
	rm -rf "$d"
done
done

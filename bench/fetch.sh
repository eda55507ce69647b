#!/bin/sh
# bench/fetch.sh - N messages (default 10,000) over IMAPS from a private
# Dovecot on 127.0.0.1: secdesk beside mbsync (Debian's isync) on the same
# mailbox in the same run. Messages/s, MB/s and peak RSS of each:
#   - secdesk's IMAP source alone (tests/tools/source_probe: TLS, login,
#     UID FETCH BODY.PEEK[] in batches, nothing stored), the transport
#     that compares with mbsync;
#   - secdesk fetch end to end (IMAP -> parse -> rules -> store -> outbox);
#   - mbsync pulling the mailbox into a Maildir.
# Run by make bench (bench/run.sh), or alone:
#   BUILD=$PWD/build SECDESK=$PWD/build/secdesk sh bench/fetch.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
N=${BENCH_N:-10000}
SIZE=${BENCH_SIZE:-10240}
out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-fetchbench.XXXXXX")
. "$top/tests/harness/dovecot.sh"
trap 'dovecot_stop; rm -rf "$out"' EXIT

for tool in dovecot certtool mbsync; do
	command -v $tool >/dev/null 2>&1 || { echo "fetch bench: $tool missing, skipped"; exit 0; }
done
[ -x "$BUILD/tests/tools/source_probe" ] || { echo "fetch bench: build/tests/tools/source_probe missing (make check builds it), skipped"; exit 0; }

dovecot_start "$out/dc" || { echo "fetch bench: cannot start Dovecot"; exit 1; }
echo "== $N messages of ~$SIZE bytes into the Dovecot mailbox"
"$BUILD/bench/gen_mail" "$DC_MAILDIR" "$N" "$SIZE" >/dev/null
[ "$(id -u)" -eq 0 ] && chown -R "$DC_MAIL_UID:$DC_MAIL_GID" "$DC_MAILDIR"
bytes=$(find "$DC_MAILDIR/new" -type f -exec cat {} + | wc -c)
# Let Dovecot index the mailbox once, and warm the page cache, so that
# neither client pays for it.
dovecot_adm fetch -u "$DC_USER" 'uid size.physical' mailbox INBOX >/dev/null
find "$DC_MAILDIR" -type f -exec cat {} + >/dev/null

now() { date +%s.%N; }
report() { # NAME T0 T1 RSS_FILE
	python3 - "$1" "$N" "$bytes" "$2" "$3" "$(tail -n 1 "$4")" <<'PY'
import sys
name, n, b, t0, t1, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
dt = t1 - t0
print("%-34s %7.2f s %7.0f msgs/s %6.1f MB/s  peak RSS %4.0f MB" % (name, dt, n / dt, b / 1e6 / dt, rss / 1024.0))
PY
}

printf '%s' "$DC_PASS" >"$out/pass"
chmod 600 "$out/pass"
. "$top/bench/lib.sh"
desk_conf() { # DIR
	bench_conf "$1" "" "url = imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX
password_file = $out/pass
ca_file = $DC_CA
after = keep"
}

echo "== input: $N messages, $(python3 -c "print('%.1f' % ($bytes / 1e6))") MB"
desk_conf "$out/probe"
t0=$(now)
/usr/bin/env time -f '%M' -o "$out/rss1" "$BUILD/tests/tools/source_probe" \
	"$out/probe/secdesk.conf" fetch >"$out/probe.out" 2>/dev/null
t1=$(now)
got=$(wc -l <"$out/probe.out")
report "secdesk IMAP source (transport)" "$t0" "$t1" "$out/rss1"
[ "$got" -eq "$N" ] || echo "  (got $got of $N messages!)"

mkdir -p "$out/mbsync"
cat >"$out/mbsyncrc" <<RC
IMAPAccount bench
Host localhost
Port $DC_IMAPS_PORT
User $DC_USER
PassCmd "cat $out/pass"
SSLType IMAPS
CertificateFile $DC_CA

IMAPStore remote
Account bench

MaildirStore local
Path $out/mbsync/
Inbox $out/mbsync/INBOX

Channel pull
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
SyncState *
RC
t0=$(now)
/usr/bin/env time -f '%M' -o "$out/rss2" mbsync -q -c "$out/mbsyncrc" pull
t1=$(now)
report "mbsync (isync $(mbsync -v 2>/dev/null | head -1 | awk '{print $2}'))" "$t0" "$t1" "$out/rss2"
mbsync_s=$(python3 -c "print($t1 - $t0)")
got=$(ls "$out/mbsync/INBOX/new" "$out/mbsync/INBOX/cur" | grep -c . || true)
[ "$got" -ge "$N" ] || echo "  (mbsync got $got of $N messages!)"
# mbsync syncs every message file (FSync yes); secdesk syncs once per batch
# of 100. Without its per-message fsync, for comparison:
rm -rf "$out/mbsync"
mkdir -p "$out/mbsync"
sed -i '1i FSync no' "$out/mbsyncrc"
t0=$(now)
/usr/bin/env time -f '%M' -o "$out/rss2" mbsync -q -c "$out/mbsyncrc" pull
t1=$(now)
report "mbsync, FSync no" "$t0" "$t1" "$out/rss2"

if [ -x "$SECDESK" ]; then
	desk_conf "$out/desk"
	t0=$(now)
	/usr/bin/env time -f '%M' -o "$out/rss3" "$SECDESK" -v -c "$out/desk/secdesk.conf" fetch \
		>/dev/null 2>"$out/desk.err" || { echo "secdesk fetch failed:"; cat "$out/desk.err"; }
	t1=$(now)
	report "secdesk fetch (end to end)" "$t0" "$t1" "$out/rss3"
	python3 -c "print('  secdesk end to end / mbsync: %.2fx' % (($t1 - $t0) / $mbsync_s))"
	grep -o 'stage times: .*' "$out/desk.err" | sed 's/^/  /' || true
	echo "  stored: $(sqlite3 "$out/desk/secdesk.db" "SELECT count(*) FROM messages WHERE direction = 'in'" 2>/dev/null || echo '?') of $N"
fi

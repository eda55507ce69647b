#!/bin/sh
# A locked store and a full disk: clear errors, the right exit codes, and
# nothing lost (the mail stays in the Maildir, or with the MTA).
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
printf '[store]\nbusy_timeout = 1s\n' >>"$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
sd db init >/dev/null

# A store locked by another process for longer than busy_timeout.
make_mail "$T_DIR/m.eml" locked@example.org
# The holder says when it has the lock and keeps it until told to let go,
# so the checks wait for progress, never for a time.
if store_is_pg; then
	pg_hold "$d" "$T_DIR/release" intake raws messages tickets
	holder=$pg_holder
	touch "$T_DIR/locked"
else
python3 - "$d/secdesk.db" "$T_DIR/locked" "$T_DIR/release" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
for _ in range(6000):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.01)
db.execute("ROLLBACK")
PY
holder=$!
fi
n=0
while [ ! -e "$T_DIR/locked" ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n + 1)); done
check "the holder has the store locked" test -e "$T_DIR/locked"
check_rc "ingest into a locked store exits 75 (the MTA retries)" 75 \
	env SECDESK_TEST_SYSLOG="$T_DIR/syslog" "$SECDESK" -c "$d/secdesk.conf" ingest "$T_DIR/m.eml"
check "with a clear error in the mail log" grep -qi "locked\|busy\|lock timeout" "$T_DIR/syslog"
check "and no local path in what the MTA passes on" sh -c "! grep -q '$T_DIR' '$T_DIR/.err'"
make_mail "$d/inbox/new/1.M1.host" locked-run@example.org
check_rc "run on a locked store exits 75" 75 sd run
check_eq "the maildir message is still in new/" 1 "$(ls "$d/inbox/new" | wc -l)"
touch "$T_DIR/release"
wait "$holder"
check_rc "once the lock is gone, ingest works" 0 sd ingest "$T_DIR/m.eml"
check_rc "and run too" 0 sd run
check_eq "new/ is empty" 0 "$(ls "$d/inbox/new" | wc -l)"

# A full disk: the store on a small tmpfs.
if store_is_pg; then
	skip "sqlite only: the store's file on a full tmpfs"
elif [ "$(id -u)" -ne 0 ] || ! mkdir -p "$T_DIR/small" || ! mount -t tmpfs -o size=400k tmpfs "$T_DIR/small" 2>/dev/null; then
	skip "full disk: needs root to mount a small tmpfs"
else
	unmount_small() { umount "$T_DIR/small" 2>/dev/null; }
	at_exit unmount_small
	f=$T_DIR/full
	make_config "$f"
	sed -i "s|^path = secdesk.db|path = $T_DIR/small/secdesk.db|" "$f/secdesk.conf"
	"$SECDESK" -c "$f/secdesk.conf" db init >/dev/null
	# Mails of ~40 KB each: the 400 KB disk fills within a few.
	i=1
	while [ $i -le 30 ]; do
		make_mail "$f/inbox/new/2$(printf %05d $i).M$i.host" "full$i@example.org" "full$i@example.org" "Full disk $i"
		head -c 30000 /dev/zero | tr '\0' 'x' | fold -w 70 >>"$f/inbox/new/2$(printf %05d $i).M$i.host"
		i=$((i + 1))
	done
	sed -i 's/^batch.*//' "$f/secdesk.conf"
	sed -i 's/^after = seen/after = seen\nbatch = 5/' "$f/secdesk.conf"
	"$SECDESK" -c "$f/secdesk.conf" run >"$T_DIR/out" 2>"$T_DIR/err"; rc=$?
	check "a run that fills the disk fails" test "$rc" -ne 0
	check "saying so" grep -qi "full\|disk\|no space" "$T_DIR/err"
	stored=$(store_sql "$T_DIR/small" "SELECT count(*) FROM messages WHERE direction = 'in'" 2>/dev/null || echo 0)
	left=$(ls "$f/inbox/new" | wc -l)
	check_eq "every message is either stored or still in new/" 30 "$((stored + left))"
	make_mail "$T_DIR/big.eml" full-ingest@example.org
	head -c 300000 /dev/zero | tr '\0' 'y' | fold -w 70 >>"$T_DIR/big.eml"
	check_rc "ingest on a full disk exits 75 (the MTA keeps the mail)" 75 "$SECDESK" -c "$f/secdesk.conf" ingest "$T_DIR/big.eml"
	# Make room: move the store to a real disk and run again.
	cp "$T_DIR/small/secdesk.db" "$f/secdesk.db"
	[ -f "$T_DIR/small/secdesk.db-wal" ] && cp "$T_DIR/small/secdesk.db-wal" "$f/secdesk.db-wal"
	sed -i "s|^path = .*|path = $f/secdesk.db|" "$f/secdesk.conf"
	check_rc "with room again, the run completes" 0 "$SECDESK" -c "$f/secdesk.conf" run
	check_eq "all 30 stored exactly once" "30 30" \
		"$(store_sql "$f" "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE direction = 'in'" | tr '|' ' ')"
	check_eq "new/ is empty" 0 "$(ls "$f/inbox/new" | wc -l)"
fi
done_testing

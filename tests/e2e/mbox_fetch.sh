#!/bin/sh
# mbox:PATH: every after mode, mboxrd unescaping, the locks MTAs take
# (dot-lock and fcntl) respected, a stale dot-lock cleared, SIGKILL mid-run
# then a full run: each message stored exactly once.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/mailbox.sh"
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }

# mbox_desk DIR AFTER: a desk reading DIR/box.mbox.
mbox_desk() {
	make_config "$1"
	sed -i "s|^url   = maildir:inbox|url = mbox:box.mbox\ntimeout = 1|; s|^after = seen|after = $2|" \
		"$1/secdesk.conf"
	"$SECDESK" -c "$1/secdesk.conf" db init >/dev/null
}
# mbox_add FILE FIRST LAST TAG: appends messages as an MTA does.
mbox_add() {
	python3 - "$@" <<'PY'
import sys
path, first, last, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, "a") as f:
    for i in range(first, last + 1):
        f.write("From sender%d@example.org Mon Nov  2 10:00:00 2026\n" % i)
        f.write("From: Sender %d <sender%d@example.org>\nTo: secretariat@icpermed.example\n"
                "Subject: Inquiry %s %d\nMessage-ID: <%s-%d@example.org>\n\n"
                "Dear secretariat,\n>From the start of the call\n>>From quoted\nthanks\n\n"
                % (i, i, tag, i, tag, i))
PY
}
nmsgs() { grep -c '^From ' "$1" || true; }

d=$T_DIR/keep
mbox_desk "$d" keep
mbox_add "$d/box.mbox" 1 4 k
sum=$(md5sum <"$d/box.mbox")
check_rc "mbox, after = keep: fetch" 0 sd "$d" fetch
check_eq "four stored" "4 4" "$(stored "$d/secdesk.db")"
check_eq "the mbox is unchanged" "$sum" "$(md5sum <"$d/box.mbox")"
check_eq "'>From' lines unescaped (mboxrd)" 4 \
	"$(store_sql "$d" "SELECT count(*) FROM raws WHERE instr(data, '
From the start') > 0 AND instr(data, '
>From quoted') > 0")"
check_eq "no From_ line in the stored message" 0 \
	"$(store_sql "$d" "SELECT count(*) FROM raws WHERE substr(data, 1, 5) = 'From '")"
check_eq "no dot-lock left behind" "" "$(ls "$d" | grep 'box.mbox.lock' || true)"
check_rc "again" 0 sd "$d" fetch
check_eq "nothing twice" "4 4" "$(stored "$d/secdesk.db")"

d=$T_DIR/seen
mbox_desk "$d" seen
mbox_add "$d/box.mbox" 1 4 s
check_rc "after = seen: fetch" 0 sd "$d" fetch
check_eq "four stored" "4 4" "$(stored "$d/secdesk.db")"
check_eq "each has Status: RO" 4 "$(grep -c '^Status: RO' "$d/box.mbox")"
check_eq "and is still there" 4 "$(nmsgs "$d/box.mbox")"
mbox_add "$d/box.mbox" 5 6 s
check_rc "two more delivered, fetch" 0 sd "$d" fetch
check_eq "six stored, none twice" "6 6" "$(stored "$d/secdesk.db")"
check_eq "six seen" 6 "$(grep -c '^Status: RO' "$d/box.mbox")"

d=$T_DIR/del
mbox_desk "$d" delete
mbox_add "$d/box.mbox" 1 5 d
check_rc "after = delete: fetch" 0 sd "$d" fetch
check_eq "five stored" "5 5" "$(stored "$d/secdesk.db")"
check_eq "the mbox is empty" 0 "$(wc -c <"$d/box.mbox")"

d=$T_DIR/move
mbox_desk "$d" move:Done
mbox_add "$d/box.mbox" 1 5 m
check_rc "after = move:Done: fetch" 0 sd "$d" fetch
check_eq "five stored" "5 5" "$(stored "$d/secdesk.db")"
check_eq "the mbox is empty" 0 "$(nmsgs "$d/box.mbox")"
check_eq "Done (beside it) holds the five" 5 "$(nmsgs "$d/Done")"

# Locks: a fresh dot-lock held by an MTA makes the run wait, then give up
# with 75; an fcntl lock the same; a stale dot-lock (older than 5 min) is
# cleared.
d=$T_DIR/lock
mbox_desk "$d" delete
mbox_add "$d/box.mbox" 1 3 l
touch "$d/box.mbox.lock"
check_rc "a held dot-lock: 75" 75 sd "$d" fetch
check "the message says it is locked" grep -q "locked" "$T_DIR/.err"
check_eq "nothing taken" 3 "$(nmsgs "$d/box.mbox")"
check_eq "the MTA's dot-lock is left alone" yes "$([ -f "$d/box.mbox.lock" ] && echo yes)"
touch -d '10 minutes ago' "$d/box.mbox.lock"
check_rc "a stale dot-lock is cleared" 0 sd "$d" fetch
check_eq "three stored" "3 3" "$(stored "$d/secdesk.db")"
mbox_add "$d/box.mbox" 4 5 l
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(20)
' "$d/box.mbox" "$T_DIR/locked" &
holder=$!
i=0
while [ ! -f "$T_DIR/locked" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check_rc "an fcntl lock held by another process: 75" 75 sd "$d" fetch
kill "$holder"
wait "$holder" 2>/dev/null
check_eq "nothing taken meanwhile" 2 "$(nmsgs "$d/box.mbox")"
check_rc "once it is released: fetch" 0 sd "$d" fetch
check_eq "five stored" "5 5" "$(stored "$d/secdesk.db")"

# SIGKILL at a random message of 200, four times, then a full run.
d=$T_DIR/crash
mbox_desk "$d" delete
sed -i "s|^after = delete|after = delete\nbatch = 20|" "$d/secdesk.conf"
mbox_add "$d/box.mbox" 1 200 c
seed=3
killed=0
for round in 1 2 3 4; do
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	# Staged messages are not fetched again: the fault counts fresh ones.
	left=$((200 - $(store_sql "$d" "SELECT count(*) FROM intake" 2>/dev/null || echo 0)))
	[ "$left" -lt 1 ] && left=1
	SECDESK_FAULT_SOURCE_STOP=$((1 + seed % left)) "$SECDESK" -c "$d/secdesk.conf" fetch \
		>/dev/null 2>&1 &
	pid=$!
	i=0
	while [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != T ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	[ $? -eq 137 ] && killed=$((killed + 1))
done
check_eq "four runs killed mid-way" 4 "$killed"
# A killed run leaves its dot-lock behind; it names a dead PID, so the
# next run clears it at once.
check_rc "a full run after the kills" 0 sd "$d" fetch
check_eq "all 200 stored exactly once" "200 200" "$(stored "$d/secdesk.db")"
check_eq "the mbox is empty" 0 "$(nmsgs "$d/box.mbox")"
done_testing

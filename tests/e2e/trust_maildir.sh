#!/bin/sh
# Maildir entries that are not regular files (issue 15, point 13): a
# symlink (to a file outside the Maildir, whose content must never be
# stored), a fifo (must not hang the run), a folder, a device: each skipped
# with a warning naming it, never followed, never moved or deleted.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sed -i 's/^after = seen/after = delete/' "$d/secdesk.conf"
"$SECDESK" -c "$d/secdesk.conf" db init >/dev/null
q() { store_sql "$d" "$1"; }

make_mail "$d/inbox/new/1000.M1.host" real-1@example.org real@example.org "A real inquiry"
# A file of the desk's user outside the Maildir, that looks like mail.
mkdir -p "$T_DIR/private"
make_mail "$T_DIR/private/secret.eml" secret-1@example.org boss@example.org "Secret"
echo "PRIVATE-MARKER-7d1f" >>"$T_DIR/private/secret.eml"
cp "$T_DIR/private/secret.eml" "$T_DIR/secret.orig"
ln -s "$T_DIR/private/secret.eml" "$d/inbox/new/1001.M2.host"
ln -s "$T_DIR/private/secret.eml" "$d/inbox/cur/1002.M3.host:2,"
ln -s "$T_DIR/private" "$d/inbox/new/1003.M4.host"
mkfifo "$d/inbox/new/1004.M5.host"
mkdir "$d/inbox/new/1005.M6.host"
device=""
if [ "$(id -u)" -eq 0 ] && mknod "$d/inbox/new/1006.M7.host" c 1 3 2>/dev/null; then
	device=1
fi

timeout 60 "$SECDESK" -c "$d/secdesk.conf" run >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
check_eq "the run ends, with a fifo in new/ (no hang), and exits 0" 0 "$rc"
check_eq "only the regular file is stored" "real-1@example.org" \
	"$(q "SELECT group_concat(message_id) FROM messages WHERE direction = 'in'")"
check_eq "the symlink's target is not in the store" 0 \
	"$(q "SELECT count(*) FROM raws WHERE instr(data, 'PRIVATE-MARKER-7d1f') > 0")"
check "the symlink in new/ is named in a warning" \
	grep -q "skipping '.*/inbox/new/1001.M2.host': a symbolic link" "$T_DIR/err"
check "the symlink in cur/ too" grep -q "skipping '.*/inbox/cur/1002.M3.host:2,': a symbolic link" "$T_DIR/err"
check "the symlink to a folder too" grep -q "skipping '.*/inbox/new/1003.M4.host': a symbolic link" "$T_DIR/err"
check "the fifo too" grep -q "skipping '.*/inbox/new/1004.M5.host': a fifo" "$T_DIR/err"
check "the folder too" grep -q "skipping '.*/inbox/new/1005.M6.host': a folder" "$T_DIR/err"
if [ -n "$device" ]; then
	check "the device too" grep -q "skipping '.*/inbox/new/1006.M7.host': a device" "$T_DIR/err"
else
	skip "a device in new/: needs root for mknod"
fi
check "the entries are left in place (after = delete deleted none of them)" \
	test -L "$d/inbox/new/1001.M2.host" -a -L "$d/inbox/cur/1002.M3.host:2," \
	-a -p "$d/inbox/new/1004.M5.host" -a -d "$d/inbox/new/1005.M6.host"
check "the target is untouched" cmp -s "$T_DIR/private/secret.eml" "$T_DIR/secret.orig"
check "the real message was taken (deleted)" test ! -e "$d/inbox/new/1000.M1.host"
check_rc "a second run: 0, nothing more" 0 timeout 60 "$SECDESK" -c "$d/secdesk.conf" run
check_eq "still one message" 1 "$(q "SELECT count(*) FROM messages WHERE direction = 'in'")"
check_eq "no intake row for the entries skipped" 1 "$(q "SELECT count(*) FROM intake")"
done_testing

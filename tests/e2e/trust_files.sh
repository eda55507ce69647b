#!/bin/sh
# Files are private (issue 15, point 8), through the real binary: under
# umask 022 and 000 the store, its -wal and -shm (seen while a command holds
# the store open), the search index, the run lock, the outbox folder and its
# mails, a backup and a report are 0600 (folders 0700); with [store] group
# they are 0660 / 2770 and belong to that group, even under umask 077; a
# group that does not exist is a config error naming file:line (exit 78);
# db check warns about a store made 0644 and says the chmod to run, on
# stderr and in --json.
. "$TOP/tests/lib.sh"
sqlite_only "the modes of the store's files (secdesk.db, -search, .lock)"
export SECDESK_USER=alice

# The editor of `reply` runs while secdesk holds the store open: it notes
# the modes of the store's files, then writes the reply.
cat >"$T_DIR/editor.sh" <<'EOF'
#!/bin/sh
for f in "$DB" "$DB-wal" "$DB-shm"; do
	if [ -e "$f" ]; then stat -c '%a %G' "$f"; else echo "missing $f"; fi
done >"$MODES"
echo "Thank you for your question." >"$1"
EOF
chmod 755 "$T_DIR/editor.sh"

# desk DIR UMASK [GROUP]: a desk (its files shared with GROUP) made, fed,
# answered, searched, backed up and reported on under UMASK.
desk() {
	_d=$1 _u=$2
	make_config "$_d"
	rmdir "$_d/outbox"
	[ -n "${3:-}" ] && sed -i "s/^path = secdesk.db\$/path = secdesk.db\ngroup = $3/" "$_d/secdesk.conf"
	make_mail "$_d/m1.eml" "files1@example.org" "person@example.org" "Funding question"
	(
		umask "$_u"
		sd() { "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
		sd db init >/dev/null &&
		sd ingest "$_d/m1.eml" >/dev/null &&
		sd send >/dev/null &&
		sd search funding >/dev/null &&
		sd db backup "$_d/backup.db" >/dev/null &&
		sd report --html "$_d/report.html" >/dev/null &&
		on_tty env DB="$_d/secdesk.db" MODES="$_d/open-modes" EDITOR="$T_DIR/editor.sh" \
			"$SECDESK" -c "$_d/secdesk.conf" reply 1 >/dev/null
	)
}

# modes DIR: "mode" of each file, in a fixed order, and the outbox's mails.
modes() {
	for f in secdesk.db secdesk.db-search secdesk.db.lock backup.db report.html outbox; do
		printf '%s=%s ' "$f" "$(stat -c %a "$1/$f" 2>/dev/null || echo missing)"
	done
	printf 'mails=%s' "$(stat -c %a "$1"/outbox/*.eml 2>/dev/null | sort -u | tr '\n' ' ')"
}

want="secdesk.db=600 secdesk.db-search=600 secdesk.db.lock=600 backup.db=600 report.html=600 outbox=700 mails=600 "
for u in 022 000; do
	d=$T_DIR/desk$u
	if desk "$d" $u; then ok "umask $u: a desk is made and used"; else not_ok "umask $u: a desk is made and used"; fi
	check_eq "umask $u: every file 0600, the outbox folder 0700" "$want" "$(modes "$d")"
	check "umask $u: the outbox holds the ack" test "$(ls "$d/outbox" | wc -l)" -ge 1
	check_eq "umask $u: the store, its -wal and -shm are 0600 while open" \
		"600 600 600" "$(cut -d' ' -f1 "$d/open-modes" | tr '\n' ' ' | sed 's/ $//')"
done

# ---------- db check: a store made 0644 ----------
d=$T_DIR/desk022
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
check_rc "db check on private files" 0 sd db check
check_eq "db check on private files: no warning" "" "$(cat "$T_DIR/.err")"
chmod 644 "$d/secdesk.db"
check_rc "db check on a 0644 store still passes" 0 sd db check
check "db check warns that the store is 0644" grep -q "warning: '$d/secdesk.db' has mode 0644, looser than 0600" "$T_DIR/.err"
check "db check says the chmod to run" grep -q "run chmod 600 '$d/secdesk.db'" "$T_DIR/.err"
sd db check --json >"$T_DIR/check.json" 2>"$T_DIR/check.err"
check_eq "db check --json on a 0644 store exits 0" 0 $?
check_eq "db check --json: file_modes names the store, its mode and the fix" \
	"$d/secdesk.db 0644 0600 chmod 600 '$d/secdesk.db'" \
	"$(python3 -c "import json,sys; f=[x for x in json.load(open(sys.argv[1]))['file_modes'] if x['path'] == sys.argv[2]][0]; print(f['path'], f['mode'], f['expected'], f['fix'])" "$T_DIR/check.json" "$d/secdesk.db")"
check "db check --json warns on stderr too" grep -q "chmod 600" "$T_DIR/check.err"
chmod 755 "$d/outbox"
chmod 644 "$d"/outbox/*.eml
sd db check >/dev/null 2>"$T_DIR/outbox.err"
check "db check warns about the outbox folder" grep -q "'$d/outbox' has mode 0755, looser than 0700: run chmod 700" "$T_DIR/outbox.err"
check "db check sums the outbox's loose mails up in one line" grep -q "mails in the outbox folder '$d/outbox' are readable by others: run find" "$T_DIR/outbox.err"
chmod 600 "$d/secdesk.db" "$d"/outbox/*.eml
chmod 700 "$d/outbox"
sd db check --json >"$T_DIR/check2.json" 2>"$T_DIR/check2.err"
check_eq "after the chmod: file_modes is empty, nothing on stderr" "[] " \
	"$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['file_modes'])" "$T_DIR/check2.json") $(cat "$T_DIR/check2.err")"

# ---------- [store] group ----------
d=$T_DIR/nogroup
make_config "$d"
sed -i 's/^path = secdesk.db$/path = secdesk.db\ngroup = secdesk-no-such-group/' "$d/secdesk.conf"
check_rc "a group that does not exist is a config error" 78 "$SECDESK" -c "$d/secdesk.conf" db init
check "the error names file:line and the group" grep -q "secdesk.conf:12: \[store\] group: no group 'secdesk-no-such-group'" "$T_DIR/.err"
check "nothing was created" test ! -e "$d/secdesk.db"

# A real group: made for the test when root, else one of the user's own
# (one other than the primary group when there is one).
grp=
if [ "$(id -u)" -eq 0 ]; then
	g=sdt$$
	if command -v groupadd >/dev/null 2>&1 && groupadd "$g" 2>/dev/null; then
		grp=$g
		drop_group() { groupdel "$grp" 2>/dev/null; }
		at_exit drop_group
	fi
else
	for g in $(id -Gn); do
		grp=$g
		[ "$g" != "$(id -gn)" ] && break
	done
fi
if [ -z "$grp" ]; then
	skip "[store] group: no group to test with (groupadd failed, or no group of the user)"
else
	d=$T_DIR/group
	if desk "$d" 077 "$grp"; then ok "group $grp, umask 077: a desk is made and used"; else not_ok "group $grp, umask 077: a desk is made and used"; fi
	check_eq "group: every file 0660, the outbox folder 2770" \
		"secdesk.db=660 secdesk.db-search=660 secdesk.db.lock=660 backup.db=660 report.html=660 outbox=2770 mails=660 " \
		"$(modes "$d")"
	check_eq "group: every file belongs to $grp" "$grp" \
		"$(stat -c %G "$d/secdesk.db" "$d/secdesk.db-search" "$d/secdesk.db.lock" "$d/backup.db" "$d/report.html" "$d/outbox" "$d"/outbox/*.eml | sort -u)"
	check_eq "group: the store, its -wal and -shm are 0660 and $grp's while open" \
		"660 $grp|660 $grp|660 $grp|" "$(tr '\n' '|' <"$d/open-modes")"
	sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
	check_rc "group: db check passes" 0 sd db check
	check_eq "group: db check warns only that the folder is not the group's, setgid" \
		"secdesk: warning: the store's folder '$d' is not shared with group $grp: run chgrp $grp '$d' && chmod 2770 '$d' (secdesk.conf(5), [store] group)" \
		"$(cat "$T_DIR/.err")"
	chgrp "$grp" "$d" && chmod 2770 "$d"
	check_rc "group: db check passes in a folder set up as the manual says" 0 sd db check
	check_eq "group: db check has no warning then" "" "$(cat "$T_DIR/.err")"
	chmod 644 "$d/secdesk.db"
	check_rc "group: db check on a 0644 store" 0 sd db check
	check "group: db check says chmod 660" grep -q "has mode 0644 and group $grp, looser than 0660 for group $grp: run chmod 660 '$d/secdesk.db'" "$T_DIR/.err"
	chmod 660 "$d/secdesk.db"
	if [ "$(id -u)" -eq 0 ]; then
		chgrp root "$d/secdesk.db"
		check_rc "group: db check on a store of another group" 0 sd db check
		check "group: db check says the chgrp to run" grep -q "has mode 0660 and group root, looser than 0660 for group $grp: run chgrp $grp '$d/secdesk.db' && chmod 660" "$T_DIR/.err"
		chgrp "$grp" "$d/secdesk.db"
	fi
fi

# ---------- the systemd units ----------
for u in "$TOP"/contrib/systemd/*.service; do
	n=$(basename "$u")
	check_eq "$n: UMask=0077, a private state directory" "UMask=0077 StateDirectory=secdesk StateDirectoryMode=0750" \
		"$(grep -E '^(UMask|StateDirectory|StateDirectoryMode)=' "$u" | tr '\n' ' ' | sed 's/ $//')"
done

done_testing

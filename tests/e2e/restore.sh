#!/bin/sh
# A restore from a backup, told truthfully (issue 18, point 10): after the
# store is put back to a backup, db check finds the search index that saw
# the lost mail (stale: exit 65, "db reindex"), and db reindex fixes it;
# verify reads the folder of after = move:FOLDER, lists the processed mail
# the store lost, and verify --reingest stores it again, once, without a
# second acknowledgement. On a Maildir, then on IMAP (the harness Dovecot).
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
acks() { grep -l '^Auto-Submitted: auto-replied' "$1"/outbox/* 2>/dev/null | wc -l | tr -d ' '; }

# restore_scenario DESK LABEL DELIVER: DELIVER N1 N2 puts inquiries N1..N2
# where the desk reads.
restore_scenario() {
	_d=$1 _l=$2 _deliver=$3
	sd() { "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
	$_deliver 1 3
	sd run >/dev/null 2>"$T_DIR/run1.err"
	check_eq "$_l: the first run stores three tickets" "3 3" "$(stored "$_d/secdesk.db")"
	sd db backup "$T_DIR/$_l.backup.db" >/dev/null
	$_deliver 4 6
	sd run >/dev/null 2>"$T_DIR/run2.err"
	check_eq "$_l: the second run stores three more" "6 6" "$(stored "$_d/secdesk.db")"
	sd search --json inquiry >/dev/null
	_acks=$(acks "$_d")
	check_eq "$_l: six acknowledgements went out" 6 "$_acks"
	check_rc "$_l: verify before the restore: all is well" 0 sd verify

	# The disk is lost; the backup comes back, the index file stays.
	store_restore "$_d" "$T_DIR/$_l.backup.db" || not_ok "$_l: restore the backup"
	if store_is_pg; then
		# PostgreSQL's index is a column of the database: restored with it.
		for _i in 1 2 3 4; do
			skip "sqlite only: the index file outlives a restore of the store's file"
		done
	else
	check_rc "$_l: db check after the restore fails (65)" 65 sd db check
	check "$_l: it names the stale index" grep -q "search index .*stale" "$T_DIR/.err"
	check "$_l: and says db reindex fixes it" grep -q "secdesk db reindex" "$T_DIR/.err"
	_rc=$(sd db check --json >"$T_DIR/check.json" 2>/dev/null; echo $?)
	check_eq "$_l: db check --json: search_index.stale, exit 65" "True 65" \
		"$(jget "d['search_index']['stale']" <"$T_DIR/check.json") $_rc"
	fi
	check_rc "$_l: db reindex" 0 sd db reindex
	check_rc "$_l: db check is content after db reindex" 0 sd db check

	check_rc "$_l: verify after the restore: 65" 65 sd verify
	check "$_l: it counts three processed mails missing" \
		grep -q "processed into Done, not in the store: 3" "$T_DIR/.out"
	check_eq "$_l: each is listed" 3 "$(grep -c '^processed, not in the store: ' "$T_DIR/.out")"
	check_eq "$_l: verify --json lists them too" "3 3 False" \
		"$(sd verify --json | jget "d['moved_not_in_store'], len(d['moved_missing']), d['ok']")"

	check_rc "$_l: verify --reingest stores them again" 0 sd verify --reingest
	check_eq "$_l: it says so for each" 3 "$(grep -c 'reingested into ticket #' "$T_DIR/.out")"
	check_eq "$_l: the store has all six again, once each" "6 6" "$(stored "$_d/secdesk.db")"
	check_eq "$_l: with an event saying why" 3 "$(store_sql "$_d" \
		"SELECT count(*) FROM events WHERE what = 'reingested'")"
	sd send >/dev/null 2>&1
	check_eq "$_l: no second acknowledgement for the restored mail" "$_acks" "$(acks "$_d")"
	check_eq "$_l: nothing queued for it either" 0 "$(store_sql "$_d" \
		"SELECT count(*) FROM outbox o JOIN events e ON e.ticket_id = o.ticket_id AND
		 e.what = 'reingested'")"
	check_rc "$_l: verify --reingest again: nothing left, exit 0" 0 sd verify --reingest
	check_eq "$_l: and nothing stored twice" "6 6" "$(stored "$_d/secdesk.db")"
	check_eq "$_l: search finds the restored mail" 1 \
		"$(sd search --json '"Inquiry r 5"' | jget "len(d)")"
}

# ---- Maildir
d=$T_DIR/md
make_config "$d"
sed -i 's/^after = seen/after = move:Done/' "$d/secdesk.conf"
md_deliver() { gen_mails "$d/inbox" "$1" "$2" r; }
restore_scenario "$d" maildir md_deliver

make_config "$T_DIR/plain"
"$SECDESK" -c "$T_DIR/plain/secdesk.conf" db init >/dev/null
check_rc "verify --reingest without after = move is a usage error" 64 \
	"$SECDESK" -c "$T_DIR/plain/secdesk.conf" verify --reingest
check "it says why" grep -q "after = move" "$T_DIR/.err"

# ---- IMAP: the folder is on the server, and the mail there has other keys
if dovecot_start "$T_DIR/dc"; then
	at_exit dovecot_stop
	d=$T_DIR/imap
	desk_config "$d" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" move:Done
	imap_deliver() { gen_mails "$DC_MAILDIR" "$1" "$2" r; }
	restore_scenario "$d" imap imap_deliver
	check_eq "imap: the six are in Done on the server, none in INBOX" "6 0" \
		"$(folder_count Done) $(server_count)"
else
	skip "IMAP restore: Dovecot or certtool not available"
fi
done_testing

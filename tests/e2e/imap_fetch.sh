#!/bin/sh
# IMAPS and IMAP+STARTTLS against a real Dovecot: every [mailbox] after mode
# (keep, seen, move with MOVE and without it, delete), nothing marked read by
# the fetch itself (BODY.PEEK), nothing fetched twice.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
IMAPS="imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX"
IMAP="imap://$DC_USER@localhost:$DC_IMAP_PORT/INBOX"
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }

gen_mails "$DC_MAILDIR" 1 5 a

# keep: everything stored, nothing on the server changed, not even \Seen.
desk_config "$T_DIR/keep" "$IMAPS" keep
sd "$T_DIR/keep" db init >/dev/null
check_rc "imaps, after = keep: fetch" 0 sd "$T_DIR/keep" fetch
check_eq "five messages stored once each" "5 5" "$(stored "$T_DIR/keep/secdesk.db")"
check_eq "the server still has them" 5 "$(server_count)"
check_eq "none marked read by the fetch (BODY.PEEK)" 0 "$(server_seen)"
check_rc "a second fetch" 0 sd "$T_DIR/keep" fetch
check_eq "takes nothing twice" "5 5" "$(stored "$T_DIR/keep/secdesk.db")"
check_eq "the source is the url without secrets" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" \
	"$(store_sql "$T_DIR/keep" "SELECT DISTINCT source FROM intake")"
check_eq "keys are UIDVALIDITY/UID" 5 \
	"$(store_sql "$T_DIR/keep" "SELECT key FROM intake" | grep -c '^[0-9][0-9]*/[0-9][0-9]*$')"

# seen: \Seen set once stored; seen messages are not listed again.
desk_config "$T_DIR/seen" "$IMAPS" seen
sd "$T_DIR/seen" db init >/dev/null
check_rc "imaps, after = seen: fetch" 0 sd "$T_DIR/seen" fetch
check_eq "five stored" "5 5" "$(stored "$T_DIR/seen/secdesk.db")"
check_eq "all five flagged \\Seen on the server" 5 "$(server_seen)"
check_eq "and marked done in the store" 5 \
	"$(store_sql "$T_DIR/seen" "SELECT count(*) FROM intake WHERE done = 1")"
gen_mails "$DC_MAILDIR" 6 7 a
check_rc "a second fetch" 0 sd "$T_DIR/seen" fetch
check_eq "takes only the two new ones" "7 7" "$(stored "$T_DIR/seen/secdesk.db")"
check_eq "seven seen" 7 "$(server_seen)"

# move over STARTTLS: every message goes to the folder (made when missing).
desk_config "$T_DIR/move" "$IMAP" move:Done
sd "$T_DIR/move" db init >/dev/null
logins=$(grep -c 'imap-login: Info: Login:' "$DC_DIR/dovecot.log")
check_rc "imap + STARTTLS, after = move:Done: fetch" 0 sd "$T_DIR/move" fetch
check "the login went over TLS" sh -c "grep 'imap-login: Info: Login:' '$DC_DIR/dovecot.log' | tail -n +$((logins + 1)) | grep -q TLS"
check_eq "seven stored" "7 7" "$(stored "$T_DIR/move/secdesk.db")"
check_eq "INBOX is empty" 0 "$(server_count)"
check_eq "Done holds the seven" 7 "$(folder_count Done)"

# delete: stored, then expunged.
gen_mails "$DC_MAILDIR" 8 12 a
desk_config "$T_DIR/del" "$IMAPS" delete
sd "$T_DIR/del" db init >/dev/null
check_rc "imaps, after = delete: fetch" 0 sd "$T_DIR/del" fetch
check_eq "five stored" "5 5" "$(stored "$T_DIR/del/secdesk.db")"
check_eq "INBOX is empty" 0 "$(server_count)"
check_eq "nothing went to Done" 7 "$(folder_count Done)"

# move where the server does not announce MOVE: COPY, \Deleted, UID EXPUNGE.
dovecot_stop
DC_CAPABILITY="IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS LITERAL+"
dovecot_start "$DC_DIR" || not_ok "Dovecot restarts without MOVE"
unset DC_CAPABILITY
gen_mails "$DC_MAILDIR" 13 16 a
desk_config "$T_DIR/copy" "$IMAPS" move:Archive
sd "$T_DIR/copy" db init >/dev/null
check_rc "after = move:Archive without MOVE: fetch" 0 sd "$T_DIR/copy" fetch
check_eq "four stored" "4 4" "$(stored "$T_DIR/copy/secdesk.db")"
check_eq "INBOX is empty" 0 "$(server_count)"
check_eq "Archive holds the four" 4 "$(folder_count Archive)"
check_eq "nothing left flagged \\Deleted" 0 "$(ls "$DC_MAILDIR/cur" | grep -c 'T' || true)"

# Large messages: a batch of five 3 MB messages is taken in several
# requests of at most 8 MB, every byte intact.
python3 - "$DC_MAILDIR" <<'PY2'
import os, sys
for i in range(5):
    line = ("%06d" % i) * 12 + "\n"
    msg = ("From: big%d@example.org\nTo: secretariat@icpermed.example\nSubject: Big %d\n"
           "Message-ID: <big-%d@example.org>\n\n" % (i, i, i)) + line * (3 * 1024 * 1024 // len(line))
    name = "1790000%03d.M%dP1.big" % (i, i)
    with open(os.path.join(sys.argv[1], "tmp", name), "w") as f:
        f.write(msg)
    os.rename(os.path.join(sys.argv[1], "tmp", name), os.path.join(sys.argv[1], "new", name))
PY2
[ "$(id -u)" -eq 0 ] && chown -R "$DC_MAIL_UID:$DC_MAIL_GID" "$DC_MAILDIR"
desk_config "$T_DIR/big" "$IMAPS" delete
sd "$T_DIR/big" db init >/dev/null
check_rc "five 3 MB messages in one batch" 0 sd "$T_DIR/big" fetch
check_eq "all five stored, each over 3 MB" 5 \
	"$(store_sql "$T_DIR/big" "SELECT count(*) FROM raws WHERE size > 3000000")"
check_eq "and gone from the server" 0 "$(ls "$DC_MAILDIR/new" "$DC_MAILDIR/cur" | grep -c big || true)"

# tls = none, said explicitly: imap:// without STARTTLS (the server allows
# plaintext logins here). It contradicts imaps://.
dovecot_stop
DC_PLAINTEXT=1 dovecot_start "$DC_DIR" || not_ok "Dovecot restarts with plaintext logins"
gen_mails "$DC_MAILDIR" 17 18 a
desk_config "$T_DIR/plain" "$IMAP" keep
sed -i "s|^after = keep|after = keep\ntls = none|" "$T_DIR/plain/secdesk.conf"
sd "$T_DIR/plain" db init >/dev/null
logins=$(grep -c 'imap-login: Info: Login:' "$DC_DIR/dovecot.log")
check_rc "imap://, tls = none: fetch" 0 sd "$T_DIR/plain" fetch
check_eq "two stored" "2 2" "$(stored "$T_DIR/plain/secdesk.db")"
check "the login went without TLS, as asked" sh -c "grep 'imap-login: Info: Login:' '$DC_DIR/dovecot.log' | tail -n +$((logins + 1)) | grep -vq TLS"
desk_config "$T_DIR/contra" "$IMAPS" keep
sed -i "s|^after = keep|after = keep\ntls = none|" "$T_DIR/contra/secdesk.conf"
sd "$T_DIR/contra" db init >/dev/null
check_rc "imaps:// with tls = none is refused (78)" 78 sd "$T_DIR/contra" fetch
done_testing

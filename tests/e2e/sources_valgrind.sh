#!/bin/sh
# No leaks and no memory errors under valgrind in the mail sources: fetch
# and verify over IMAPS, IMAP+STARTTLS (move), POP3S (delete), POP3+STLS,
# mbox (move), and a refused certificate.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! command -v valgrind >/dev/null 2>&1; then
	skip "valgrind is not installed"; done_testing; exit
fi
if ldd "$SECDESK" | grep -q libasan; then
	skip "an ASan build cannot run under valgrind"; done_testing; exit
fi
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"; done_testing; exit
fi
at_exit dovecot_stop
vg() { # WANT_RC DESC DESK COMMAND
	_want=$1 _desc=$2 _d=$3
	shift 3
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 --log-file="$T_DIR/vg.log" \
		"$SECDESK" -c "$_d/secdesk.conf" "$@" >/dev/null 2>"$T_DIR/vg.err"
	_rc=$?
	if [ "$_rc" -eq "$_want" ]; then ok "$_desc: no leak, no error"; else
		not_ok "$_desc under valgrind (exit $_rc, wanted $_want)"
		sed 's/^/#   /' "$T_DIR/vg.log" "$T_DIR/vg.err" | head -40
	fi
}
n=0
for spec in "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX seen" \
	"imap://$DC_USER@localhost:$DC_IMAP_PORT/INBOX move:Done" \
	"pop3s://$DC_USER@localhost:$DC_POP3S_PORT delete" \
	"pop3://$DC_USER@localhost:$DC_POP3_PORT keep"; do
	set -- $spec
	n=$((n + 1))
	gen_mails "$DC_MAILDIR" $((n * 10)) $((n * 10 + 3)) v
	desk_config "$T_DIR/d$n" "$1" "$2"
	"$SECDESK" -c "$T_DIR/d$n/secdesk.conf" db init >/dev/null
	vg 0 "fetch ${1%%:*}, after = $2" "$T_DIR/d$n" fetch
	vg 0 "verify ${1%%:*}" "$T_DIR/d$n" verify
done
desk_config "$T_DIR/bad" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sed -i "s|^ca_file = .*|ca_file = $DC_OTHER_CA|" "$T_DIR/bad/secdesk.conf"
"$SECDESK" -c "$T_DIR/bad/secdesk.conf" db init >/dev/null
vg 69 "a refused certificate" "$T_DIR/bad" fetch

d=$T_DIR/mbox
make_config "$d"
sed -i "s|^url   = maildir:inbox|url = mbox:box.mbox|; s|^after = seen|after = move:Done|" "$d/secdesk.conf"
printf 'From a@example.org Mon Nov  2 10:00:00 2026\nFrom: a@example.org\nSubject: x\nMessage-ID: <vgm1@example.org>\n\n>From here\n\nFrom b@example.org Mon Nov  2 10:00:00 2026\nFrom: b@example.org\nSubject: y\nMessage-ID: <vgm2@example.org>\n\nbody\n' >"$d/box.mbox"
"$SECDESK" -c "$d/secdesk.conf" db init >/dev/null
vg 0 "fetch mbox, after = move:Done" "$d" fetch
vg 0 "verify mbox" "$d" verify
done_testing

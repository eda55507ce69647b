#!/bin/sh
# XOAUTH2: the token printed by oauth_token_command logs in (Dovecot's
# oauth2 passdb checks it at a token-info endpoint on loopback); a token the
# provider refuses is a clear login error (78).
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
python3 "$TOP/tests/harness/tokeninfo.py" good-token-123 desk "$T_DIR/ti.port" \
	>/dev/null 2>&1 </dev/null &
tipid=$!
stop_ti() { kill "$tipid" 2>/dev/null; }
at_exit stop_ti
i=0
while [ ! -f "$T_DIR/ti.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
DC_OAUTH_URL="http://127.0.0.1:$(cat "$T_DIR/ti.port")/tokeninfo"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
gen_mails "$DC_MAILDIR" 1 3 o

desk_config "$T_DIR/good" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sed -i "s|^password_file = mailbox.pass|oauth_token_command = printf 'good-token-123\\\\n'|" "$T_DIR/good/secdesk.conf"
sd "$T_DIR/good" db init >/dev/null
check_rc "XOAUTH2 with the token from oauth_token_command" 0 sd "$T_DIR/good" fetch
check "the server saw an XOAUTH2 login" grep -q "Login: user=<$DC_USER>, method=XOAUTH2" "$DC_DIR/dovecot.log"
check_eq "three stored" "3 3" "$(stored "$T_DIR/good/secdesk.db")"

desk_config "$T_DIR/bad" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sed -i "s|^password_file = mailbox.pass|oauth_token_command = echo expired-token|" "$T_DIR/bad/secdesk.conf"
sd "$T_DIR/bad" db init >/dev/null
check_rc "a token the provider refuses: 78" 78 sd "$T_DIR/bad" fetch
check "the message says the login was refused" grep -q "login as '$DC_USER' refused" "$T_DIR/.err"
check "and does not show the token" sh -c "! grep -q expired-token '$T_DIR/.err'"
done_testing

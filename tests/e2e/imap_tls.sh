#!/bin/sh
# Never talk to a server that is not authenticated, never send a password
# that is not protected: a certificate from another CA and one for another
# host name are refused with exit 69 before any login, nothing read; a
# password file readable by others is refused with exit 78; a wrong
# password is a clear error.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
logins() { grep -c -- '-login: Info: Login:' "$DC_DIR/dovecot.log" || true; }
gen_mails "$DC_MAILDIR" 1 3 t

# refused CONFIG_NAME URL CA WANT_RC PATTERN...: the run fails with WANT_RC,
# the message matches every PATTERN, and nothing was read or changed.
refused() {
	_n=$1 _url=$2 _ca=$3 _rc=$4
	shift 4
	desk_config "$T_DIR/$_n" "$_url" seen
	if [ "$_ca" = system ]; then
		sed -i '/^ca_file/d' "$T_DIR/$_n/secdesk.conf"
	else
		sed -i "s|^ca_file = .*|ca_file = $_ca|" "$T_DIR/$_n/secdesk.conf"
	fi
	sd "$T_DIR/$_n" db init >/dev/null
	_before=$(logins)
	check_rc "$_n: refused with $_rc" "$_rc" sd "$T_DIR/$_n" fetch
	for _p in "$@"; do
		check "$_n: the message says '$_p'" grep -q -- "$_p" "$T_DIR/.err"
	done
	check_eq "$_n: no login reached the server" "$_before" "$(logins)"
	check_eq "$_n: nothing stored" "0 0" "$(stored "$T_DIR/$_n/secdesk.db")"
	check_eq "$_n: nothing marked on the server" 0 "$(server_seen)"
}

refused imaps-other-ca "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" "$DC_OTHER_CA" 69 \
	"imap server 'localhost'" "certificate not trusted" "unknown CA"
refused imaps-wrong-host "imaps://$DC_USER@127.0.0.1:$DC_IMAPS_PORT/INBOX" "$DC_CA" 69 \
	"imap server '127.0.0.1'" "not for host '127.0.0.1'"
refused imaps-system-trust "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" system 69 \
	"certificate not trusted" "unknown CA"
refused starttls-other-ca "imap://$DC_USER@localhost:$DC_IMAP_PORT/INBOX" "$DC_OTHER_CA" 69 \
	"imap server 'localhost'" "unknown CA"
refused starttls-wrong-host "imap://$DC_USER@127.0.0.1:$DC_IMAP_PORT/INBOX" "$DC_CA" 69 \
	"not for host '127.0.0.1'"
refused pop3s-other-ca "pop3s://$DC_USER@localhost:$DC_POP3S_PORT" "$DC_OTHER_CA" 69 \
	"pop3 server 'localhost'" "unknown CA"
refused stls-wrong-host "pop3://$DC_USER@127.0.0.1:$DC_POP3_PORT" "$DC_CA" 69 \
	"not for host '127.0.0.1'"

# The password file must be 0600 or stricter.
desk_config "$T_DIR/mode" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
chmod 644 "$T_DIR/mode/mailbox.pass"
sd "$T_DIR/mode" db init >/dev/null
before=$(logins)
check_rc "a password file of mode 0644 is refused with 78" 78 sd "$T_DIR/mode" fetch
check "the message names the file" grep -q "mailbox.pass" "$T_DIR/.err"
check_eq "no login reached the server" "$before" "$(logins)"
check_eq "nothing stored" "0 0" "$(stored "$T_DIR/mode/secdesk.db")"

# A wrong password: refused by the server, said clearly, exit 78.
desk_config "$T_DIR/wrong" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
printf 'not-the-password\n' >"$T_DIR/wrong/mailbox.pass"
sd "$T_DIR/wrong" db init >/dev/null
check_rc "a wrong password fails with 78" 78 sd "$T_DIR/wrong" fetch
check "the message says the login was refused" grep -q "login as '$DC_USER' refused" "$T_DIR/.err"
check "and does not show the password" sh -c "! grep -q not-the-password '$T_DIR/.err'"

# A password in the url is refused before anything is sent.
desk_config "$T_DIR/inurl" "imaps://$DC_USER:secret@localhost:$DC_IMAPS_PORT/INBOX" seen
sd "$T_DIR/inurl" db init >/dev/null 2>&1
check_rc "a password in the url is refused with 78" 78 sd "$T_DIR/inurl" fetch

# The password from the environment, when no file is named.
desk_config "$T_DIR/env" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" keep
sed -i '/^password_file = mailbox.pass/d' "$T_DIR/env/secdesk.conf"
sd "$T_DIR/env" db init >/dev/null
check_rc "without password file or \$SECDESK_MAILBOX_PASSWORD: 78" 78 sd "$T_DIR/env" fetch
SECDESK_MAILBOX_PASSWORD=$DC_PASS
export SECDESK_MAILBOX_PASSWORD
check_rc "the password from \$SECDESK_MAILBOX_PASSWORD" 0 sd "$T_DIR/env" fetch
unset SECDESK_MAILBOX_PASSWORD
check_eq "three stored" "3 3" "$(stored "$T_DIR/env/secdesk.db")"

# XOAUTH2: a token command that fails is a temporary failure, said clearly.
desk_config "$T_DIR/oauth" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" keep
sed -i "s|^password_file = mailbox.pass|oauth_token_command = exit 3|" "$T_DIR/oauth/secdesk.conf"
sd "$T_DIR/oauth" db init >/dev/null
check_rc "a failing oauth_token_command: 75" 75 sd "$T_DIR/oauth" fetch
check "the message names the command" grep -q "oauth_token_command 'exit 3' failed" "$T_DIR/.err"
done_testing

#!/bin/sh
# Errors that name the cause and the next step (issue 19, point 6), against
# a real Dovecot on 127.0.0.1: plain IMAP/POP3 spoken to the TLS port, TLS
# spoken to the plain port, a closed port, a server that accepts and never
# greets (a python listener: a broken server), a certificate for another
# name, a certificate from a CA not trusted. Each one fails with its exit
# code (75 for what may be passing, 69 for a certificate refused), says
# what happened and what to do, and reads nothing.
#
# SECDESK_TEST_GREETING_TIMEOUT=1 makes the greeting timeout (10 s) one
# second, so that the silent servers answer sooner; no time is measured.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
SECDESK_TEST_GREETING_TIMEOUT=1
export SECDESK_TEST_GREETING_TIMEOUT
sd() { _d=$1; shift; "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
logins() { grep -c -- '-login: Info: Login:' "$DC_DIR/dovecot.log" || true; }
gen_mails "$DC_MAILDIR" 1 2 e

# fails NAME URL WANT_RC TEXT...: fetch fails with WANT_RC, the message holds
# each TEXT (fixed strings), no login reached the server, nothing stored.
fails() {
	_n=$1 _url=$2 _rc=$3
	shift 3
	desk_config "$T_DIR/$_n" "$_url" seen
	sd "$T_DIR/$_n" db init >/dev/null
	_before=$(logins)
	check_rc "$_n: fails with $_rc" "$_rc" sd "$T_DIR/$_n" fetch
	for _p in "$@"; do
		check "$_n: the message says '$_p'" grep -qF -- "$_p" "$T_DIR/.err"
	done
	check_eq "$_n: one line on stderr" 1 "$(wc -l <"$T_DIR/.err")"
	check_eq "$_n: no login reached the server" "$_before" "$(logins)"
	check_eq "$_n: nothing stored" "0 0" "$(stored "$T_DIR/$_n/secdesk.db")"
}

fails imap-to-tls-port "imap://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" 75 \
	"imap server 'localhost:$DC_IMAPS_PORT'" \
	"the server answered with TLS: use imaps:// or port 143"
fails imaps-to-plain-port "imaps://$DC_USER@localhost:$DC_IMAP_PORT/INBOX" 75 \
	"imap server 'localhost:$DC_IMAP_PORT'" \
	"the server speaks plain IMAP here: use imap:// with tls = required (STARTTLS) or port 993"
fails pop3-to-tls-port "pop3://$DC_USER@localhost:$DC_POP3S_PORT" 75 \
	"pop3 server 'localhost:$DC_POP3S_PORT'" \
	"the server answered with TLS: use pop3s:// or port 110"
fails pop3s-to-plain-port "pop3s://$DC_USER@localhost:$DC_POP3_PORT" 75 \
	"pop3 server 'localhost:$DC_POP3_PORT'" \
	"the server speaks plain POP3 here: use pop3:// with tls = required (STLS) or port 995"

# A closed port: a free port that nobody listens on.
closed=$(dc_free_port)
fails imap-refused "imap://$DC_USER@127.0.0.1:$closed/INBOX" 75 \
	"imap server '127.0.0.1:$closed': cannot connect: connection refused (is the server running?"
fails pop3s-refused "pop3s://$DC_USER@127.0.0.1:$closed" 75 \
	"pop3 server '127.0.0.1:$closed': cannot connect: connection refused"

# Servers that accept the connection and never say a word (nor answer a
# TLS hello), or say what an IMAP server does not; stopped by their PIDs.
# listen NAME GREETING: starts one; its port in $T_DIR/NAME.port.
listen() {
	python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c = s.accept()[0]
    c.sendall(sys.argv[1].encode())
    held.append(c)
' "$2" >"$T_DIR/$1.port" &
	listen_pids="${listen_pids:-} $!"
	_i=0
	while [ ! -s "$T_DIR/$1.port" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
}
stop_listeners() { for _p in ${listen_pids:-}; do kill "$_p" 2>/dev/null; done; }
at_exit stop_listeners
listen silent ""
listen other "$(printf 'SSH-2.0-OpenSSH_9.2\r\n')"
listen bye "$(printf '* BYE too many connections\r\n')"
silent=$(cat "$T_DIR/silent.port") other=$(cat "$T_DIR/other.port") bye=$(cat "$T_DIR/bye.port")
fails imap-silent "imap://$DC_USER@127.0.0.1:$silent/INBOX" 75 \
	"imap server '127.0.0.1:$silent': no greeting within 1 s" \
	"accepted the connection but said nothing (is this its IMAP port?)"
fails imaps-silent "imaps://$DC_USER@127.0.0.1:$silent/INBOX" 75 \
	"imap server '127.0.0.1:$silent': TLS handshake failed: no answer to the TLS hello within 1 s"

fails imap-other-protocol "imap://$DC_USER@127.0.0.1:$other/INBOX" 75 \
	"imap server '127.0.0.1:$other': did not greet in IMAP: it said 'SSH-2.0-OpenSSH_9.2'"
fails imap-bye "imap://$DC_USER@127.0.0.1:$bye/INBOX" 75 \
	"imap server '127.0.0.1:$bye': refused the session: '* BYE too many connections'"

# Certificates: refused with 69, with the reason and what to do.
fails imaps-wrong-name "imaps://$DC_USER@127.0.0.1:$DC_IMAPS_PORT/INBOX" 69 \
	"certificate not trusted: the certificate is not for host '127.0.0.1'" \
	"use the host name the certificate names"
desk_config "$T_DIR/ca" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sed -i "s|^ca_file = .*|ca_file = $DC_OTHER_CA|" "$T_DIR/ca/secdesk.conf"
sd "$T_DIR/ca" db init >/dev/null
check_rc "untrusted CA: fails with 69" 69 sd "$T_DIR/ca" fetch
check "untrusted CA: the reason" grep -qF "certificate not trusted: issued by an unknown CA" "$T_DIR/.err"
check "untrusted CA: the next step" grep -qF "set ca_file to the CA that issued it" "$T_DIR/.err"

# Checks the mailbox makes of its config name the file and the line of the
# key (exit 78), before anything is sent.
desk_config "$T_DIR/tlsnone" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sed -i '/^url = imaps/a tls = none' "$T_DIR/tlsnone/secdesk.conf"
line=$(grep -n '^tls = none' "$T_DIR/tlsnone/secdesk.conf" | cut -d: -f1)
sd "$T_DIR/tlsnone" db init >/dev/null
check_rc "imaps with tls = none: 78" 78 sd "$T_DIR/tlsnone" fetch
check "imaps with tls = none: file:line of tls" grep -qF \
	"secdesk.conf:$line: [mailbox] tls = none contradicts url" "$T_DIR/.err"
desk_config "$T_DIR/popmove" "pop3s://$DC_USER@localhost:$DC_POP3S_PORT" move:Done
line=$(grep -n '^after = move:Done' "$T_DIR/popmove/secdesk.conf" | cut -d: -f1)
sd "$T_DIR/popmove" db init >/dev/null
check_rc "pop3 with after = move: 78" 78 sd "$T_DIR/popmove" fetch
check "pop3 with after = move: file:line of after" grep -qF \
	"secdesk.conf:$line: [mailbox] after = move: POP3 has no folders" "$T_DIR/.err"
desk_config "$T_DIR/badurl" "imaps://$DC_USER@localhost:99999/INBOX" seen
line=$(grep -n '^url = imaps' "$T_DIR/badurl/secdesk.conf" | cut -d: -f1)
sd "$T_DIR/badurl" db init >/dev/null
check_rc "a bad port in the url: 78" 78 sd "$T_DIR/badurl" fetch
check "a bad port in the url: file:line of url" grep -qF \
	"secdesk.conf:$line: url 'imaps://$DC_USER@localhost:99999/INBOX': bad port" "$T_DIR/.err"

# And the right URL still works, after all that.
desk_config "$T_DIR/good" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
sd "$T_DIR/good" db init >/dev/null
check_rc "the right url fetches" 0 sd "$T_DIR/good" fetch
check_eq "both stored" "2 2" "$(stored "$T_DIR/good/secdesk.db")"
done_testing

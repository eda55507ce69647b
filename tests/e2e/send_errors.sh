#!/bin/sh
# SMTP connection errors that name the cause and the next step (issue 19,
# point 6), against the real SMTP server of the tests on 127.0.0.1: smtp://
# spoken to an smtps port, smtps:// to a plain port, a closed port. Each is
# a temporary failure (75), the mail stays queued, the message says what
# happened and what to do.
#
# SECDESK_TEST_GREETING_TIMEOUT=1 makes the greeting timeout (10 s) one
# second, so that the TLS port's silence is met sooner; no time is measured.
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"
. "$TOP/tests/harness/dovecot.sh"

if ! smtpd_available || ! command -v certtool >/dev/null 2>&1; then
	skip "python3-aiosmtpd or certtool (gnutls-bin) is not installed"
	done_testing
	exit 0
fi
SECDESK_TEST_GREETING_TIMEOUT=1
export SECDESK_TEST_GREETING_TIMEOUT
certs=$T_DIR/certs
mkdir -p "$certs"
dc_make_certs "$certs" || { not_ok "make test certificates"; done_testing; exit 1; }
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
at_exit smtpd_stop
set_send() { # URL: [send] url = URL, ca_file = the test CA
	sed -i '/^\[send\]/,/^\[rules\]/{/^\[send\]/!{/^\[rules\]/!d}}' "$d/secdesk.conf"
	sed -i "s|^\[send\]|[send]\nurl = $1\nca_file = $certs/ca.pem\ntimeout = 10\n|" \
		"$d/secdesk.conf"
}
make_mail "$T_DIR/m1.eml" "m1@example.org" "ana@example.org" "Question one"
sd ingest "$T_DIR/m1.eml" >/dev/null

# refused NAME TEXT...: send fails with 75, says each TEXT, nothing sent.
refused() {
	_n=$1
	shift
	check_rc "$_n: a temporary failure (75)" 75 sd send
	for _p in "$@"; do
		check "$_n: the message says '$_p'" grep -qF -- "$_p" "$T_DIR/.err"
	done
	check_eq "$_n: nothing sent" 0 "$(smtpd_count)"
	check_eq "$_n: the mail stays queued" pending "$(q "SELECT status FROM outbox WHERE id = 1")"
}

smtpd_start "$T_DIR/tls" --smtps --cert "$certs/server.pem" --key "$certs/server.key" ||
	not_ok "smtp server starts"
set_send "smtp://localhost:$SMTPD_PORT"
refused smtp-to-tls-port "smtp server 'localhost:$SMTPD_PORT'" \
	"the server answered with TLS: use smtps:// or port 587"
smtpd_stop

smtpd_start "$T_DIR/plain" || not_ok "smtp server starts"
set_send "smtps://localhost:$SMTPD_PORT"
refused smtps-to-plain-port "smtp server 'localhost:$SMTPD_PORT'" \
	"the server speaks plain SMTP here: use smtp:// (STARTTLS) or port 465"
smtpd_stop

closed=$(dc_free_port)
set_send "smtp://127.0.0.1:$closed"
refused smtp-refused \
	"smtp server '127.0.0.1:$closed': cannot connect: connection refused (is the server running?"
done_testing

#!/bin/sh
# SMTP with TLS and AUTH against a real server on loopback: STARTTLS
# required for smtp://, smtps://, the certificate verified before any
# password or mail goes out ([send] ca_file; host name checked), AUTH with
# [send] password_file (0600).
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/smtp.sh"
. "$TOP/tests/harness/dovecot.sh"

if ! smtpd_available || ! command -v certtool >/dev/null 2>&1; then
	skip "python3-aiosmtpd or certtool (gnutls-bin) is not installed"
	done_testing
	exit 0
fi
certs=$T_DIR/certs
mkdir -p "$certs"
dc_make_certs "$certs" || { not_ok "make test certificates"; done_testing; exit 1; }

d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }
at_exit smtpd_stop
printf 'secret\n' >"$d/smtp.pass"
chmod 600 "$d/smtp.pass"

# set_send URL [extra lines...]: rewrites [send]
set_send() {
	_url=$1
	shift
	sed -i '/^\[send\]/,/^\[rules\]/{/^\[send\]/!{/^\[rules\]/!d}}' "$d/secdesk.conf"
	_extra=""
	for l in "$@"; do _extra="$_extra\n$l"; done
	sed -i "s|^\[send\]|[send]\nurl = $_url$_extra\n|" "$d/secdesk.conf"
}

make_mail "$T_DIR/m1.eml" "m1@example.org" "ana@example.org" "Question one"
sd ingest "$T_DIR/m1.eml" >/dev/null

# --- STARTTLS with AUTH ---
smtpd_start "$T_DIR/s1" --starttls --cert "$certs/server.pem" --key "$certs/server.key" \
	--auth desk:secret || not_ok "smtp server starts"
set_send "smtp://localhost:$SMTPD_PORT" "ca_file = $certs/otherca.pem" "user = desk" \
	"password_file = $d/smtp.pass"
check_rc "a certificate from another CA is refused" 69 sd send
check "says why" grep -q "not trusted" "$T_DIR/.err"
check_eq "nothing sent" 0 "$(smtpd_count)"
check_eq "the mail stays queued" pending "$(q "SELECT status FROM outbox WHERE id = 1")"

set_send "smtp://127.0.0.1:$SMTPD_PORT" "ca_file = $certs/ca.pem" "user = desk" \
	"password_file = $d/smtp.pass"
check_rc "a certificate for another host name is refused" 69 sd send
check_eq "nothing sent" 0 "$(smtpd_count)"

set_send "smtp://localhost:$SMTPD_PORT" "ca_file = $certs/ca.pem" "user = desk" \
	"password_file = $d/smtp.pass"
printf 'wrong\n' >"$d/smtp.pass"
check_rc "a wrong password is a configuration error" 78 sd send
check "the server's refusal is shown" grep -q "refused" "$T_DIR/.err"
printf 'secret\n' >"$d/smtp.pass"
chmod 644 "$d/smtp.pass"
check_rc "a password file others can read is refused" 78 sd send
chmod 600 "$d/smtp.pass"
check_eq "still nothing sent" 0 "$(smtpd_count)"
check_rc "STARTTLS, verified, AUTH: sent" 0 sd send
check_eq "the server got it" 1 "$(smtpd_count)"
check_eq "marked sent" sent "$(q "SELECT status FROM outbox WHERE id = 1")"
smtpd_stop

# --- a server without STARTTLS: nothing in clear unless tls = none ---
smtpd_start "$T_DIR/s2" || not_ok "smtp server starts"
make_mail "$T_DIR/m2.eml" "m2@example.org" "bob@example.org" "Question two"
sd ingest "$T_DIR/m2.eml" >/dev/null
set_send "smtp://localhost:$SMTPD_PORT" "ca_file = $certs/ca.pem"
check_rc "no STARTTLS offered: refused" 69 sd send
check "says how to allow it" grep -q "tls = none" "$T_DIR/.err"
check_eq "nothing sent in clear" 0 "$(smtpd_count)"
set_send "smtp://localhost:$SMTPD_PORT" "tls = none"
check_rc "with tls = none said" 0 sd send
check_eq "sent" 1 "$(smtpd_count)"
smtpd_stop

# --- smtps:// ---
smtpd_start "$T_DIR/s3" --smtps --cert "$certs/server.pem" --key "$certs/server.key" \
	--auth desk:secret || not_ok "smtp server starts"
make_mail "$T_DIR/m3.eml" "m3@example.org" "carla@example.org" "Question three"
sd ingest "$T_DIR/m3.eml" >/dev/null
set_send "smtps://localhost:$SMTPD_PORT" "ca_file = $certs/otherca.pem" "user = desk" \
	"password_file = $d/smtp.pass"
check_rc "smtps: another CA refused" 69 sd send
check_eq "nothing sent" 0 "$(smtpd_count)"
set_send "smtps://localhost:$SMTPD_PORT" "ca_file = $certs/ca.pem" "user = desk" \
	"password_file = $d/smtp.pass"
check_rc "smtps, verified, AUTH: sent" 0 sd send
check_eq "the server got it" 1 "$(smtpd_count)"
make_mail "$T_DIR/m4.eml" "m4@example.org" "dora@example.org" "Question four"
sd ingest "$T_DIR/m4.eml" >/dev/null
set_send "smtps://localhost:$SMTPD_PORT" "tls = none"
check_rc "smtps with tls = none is a contradiction" 78 sd send
done_testing

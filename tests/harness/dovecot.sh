#!/bin/sh
# tests/harness/dovecot.sh - a private Dovecot (IMAP, IMAPS, POP3, POP3S) on
# 127.0.0.1 at free ports, everything under one folder, stopped by PID.
#
# Sourced by a test:
#     . "$TOP/tests/harness/dovecot.sh"
#     dovecot_start "$T_DIR/dc" || { skip ...; }   # sets the variables below
#     at_exit dovecot_stop
# or run by hand / by the bench:
#     tests/harness/dovecot.sh start DIR   (prints the variables, sh syntax)
#     tests/harness/dovecot.sh stop DIR
#
# After dovecot_start:
#   DC_DIR            the folder
#   DC_IMAP_PORT DC_IMAPS_PORT DC_POP3_PORT DC_POP3S_PORT
#   DC_USER DC_PASS   the one account (desk / a password)
#   DC_MAILDIR        its Maildir (INBOX; folders as Maildir++ .NAME)
#   DC_CA             the CA that signed the server's certificate (PEM)
#   DC_OTHER_CA       another CA, which signed nothing the server shows
# The server certificate is for the DNS name "localhost" only: connecting to
# 127.0.0.1 gives a host name mismatch.
# DC_CAPABILITY, when set before dovecot_start, replaces the IMAP capability
# list that Dovecot announces (e.g. to hide MOVE). DC_PLAINTEXT=1 allows
# logins without TLS (for tls = none). DC_OAUTH_URL=http://127.0.0.1:PORT/tokeninfo
# adds XOAUTH2, with tokens checked at that URL (tests/harness/tokeninfo.py).

dc_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

dc_make_ca() { # NAME DIR
	certtool --generate-privkey --key-type=ecdsa --outfile "$2/$1.key" >/dev/null 2>&1 || return 1
	cat >"$2/$1.tmpl" <<TMPL
cn = "secdesk test $1"
ca
cert_signing_key
expiration_days = 30
TMPL
	certtool --generate-self-signed --load-privkey "$2/$1.key" --template "$2/$1.tmpl" \
		--outfile "$2/$1.pem" >/dev/null 2>&1
}

dc_make_certs() { # DIR
	dc_make_ca ca "$1" && dc_make_ca otherca "$1" || return 1
	certtool --generate-privkey --key-type=ecdsa --outfile "$1/server.key" >/dev/null 2>&1 || return 1
	cat >"$1/server.tmpl" <<TMPL
cn = "localhost"
dns_name = "localhost"
tls_www_server
signing_key
encryption_key
expiration_days = 30
TMPL
	certtool --generate-certificate --load-privkey "$1/server.key" \
		--load-ca-certificate "$1/ca.pem" --load-ca-privkey "$1/ca.key" \
		--template "$1/server.tmpl" --outfile "$1/server.pem" >/dev/null 2>&1
}

dc_write_conf() {
	cap_line=""
	[ -n "${DC_CAPABILITY:-}" ] && cap_line="imap_capability = $DC_CAPABILITY"
	plain=yes
	[ -n "${DC_PLAINTEXT:-}" ] && plain=no
	mechs="plain login"
	oauth_passdb=""
	if [ -n "${DC_OAUTH_URL:-}" ]; then
		mechs="plain login xoauth2"
		printf 'tokeninfo_url = %s?access_token=\nusername_attribute = email\n' \
			"$DC_OAUTH_URL" >"$DC_DIR/oauth2.conf"
		oauth_passdb="passdb {
  driver = oauth2
  mechanisms = xoauth2
  args = $DC_DIR/oauth2.conf
}"
	fi
	cat >"$DC_DIR/dovecot.conf" <<CONF
base_dir = $DC_DIR/run
state_dir = $DC_DIR/state
log_path = $DC_DIR/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$DC_DIR/server.pem
ssl_key = <$DC_DIR/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = $plain
auth_mechanisms = $mechs
first_valid_uid = 0
first_valid_gid = 0
mail_uid = $DC_MAIL_UID
mail_gid = $DC_MAIL_GID
mail_home = $DC_DIR/home
mail_location = maildir:$DC_MAILDIR
mail_privileged_group =
pop3_uidl_format = %08Xu%08Xv
mailbox_idle_check_interval = 1 secs
$cap_line
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $DC_DIR/users
}
$oauth_passdb
userdb {
  driver = passwd-file
  args = username_format=%u $DC_DIR/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DC_IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DC_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DC_POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $DC_POP3S_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service stats {
  inet_listener http {
    port = 0
  }
}
CONF
}

dc_wait_port() { # PORT: up to ten seconds
	python3 - "$1" <<'PY'
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# Starts (or, when DC_DIR already holds a config, restarts) the server.
dovecot_start() {
	DC_DIR=$1
	mkdir -p "$DC_DIR" || return 1
	DC_USER=desk
	DC_PASS=s3cret-Desk-pass
	DC_MAILDIR=$DC_DIR/mail
	DC_CA=$DC_DIR/ca.pem
	DC_OTHER_CA=$DC_DIR/otherca.pem
	if [ "$(id -u)" -eq 0 ]; then
		DC_MAIL_UID=$(id -u nobody) DC_MAIL_GID=$(id -g nobody)
	else
		DC_MAIL_UID=$(id -u) DC_MAIL_GID=$(id -g)
	fi
	command -v dovecot >/dev/null 2>&1 || return 1
	command -v certtool >/dev/null 2>&1 || return 1
	if [ ! -f "$DC_DIR/ports" ]; then
		mkdir -p "$DC_MAILDIR/new" "$DC_MAILDIR/cur" "$DC_MAILDIR/tmp" "$DC_DIR/home"
		# Dovecot gives no mail access as root: the mail belongs to
		# nobody, and the folders above it must let nobody through.
		if [ "$(id -u)" -eq 0 ]; then
			chown -R "$DC_MAIL_UID:$DC_MAIL_GID" "$DC_MAILDIR" "$DC_DIR/home" || return 1
			chmod go+x "$DC_DIR" "$(dirname "$DC_DIR")" || return 1
		fi
		dc_make_certs "$DC_DIR" || return 1
		echo "$DC_USER:{PLAIN}$DC_PASS:::::" >"$DC_DIR/users"
		echo "DC_IMAP_PORT=$(dc_free_port) DC_IMAPS_PORT=$(dc_free_port)" \
			"DC_POP3_PORT=$(dc_free_port) DC_POP3S_PORT=$(dc_free_port)" >"$DC_DIR/ports"
	fi
	. "$DC_DIR/ports"
	dc_write_conf
	dovecot -c "$DC_DIR/dovecot.conf" 2>>"$DC_DIR/start.err" || return 1
	for p in $DC_IMAP_PORT $DC_IMAPS_PORT $DC_POP3_PORT $DC_POP3S_PORT; do
		dc_wait_port "$p" || return 1
	done
	DC_PID=$(cat "$DC_DIR/run/master.pid")
	export DC_DIR DC_USER DC_PASS DC_MAILDIR DC_CA DC_OTHER_CA DC_PID
	export DC_IMAP_PORT DC_IMAPS_PORT DC_POP3_PORT DC_POP3S_PORT
}

# Stops the server started from DC_DIR (by the PID in its master.pid) and
# waits until it is gone.
dovecot_stop() {
	[ -n "${DC_DIR:-}" ] && [ -f "$DC_DIR/run/master.pid" ] || return 0
	_dc_pid=$(cat "$DC_DIR/run/master.pid")
	# Its children too (login and mail processes can outlive the master
	# for a while): as systemd stops the whole service. They are killed
	# once the master is gone, so that it cannot start them again.
	# (Written to work under set -e, as in bench/fetch.sh.)
	_dc_kids=$(ps -o pid= --ppid "$_dc_pid" 2>/dev/null || true)
	kill "$_dc_pid" 2>/dev/null || true
	_dc_i=0
	while kill -0 "$_dc_pid" 2>/dev/null && [ $_dc_i -lt 200 ]; do
		sleep 0.05
		_dc_i=$((_dc_i + 1))
	done
	kill -9 "$_dc_pid" 2>/dev/null || true
	for _dc_k in $_dc_kids; do kill -9 "$_dc_k" 2>/dev/null || true; done
	rm -f "$DC_DIR/run/master.pid"
	return 0
}

# doveadm against this server: dovecot_adm mailbox status -u desk all INBOX
dovecot_adm() {
	doveadm -c "$DC_DIR/dovecot.conf" "$@"
}

# Delivers a file into the Maildir's new/ (the server picks it up).
dovecot_deliver() { # FILE NAME
	cp "$1" "$DC_MAILDIR/tmp/$2" && chmod 0644 "$DC_MAILDIR/tmp/$2" &&
		mv "$DC_MAILDIR/tmp/$2" "$DC_MAILDIR/new/$2"
}

case "${0##*/}" in
dovecot.sh)
	case "${1:-}" in
	start)
		dovecot_start "$2" || { echo "dovecot.sh: cannot start Dovecot in $2" >&2; exit 1; }
		echo "DC_DIR=$DC_DIR DC_USER=$DC_USER DC_PASS=$DC_PASS DC_MAILDIR=$DC_MAILDIR"
		echo "DC_CA=$DC_CA DC_OTHER_CA=$DC_OTHER_CA DC_PID=$DC_PID"
		echo "DC_IMAP_PORT=$DC_IMAP_PORT DC_IMAPS_PORT=$DC_IMAPS_PORT"
		echo "DC_POP3_PORT=$DC_POP3_PORT DC_POP3S_PORT=$DC_POP3S_PORT"
		;;
	stop) DC_DIR=$2 dovecot_stop ;;
	*) echo "usage: tests/harness/dovecot.sh start|stop DIR" >&2; exit 64 ;;
	esac
	;;
esac

#!/bin/sh
# tests/harness/smtp.sh - the SMTP server of the send tests (smtpd.py,
# python3-aiosmtpd under /usr/bin/python3) on 127.0.0.1, stopped by PID.
#
#     . "$TOP/tests/harness/smtp.sh"
#     smtpd_start DIR [smtpd.py options...] || skip ...
#     at_exit smtpd_stop
# sets SMTPD_PORT (a free port, or the one given with --port) and
# SMTPD_DIR; what the server receives lands in DIR/rcv (NNNNNN.eml + .env).
# smtpd_count prints how many mails it has received.

smtpd_available() {
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null
}

smtpd_start() {
	SMTPD_DIR=$1
	shift
	mkdir -p "$SMTPD_DIR/rcv"
	rm -f "$SMTPD_DIR/port" "$SMTPD_DIR/pid"
	/usr/bin/python3 "$TOP/tests/harness/smtpd.py" --dir "$SMTPD_DIR/rcv" \
		--port-file "$SMTPD_DIR/port" --pid-file "$SMTPD_DIR/pid" --quiet "$@" \
		2>>"$SMTPD_DIR/log" &
	SMTPD_PID=$!
	_i=0
	while [ ! -s "$SMTPD_DIR/port" ] && [ $_i -lt 100 ]; do
		kill -0 "$SMTPD_PID" 2>/dev/null || return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$SMTPD_DIR/port" ] || return 1
	SMTPD_PORT=$(cat "$SMTPD_DIR/port")
}

smtpd_stop() {
	if [ -n "${SMTPD_PID:-}" ]; then
		kill "$SMTPD_PID" 2>/dev/null
		wait "$SMTPD_PID" 2>/dev/null
		SMTPD_PID=""
	fi
}

smtpd_count() {
	ls "$SMTPD_DIR/rcv" 2>/dev/null | grep -c '\.eml$'
}

# A config (make_config) that sends to the server, in clear.
smtpd_config() { # DIR
	sed -i "s|^url = dir:outbox|url = smtp://127.0.0.1:$SMTPD_PORT\ntls = none|" "$1/secdesk.conf"
}

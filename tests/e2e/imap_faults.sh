#!/bin/sh
# Servers that misbehave: one that never answers (read time-out: 75, not a
# hang), a closed port (75), an imap:// or pop3:// server without STARTTLS /
# STLS (69, and no password ever sent in clear).
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/mailbox.sh"
command -v python3 >/dev/null 2>&1 || { skip "python3 not available"; done_testing; exit 0; }
sd() { _d=$1; shift; timeout 60 "$SECDESK" -c "$_d/secdesk.conf" "$@"; }
pids=""
stop_fakes() { for p in $pids; do kill "$p" 2>/dev/null; done; }
at_exit stop_fakes
# fake MODE [MAILDIR]: starts tests/harness/fakeimap.py; its port in $port.
fake() {
	python3 "$TOP/tests/harness/fakeimap.py" "$1" "$T_DIR/$1.port" "$T_DIR/$1.log" ${2:-} \
		>/dev/null 2>&1 </dev/null &
	pids="$pids $!"
	_i=0
	while [ ! -f "$T_DIR/$1.port" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	port=$(cat "$T_DIR/$1.port")
}
# A desk for URL (no CA needed: these never get that far).
desk() {
	make_config "$1"
	printf 'the-secret-password\n' >"$1/mailbox.pass"
	chmod 600 "$1/mailbox.pass"
	sed -i "s|^url   = maildir:inbox|url = $2\npassword_file = mailbox.pass\ntimeout = 2|" "$1/secdesk.conf"
	"$SECDESK" -c "$1/secdesk.conf" db init >/dev/null
}

fake silent
desk "$T_DIR/silent" "imaps://desk@127.0.0.1:$port/INBOX"
check_rc "imaps server that never answers: 75 after the time-out" 75 sd "$T_DIR/silent" fetch
desk "$T_DIR/silent2" "imap://desk@127.0.0.1:$port/INBOX"
check_rc "imap server that never greets: 75" 75 sd "$T_DIR/silent2" fetch
desk "$T_DIR/silent3" "pop3s://desk@127.0.0.1:$port"
check_rc "pop3s server that never answers: 75" 75 sd "$T_DIR/silent3" fetch

closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
desk "$T_DIR/closed" "imaps://desk@127.0.0.1:$closed/INBOX"
check_rc "a closed port: 75" 75 sd "$T_DIR/closed" fetch
check "the message names host and port" grep -q "127.0.0.1:$closed" "$T_DIR/.err"

fake nostarttls
desk "$T_DIR/nostarttls" "imap://desk@127.0.0.1:$port/INBOX"
check_rc "imap:// without STARTTLS on the server: 69" 69 sd "$T_DIR/nostarttls" fetch
check "the message says why" grep -q "offers no STARTTLS" "$T_DIR/.err"
check "no LOGIN or AUTHENTICATE was sent" sh -c "! grep -qi 'login\|authenticate' '$T_DIR/nostarttls.log'"
check "the password never went out" sh -c "! grep -q the-secret-password '$T_DIR/nostarttls.log'"

fake nostls
desk "$T_DIR/nostls" "pop3://desk@127.0.0.1:$port"
check_rc "pop3:// without STLS on the server: 69" 69 sd "$T_DIR/nostls" fetch
check "the message says why" grep -q "offers no STLS" "$T_DIR/.err"
check "no USER, PASS or AUTH was sent" sh -c "! grep -qi '^user\|^pass\|^auth' '$T_DIR/nostls.log'"

# A POP3 server without UIDL: messages are known by their SHA-256.
mkdir -p "$T_DIR/popdir"
gen_mails "$T_DIR/popdir" 1 4 nouidl
fake nouidl "$T_DIR/popdir"
desk "$T_DIR/nouidl" "pop3://desk@127.0.0.1:$port"
sed -i "s|^timeout = 2|timeout = 10\ntls = none|" "$T_DIR/nouidl/secdesk.conf"
check_rc "pop3 without UIDL, after = seen (kept): fetch" 0 sd "$T_DIR/nouidl" fetch
check_eq "four stored" "4 4" "$(stored "$T_DIR/nouidl/secdesk.db")"
check_eq "keyed by SHA-256" 4 \
	"$(store_sql "$T_DIR/nouidl" "SELECT count(*) FROM intake WHERE key LIKE 'sha256:%'")"
gen_mails "$T_DIR/popdir" 5 5 nouidl
check_rc "again, one more on the server" 0 sd "$T_DIR/nouidl" fetch
check_eq "only the new one is added" "5 5" "$(stored "$T_DIR/nouidl/secdesk.db")"
sed -i "s|^after = seen|after = delete|" "$T_DIR/nouidl/secdesk.conf"
gen_mails "$T_DIR/popdir" 6 7 nouidl
check_rc "after = delete, two more on the server" 0 sd "$T_DIR/nouidl" fetch
check_eq "nothing twice" "7 7" "$(stored "$T_DIR/nouidl/secdesk.db")"
check_eq "the two taken with after = delete are deleted on the server" 0 \
	"$(ls "$T_DIR/popdir" | grep -c 'M[67]P1' || true)"
check_eq "the five taken before stay (seen leaves them)" 5 "$(ls "$T_DIR/popdir" | wc -l)"
done_testing

#!/bin/sh
# sendmail:PATH: the program gets -oi -f SENDER -- RCPT as separate
# arguments (no shell: an address with shell characters stays one
# argument), the mail on stdin with LF line ends; its exit status grades
# the result (75: retry, 67: failed for good).
. "$TOP/tests/lib.sh"

d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$d" "$1"; }

fake=$T_DIR/fake-sendmail
cat >"$fake" <<EOF
#!/bin/sh
n=\$(ls "$T_DIR/got" | grep -c args)
n=\$((n + 1))
for a in "\$@"; do printf '%s\n' "\$a"; done >"$T_DIR/got/\$n.args"
cat >"$T_DIR/got/\$n.mail"
echo "fake sendmail said something" >&2
exit \$(cat "$T_DIR/rc")
EOF
chmod +x "$fake"
mkdir -p "$T_DIR/got"
echo 0 >"$T_DIR/rc"
sed -i "s|^url = dir:outbox|url = sendmail:$fake|" "$d/secdesk.conf"

# Legal in an address (RFC 5322 atext), dangerous in a shell.
evil='a`touch${IFS}pwned`b&c|d@example.org'
make_mail "$T_DIR/m1.eml" "m1@example.org" "$evil" "Question"
check_rc "ingest" 0 sd ingest "$T_DIR/m1.eml"
check_rc "send through the program" 0 sd send
check_eq "arguments, one each" "-oi|-f|<>|--|$evil" \
	"$(paste -sd'|' "$T_DIR/got/1.args")"
check "no shell ran the address" test ! -e pwned -a ! -e "$T_DIR/pwned"
check "the mail on stdin" grep -q "^Auto-Submitted: auto-replied$" "$T_DIR/got/1.mail"
check_eq "LF line ends" 0 "$(tr -cd '\r' <"$T_DIR/got/1.mail" | wc -c)"
check_eq "sent" sent "$(q "SELECT status FROM outbox WHERE id = 1")"

# A staff reply goes with the desk's bounce address (VERP) as envelope sender.
check_rc "reply" 0 sd reply 1 -m "An answer."
check_rc "send it" 0 sd send
check "envelope sender of a reply: the desk's bounce address" \
	grep -Eqx 'secretariat\+bounce-[0-9]+-[0-9a-f]{8}@icpermed\.example' "$T_DIR/got/2.args"

echo 75 >"$T_DIR/rc"
make_mail "$T_DIR/m2.eml" "m2@example.org" "b@example.org" "Question 2"
sd ingest "$T_DIR/m2.eml" >/dev/null
check_rc "exit 75: the run goes on" 0 sd send
check_eq "deferred" "pending 1" "$(q "SELECT status || ' ' || attempts FROM outbox WHERE id = 3")"
check_eq "the program's words are kept" 1 "$(q "SELECT count(*) FROM outbox WHERE id = 3 AND last_error LIKE '%fake sendmail said something%'")"

echo 67 >"$T_DIR/rc"
check_rc "exit 67 (no such user)" 0 sd send --now
check_eq "failed for good" failed "$(q "SELECT status FROM outbox WHERE id = 3")"
check_eq "ticket flagged" 32 "$(q "SELECT flags & 32 FROM tickets WHERE id = 2")"

sed -i "s|^url = sendmail:.*|url = sendmail:$T_DIR/nosuch|" "$d/secdesk.conf"
make_mail "$T_DIR/m3.eml" "m3@example.org" "c@example.org" "Question 3"
sd ingest "$T_DIR/m3.eml" >/dev/null
check_rc "a missing program is a configuration error" 78 sd send
check_eq "the mail stays queued" pending "$(q "SELECT status FROM outbox WHERE id = 4")"
done_testing

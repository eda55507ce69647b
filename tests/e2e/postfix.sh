#!/bin/sh
# secdesk behind a real Postfix, wired as contrib/postfix says (issue 21): a
# private Postfix instance under the test's folder (its own config, queue
# and data directories, SMTP on a free loopback port, nothing relayed
# anywhere: default_transport = error) delivers inquiries through the
# pipe(8) transport of contrib/postfix/master.cf.secdesk into `secdesk
# ingest`, run as a dedicated user. Shown: every inquiry stored exactly
# once; a broken config, a missing or unwritable store folder, a read-only
# store and a held lock defer the mail (never bounce it, and the deferral
# text names no local path); after the fix and `postqueue -f` it is stored.
. "$TOP/tests/lib.sh"
PIPE_USER=secdesk-test

if [ "$(id -u)" -ne 0 ]; then
	skip "Postfix end to end: needs root (a private Postfix instance, a pipe user)"
	done_testing
	exit
fi
if ! command -v postfix >/dev/null 2>&1 || ! command -v postqueue >/dev/null 2>&1; then
	skip "Postfix end to end: postfix is not installed (contrib/install-deps.sh test)"
	done_testing
	exit
fi
# pipe(8) refuses to run a command as root: a user of its own.
if ! id "$PIPE_USER" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$PIPE_USER" || { not_ok "create user $PIPE_USER"; done_testing; exit; }
fi
as_user() { runuser -u "$PIPE_USER" -- "$@"; }

# The pipe user must reach the desk folder through the test folder.
chmod 0711 "$T_DIR"
pf=$T_DIR/pf
conf=$pf/conf
mkdir -p "$conf" "$pf/queue" "$pf/data"
chown postfix "$pf/data"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Installed as README.md "Deploying" says, into a root of its own: the
# program, the config to start from, the user and the store folder.
root=$T_DIR/root
mk() { make -C "$TOP" --no-print-directory -o all BUILD="$BUILD" DESTDIR="$root" SERVICE_USER="$PIPE_USER" "$@"; }
check_rc "make install" 0 mk install
check_rc "make install-config" 0 mk install-config
check_rc "make install-service" 0 mk install-service
d=$root/var/lib/secdesk
check_eq "the store folder: 0750, the desk's user" "750 $PIPE_USER" "$(stat -c '%a %U' "$d")"
bin=$root/usr/local/bin/secdesk
cfg=$root/etc/secdesk/secdesk.conf
# The admin's edits: pipe mode (no [mailbox]), the outbox to a folder, and
# this root in front of the installed paths.
python3 - "$cfg" "$root" <<'PY'
import re, sys
path, root = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"\n\[mailbox\]\n(?:[^\[\n].*\n|\n)*", "\n", text)
text = re.sub(r"(?m)^url = smtp://\S+.*$", "url = dir:%s/var/lib/secdesk/outbox" % root, text)
text = re.sub(r"(?m)^(path|dir)(\s*)= /", r"\1\2= %s/" % root, text)
text = text.replace("[store]\n", "[store]\nbusy_timeout = 1s\n")
open(path, "w").write(text)
PY
check "the installed config has no [mailbox]" sh -c "! grep -q '^\[mailbox\]' '$cfg'"
as_user mkdir "$d/outbox"
cp "$cfg" "$T_DIR/good.conf"
check_rc "the installed config is valid" 0 as_user "$bin" -c "$cfg" rules check
# set_store PATH: the config with another store path (a fault); no
# argument: the good config back.
set_store() {
	if [ $# -eq 0 ]; then
		cp "$T_DIR/good.conf" "$cfg"
	else
		sed "s|^path = .*|path = $1|" "$T_DIR/good.conf" >"$cfg"
	fi
}

# main.cf: a private instance that can deliver to nobody but the desk.
cat >"$conf/main.cf" <<CF
compatibility_level = 3.6
config_directory = $conf
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.icpermed.example
mydomain = icpermed.example
myorigin = \$myhostname
mydestination = icpermed.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
relay_domains =
default_transport = error:nothing leaves this test
local_transport = error:no local delivery in this test
alias_maps =
alias_database =
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
smtputf8_enable = no
biff = no
# The desk's outbox holds many mails nobody can take: no tarpit for them.
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_error_sleep_time = 0
# Retries only when the test flushes the queue.
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 7200s
CF

cat >"$conf/master.cf" <<CF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
smtp      unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
# The transport as installed, with the test's root in front of its paths,
# the test user, and a copy of the syslog lines where the test can read them.
inst=$root/usr/local/share/secdesk/contrib/postfix
sed "s|/etc/postfix|$conf|g" "$inst/main.cf.secdesk" >>"$conf/main.cf"
sed -e "s|user=secdesk |user=$PIPE_USER |" \
	-e "s|argv=/usr/local/bin/secdesk |argv=/usr/bin/env SECDESK_TEST_SYSLOG=$d/syslog $bin |" \
	-e "s|/etc/secdesk/secdesk.conf|$cfg|" \
	"$inst/master.cf.secdesk" >>"$conf/master.cf"
check "the pipe transport runs the installed secdesk as $PIPE_USER" \
	grep -q "user=$PIPE_USER argv=/usr/bin/env .*$bin -c $cfg ingest" "$conf/master.cf"
cp "$inst/transport" "$conf/transport"
check_rc "postmap of the transport map, as documented" 0 postmap -c "$conf" "$conf/transport"

stop_postfix() {
	postfix -c "$conf" stop >/dev/null 2>&1
	if [ -s "$pf/queue/pid/master.pid" ]; then
		_pid=$(tr -d ' ' <"$pf/queue/pid/master.pid")
		kill "$_pid" 2>/dev/null
	fi
	[ -n "${holder:-}" ] && kill "$holder" 2>/dev/null
	:
}
at_exit stop_postfix
check_rc "postfix check of the private instance" 0 postfix -c "$conf" check
check_rc "the private Postfix starts" 0 postfix -c "$conf" start
if [ ! -s "$pf/queue/pid/master.pid" ]; then
	not_ok "Postfix master is running"; sed 's/^/#   /' "$pf/maillog" 2>/dev/null | tail -20
	done_testing
	exit
fi

# Waits (bounded) until the command succeeds.
wait_for() {
	_i=0
	while ! "$@" && [ $_i -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	"$@"
}
smtp_up() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; }
wait_for smtp_up
check "smtpd listens on 127.0.0.1:$port" smtp_up

# smtp_send FILE [FROM]: submits FILE to the desk address; prints the queue id.
smtp_send() {
	python3 - "$port" "$1" "${2:-person@example.org}" <<'PY'
import re, smtplib, sys
port, path, sender = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("client.example.org")
code, _ = s.mail(sender)
assert code == 250, code
code, resp = s.rcpt("secretariat@icpermed.example")
assert code == 250, (code, resp)
code, resp = s.data(open(path, "rb").read())
assert code == 250, (code, resp)
s.quit()
print(re.search(rb"queued as (\w+)", resp).group(1).decode())
PY
}
# wait_status QID STATUS [N]: waits for attempt N (default 1) of QID and
# succeeds when its outcome was STATUS (sent, deferred, bounced).
wait_status() {
	_n=${3:-1}
	wait_for sh -c "[ \$(grep -c '$1: to=<secretariat@icpermed.example>.*status=' '$pf/maillog') -ge $_n ]"
	grep "$1: to=<secretariat@icpermed.example>.*status=" "$pf/maillog" | sed -n "${_n}p" |
		grep -q "status=$2 "
}
in_queue() { postqueue -c "$conf" -p 2>/dev/null | grep -q "^$1"; }
q() { as_user sqlite3 "$d/secdesk.db" "$1"; }
stored() { q "SELECT count(*) FROM messages WHERE direction = 'in' AND message_id = '$1'"; }

# ---- 1. twenty varied inquiries (the sample mails and two plain ones) ----
n=0
sent_ids=""
for f in "$TOP"/tests/mail/*.eml; do
	[ $n -lt 18 ] || break
	qid=$(smtp_send "$f") || { not_ok "SMTP accepts $(basename "$f")"; continue; }
	sent_ids="$sent_ids $qid"
	n=$((n + 1))
done
while [ $n -lt 20 ]; do
	make_mail "$T_DIR/plain$n.eml" "plain$n@example.org" "person$n@example.org" "Plain inquiry $n"
	qid=$(smtp_send "$T_DIR/plain$n.eml" "person$n@example.org") || not_ok "SMTP accepts plain$n"
	sent_ids="$sent_ids $qid"
	n=$((n + 1))
done
delivered=0
for qid in $sent_ids; do
	wait_status "$qid" sent && delivered=$((delivered + 1))
done
check_eq "Postfix delivered all 20 inquiries to secdesk" 20 "$delivered"
check_eq "20 messages stored" 20 "$(q "SELECT count(*) FROM messages WHERE direction = 'in'")"
# The same inquiries again (an MTA retrying, a second path): stored once.
qid=$(smtp_send "$TOP/tests/mail/0002.eml" jean@inserm.fr)
wait_status "$qid" sent
qid=$(smtp_send "$T_DIR/plain19.eml" person19@example.org)
wait_status "$qid" sent
check_eq "delivered twice, each is stored once" "1 1" "$(stored 0002@inserm.fr) $(stored plain19@example.org)"
check_eq "still 20 messages" 20 "$(q "SELECT count(*) FROM messages WHERE direction = 'in'")"
tickets=$(q "SELECT count(*) FROM tickets")
check "tickets were opened ($tickets)" test "$tickets" -ge 15

# ---- 2. faults: each defers the mail; after the fix and a flush it is in ----
deferrals=0
retries=0
# fault NAME MAILID: sends a mail while the fault is on and checks that
# Postfix deferred it, keeps it queued and bounced nothing.
fault() {
	make_mail "$T_DIR/$2.eml" "$2@example.org" "$2@example.org" "Inquiry during $1"
	fq=$(smtp_send "$T_DIR/$2.eml" "$2@example.org")
	if wait_status "$fq" deferred; then
		ok "$1: Postfix defers the mail"
		deferrals=$((deferrals + 1))
	else
		not_ok "$1: Postfix defers the mail"
		grep "$fq" "$pf/maillog" | sed 's/^/#   /'
	fi
	check "$1: the mail stays in the queue" in_queue "$fq"
	check "$1: the deferral names no local path nor config line" \
		sh -c "! grep '$fq: to=.*status=deferred' '$pf/maillog' | grep -q -e '$T_DIR' -e 'secdesk.conf' -e ':[0-9][0-9]*: '"
	check "$1: the deferral says the mail is retried" \
		grep -q "$fq: to=.*status=deferred.*stays queued" "$pf/maillog"
	check_eq "$1: nothing stored" 0 "$(stored "$2@example.org")"
}
# fixed NAME MAILID: after the fix, a flush delivers the mail once.
fixed() {
	postqueue -c "$conf" -f
	retries=$((retries + 1))
	check "$1 fixed: the flush delivers the mail" wait_status "$fq" sent 2
	check_eq "$1 fixed: stored once" 1 "$(stored "$2@example.org")"
	check "$1 fixed: the queue is empty" sh -c "postqueue -c '$conf' -p | grep -q 'Mail queue is empty'"
}

# A bad config key (a one-minute mistake).
echo "colour = blue" >>"$cfg"
fault "a broken config" broken
check "the details are in the mail log (syslog)" grep -q "unknown key 'colour'" "$d/syslog"
set_store
fixed "a broken config" broken

# A store folder that does not exist.
set_store "$T_DIR/missing/secdesk.db"
fault "a missing store folder" missing
set_store
fixed "a missing store folder" missing

# A store folder the pipe user cannot write.
mkdir -p "$T_DIR/rootonly"
set_store "$T_DIR/rootonly/secdesk.db"
fault "an unwritable store folder" unwritable
set_store
fixed "an unwritable store folder" unwritable

# A read-only store.
chmod 0440 "$d/secdesk.db"
fault "a read-only store" readonly
chmod 0640 "$d/secdesk.db"
# SQLite made -shm read-only like the store: db check finds what still bites
# and says what to run; the admin runs it.
check_rc "db check names what the pipe user cannot write" 73 as_user "$bin" -c "$cfg" db check
check "with the command that fixes it" grep -q "secdesk.db-shm' is not readable and writable by $PIPE_USER: run chmod u+rw" "$T_DIR/.err"
sed -n "s/.*: run chmod u+rw '\(.*\)'$/\1/p" "$T_DIR/.err" | while read -r f; do chmod u+rw "$f"; done
check_rc "then db check passes" 0 as_user "$bin" -c "$cfg" db check
fixed "a read-only store" readonly

# A store locked by another process for longer than busy_timeout.
rm -f "$d/held" "$d/release"
as_user python3 - "$d/secdesk.db" "$d/held" "$d/release" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
db.execute("ROLLBACK")
PY
holder=$!
wait_for test -e "$d/held"
fault "a held lock" locked
as_user touch "$d/release"
wait "$holder"
holder=
fixed "a held lock" locked

# ---- 3. the whole run ----
check "no bounce: Postfix sent no non-delivery notification" \
	sh -c "! grep -q -e 'status=bounced' -e 'non-delivery notification' '$pf/maillog'"
check_rc "db check as the pipe user" 0 as_user "$bin" -c "$cfg" db check
total=$(q "SELECT count(*) FROM messages WHERE direction = 'in'")
check_eq "25 inquiries stored, each once" "25 25" \
	"$total $(q "SELECT count(DISTINCT coalesce(nullif(message_id, ''), id)) FROM messages WHERE direction = 'in'")"
summary="$(grep -c 'relay=secdesk.*status=sent' "$pf/maillog") deliveries to secdesk, $deferrals deferrals, $retries retries (queue flushes), $(q 'SELECT count(*) FROM tickets') tickets, $total messages stored, $(grep -c 'status=bounced' "$pf/maillog") bounced"

# ---- 4. a partner notice to a dead address bounces back to its ticket ----
# The admin points Germany's contact at the partner's own domain and sends
# through this Postfix, which can deliver nothing but to the desk: the
# notice bounces, to the bounce address it went out with.
sed -i 's|contact partner-de@icpermed.example|contact partner-de@partner.example|' \
	"$root/etc/secdesk/rules/00-queues.rules"
# partner.example is "relayed" back to this very Postfix: it takes the
# notice, then finds the mail loops back to itself and bounces it (the
# error transport would refuse it at once, in the desk's SMTP session).
echo "partner.example smtp:[127.0.0.1]:$port" >>"$conf/transport"
postmap -c "$conf" "$conf/transport"
postfix -c "$conf" reload >/dev/null 2>&1
sed -i "s|^url = dir:.*|url = smtp://127.0.0.1:$port\\ntls = none|" "$cfg"
cat >"$T_DIR/de.eml" <<'MAIL'
From: Hans Meier <hans.meier@charite.de>
To: secretariat@icpermed.example
Subject: Funding for a genomics project
Date: Mon, 2 Nov 2026 10:00:00 +0100
Message-ID: <inq-de@charite.de>

Hello, can a hospital in Berlin lead a consortium?
MAIL
qid=$(smtp_send "$T_DIR/de.eml" hans.meier@charite.de)
check "the German inquiry is delivered" wait_status "$qid" sent
tid=$(q "SELECT ticket_id FROM messages WHERE message_id = 'inq-de@charite.de'")
check_eq "a notice to the partner is queued" "notice partner-de@partner.example" \
	"$(q "SELECT kind || ' ' || rcpts FROM outbox WHERE ticket_id = $tid AND kind = 'notice'")"
check_rc "secdesk send hands ack and notice to Postfix" 0 as_user "$bin" -c "$cfg" send
bounced() { [ "$(q "SELECT count(*) FROM events WHERE ticket_id = $tid AND what = 'notice-bounced'")" -ge 1 ]; }
wait_for bounced
check "Postfix bounced the notice to the desk's bounce address" \
	grep -q "to=<secretariat+bounce-[0-9]*-[0-9a-f]*@icpermed.example>.*relay=secdesk.*status=sent" "$pf/maillog"
check "the bounce joined the inquiry's ticket as notice-bounced" bounced
check_eq "naming the partner" partner-de@partner.example \
	"$(q "SELECT new_value FROM events WHERE ticket_id = $tid AND what = 'notice-bounced'")"
check "the ticket is flagged" sh -c "runuser -u '$PIPE_USER' -- '$bin' -c '$cfg' show $tid --json | python3 -c \"import json,sys; sys.exit(0 if 'send-failed' in json.load(sys.stdin)['flags'] else 1)\""
check "the acknowledgement (null sender) caused no bounce" \
	sh -c "! grep -q 'sender non-delivery notification' '$pf/maillog' || [ \$(grep -c 'sender non-delivery notification' '$pf/maillog') -eq 1 ]"
echo "# postfix transcript: $summary; then a partner notice bounced back onto ticket #$tid"
done_testing

#!/bin/sh
# A fetch keeps the mailbox's listing on disk and works through it a window
# of keys at a time (fetch.c), so that a backlog of any size is not held in
# memory. With windows of 16 keys (SECDESK_TEST_WINDOW) and batches of 7, a
# few hundred mails cross many windows: every mail is stored once, in the
# order of delivery (a follow-up after its inquiry, whatever the directory
# order), its copy marked done in the folder and with the flags it had; the
# copies an earlier run stored but did not mark are marked, more of them
# than a window holds; kill -9 mid-way loses and doubles nothing; an mbox
# (listed in its own order, not by key) keeps its order too; an IMAP
# mailbox searched in spans of UIDs (SECDESK_TEST_IMAP_SEARCH), with gaps
# and seen messages, gives every unseen message once.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sed -i '/^\[mailbox\]/a batch = 7' "$d/secdesk.conf"
sd() { SECDESK_TEST_WINDOW=16 "$SECDESK" -c "$d/secdesk.conf" "$@"; }
q() { store_sql "$1" "$2"; }
key() { echo "17$(printf %08d "$1").M$1.host"; }

# thread_mail FILE I: inquiry I when I is odd; when even, a reply to I - 1
# (In-Reply-To), which joins its ticket only if I - 1 was stored first.
thread_mail() {
	if [ $(($2 % 2)) -eq 1 ]; then
		subj="Window $2"
		irt=
	else
		subj="Re: Window $(($2 - 1))"
		irt="In-Reply-To: <w$(($2 - 1))@example.org>"
	fi
	{
		echo "From: Person $2 <p$2@example.org>"
		echo "To: secretariat@icpermed.example"
		echo "Subject: $subj"
		echo "Date: Mon, 2 Nov 2026 10:00:00 +0000"
		echo "Message-ID: <w$2@example.org>"
		[ -n "$irt" ] && echo "$irt"
		echo "Content-Type: text/plain; charset=utf-8"
		echo
		echo "Message $2 of the window test."
	} >"$1"
}

sd db init >/dev/null
# Written last to first: the directory's order is not the delivery order.
i=200
while [ $i -ge 1 ]; do
	thread_mail "$d/inbox/new/$(key $i)" $i
	i=$((i - 1))
done
# Copies out of the usual new/KEY: unseen in cur/ with a flag; in new/
# with an info part; listed twice (new/ and, unseen, cur/); seen (not taken).
mv "$d/inbox/new/$(key 3)" "$d/inbox/cur/$(key 3):2,F"
mv "$d/inbox/new/$(key 5)" "$d/inbox/new/$(key 5):2,"
cp "$d/inbox/new/$(key 7)" "$d/inbox/cur/$(key 7):2,R"
make_mail "$d/inbox/cur/$(key 1000):2,S" seen@example.org seen@example.org "Seen already"

check_rc "a fetch across windows" 0 sd fetch
check_eq "every mail stored once" "200 200" \
	"$(q "$d" "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE direction = 'in'" | tr '|' ' ')"
check_eq "each reply joined its inquiry's ticket" "100 0" \
	"$(q "$d" "SELECT count(*), (SELECT count(*) FROM (SELECT ticket_id FROM messages WHERE direction = 'in' GROUP BY ticket_id HAVING count(*) <> 2) AS odd) FROM tickets" | tr '|' ' ')"
check_eq "tickets in the order of delivery" 0 \
	"$(q "$d" "SELECT count(*) FROM tickets a JOIN tickets b ON a.id < b.id WHERE CAST(substr(a.subject, 8) AS INTEGER) > CAST(substr(b.subject, 8) AS INTEGER)")"
check_eq "nothing left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check "the unseen copy in cur/ is seen, its flag kept" test -f "$d/inbox/cur/$(key 3):2,FS"
check "the copy with an info part is seen" test -f "$d/inbox/cur/$(key 5):2,S"
check "the copy listed twice is seen" test -f "$d/inbox/cur/$(key 7):2,S"
check_eq "the seen mail is not taken" 0 "$(q "$d" "SELECT count(*) FROM messages WHERE message_id = 'seen@example.org'")"
check_eq "every source copy is recorded as done" 200 "$(q "$d" "SELECT count(*) FROM intake WHERE done = 1")"

# A run stopped between its commits and its marks leaves stored copies
# unmarked: here all 200, back in new/ and not done, beside 10 new mails.
# The next run marks them (more than a window: they wait in turns) and
# stores only the new ones.
for f in "$d"/inbox/cur/17*; do
	case $f in *M1000.host*|*:2,R) continue ;; esac
	b=$(basename "$f")
	mv "$f" "$d/inbox/new/${b%%:*}"
done
q "$d" "UPDATE intake SET done = 0"
i=201
while [ $i -le 210 ]; do
	thread_mail "$d/inbox/new/$(key $i)" $i
	i=$((i + 1))
done
check_rc "a fetch with 200 copies to mark and 10 new mails" 0 sd fetch
check_eq "only the new mails are stored" 210 "$(q "$d" "SELECT count(*) FROM messages WHERE direction = 'in'")"
check_eq "nothing left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "every source copy is recorded as done" 210 "$(q "$d" "SELECT count(*) FROM intake WHERE done = 1")"

# kill -9 at points picked by progress (as crash.sh does), windows of 16.
N=210
seed=11
kills=0
for round in 1 2 3 4 5 6; do
	i=$((N + 1))
	while [ $i -le $((N + 60)) ]; do
		thread_mail "$d/inbox/new/$(key $i)" $i
		i=$((i + 1))
	done
	N=$((N + 60))
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	if kill_at_progress "$d/secdesk.db" "$seed" 50 env SECDESK_TEST_WINDOW=16 "$SECDESK" \
		-c "$d/secdesk.conf" run; then
		kills=$((kills + 1))
	fi
done
echo "# $kills of 6 runs killed mid-way"
check "most runs were killed mid-way ($kills of 6)" test "$kills" -ge 3
check_rc "a full run after the kills" 0 sd run
check_eq "every mail stored exactly once" "$N $N" \
	"$(q "$d" "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE direction = 'in'" | tr '|' ' ')"
check_eq "nothing left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "every source copy is recorded as done" "$N" "$(q "$d" "SELECT count(*) FROM intake WHERE done = 1 AND state = 'stored'")"

# verify reads the whole listing, seen mail too (source_list_all): two
# mails not fetched yet, one in new/ and one unseen in cur/ with a flag,
# are missing, beside the seen one put there by hand; after a fetch, only
# that one is.
thread_mail "$d/inbox/new/$(key 901)" 901
thread_mail "$d/inbox/cur/$(key 903):2,F" 903
missing() { sd verify --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["not_in_store"], " ".join(sorted(m["key"] for m in j["missing"])))'; }
check_eq "verify: the mails not fetched are missing" "3 $(key 901) $(key 903) $(key 1000)" "$(missing)"
check_rc "they are fetched" 0 sd fetch
check_eq "verify: only the seen one is missing" "1 $(key 1000)" "$(missing)"

# An mbox's keys ("offset/hash") do not sort in the order of the file:
# the listing's own order is kept across windows.
m=$T_DIR/mbox
make_config "$m"
sed -i "s|^url   = maildir:inbox|url = mbox:box.mbox|; s|^after = seen|after = keep|" "$m/secdesk.conf"
i=1
while [ $i -le 60 ]; do
	echo "From p$i@example.org Mon Nov  2 10:00:00 2026"
	thread_mail "$T_DIR/one" $i
	cat "$T_DIR/one"
	echo
	i=$((i + 1))
done >"$m/box.mbox"
SECDESK_TEST_WINDOW=16 "$SECDESK" -c "$m/secdesk.conf" db init >/dev/null
check_rc "an mbox of 60 mails across windows" 0 env SECDESK_TEST_WINDOW=16 "$SECDESK" -c "$m/secdesk.conf" fetch
check_eq "each reply joined its inquiry's ticket" "60 30 0" \
	"$(q "$m" "SELECT count(*), count(DISTINCT ticket_id), (SELECT count(*) FROM (SELECT ticket_id FROM messages WHERE direction = 'in' GROUP BY ticket_id HAVING count(*) <> 2) AS odd) FROM messages WHERE direction = 'in'" | tr '|' ' ')"

# IMAP: spans of about 4 messages' UIDs (source_imap.c), over UIDs with a
# gap (10..19 expunged) and seen messages (30..39) left out by after = seen.
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "IMAP in spans: Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
gen_mails "$DC_MAILDIR" 1 60 span
dovecot_adm expunge -u "$DC_USER" mailbox INBOX uid 10:19
dovecot_adm flags add -u "$DC_USER" '\Seen' mailbox INBOX uid 30:39
i=$T_DIR/imap
desk_config "$i" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
ims() { SECDESK_TEST_IMAP_SEARCH=4 SECDESK_TEST_WINDOW=16 "$SECDESK" -c "$i/secdesk.conf" "$@"; }
ims db init >/dev/null
check_rc "an IMAP fetch, the mailbox searched in spans" 0 ims fetch
check_eq "every unseen message stored once" "40 40" "$(stored "$i/secdesk.db")"
check_eq "the keys are the unseen UIDs" "40 0 0" \
	"$(q "$i" "SELECT count(*), count(*) FILTER (WHERE CAST(substr(key, instr(key, '/') + 1) AS INTEGER) BETWEEN 10 AND 19), count(*) FILTER (WHERE CAST(substr(key, instr(key, '/') + 1) AS INTEGER) BETWEEN 30 AND 39) FROM intake" | tr '|' ' ')"
check_eq "each is marked seen on the server" 50 "$(server_seen)"
gen_mails "$DC_MAILDIR" 61 65 span
check_rc "the next fetch" 0 ims fetch
check_eq "takes the five new ones" "45 45" "$(stored "$i/secdesk.db")"

done_testing

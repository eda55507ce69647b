#!/bin/sh
# The foundation end to end: ingest from stdin and a Maildir, idempotence,
# threading (References, In-Reply-To, tag), reopen, JSON output.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

check_rc "db init creates the store" 0 sd db init
check_rc "db check passes on a new store" 0 sd db check

make_mail "$T_DIR/m1.eml" m1@example.org person@example.org "Eligibility question"
check_rc "ingest from stdin" 0 sh -c "'$SECDESK' -c '$d/secdesk.conf' ingest < '$T_DIR/m1.eml'"
check_eq "first mail opens ticket #1" "new ticket #1" "$(cat "$T_DIR/.out")"
check_rc "the same mail again" 0 sh -c "'$SECDESK' -c '$d/secdesk.conf' ingest < '$T_DIR/m1.eml'"
check_eq "is stored once" "already stored" "$(cat "$T_DIR/.out")"
{ echo "Received: from relay.example.org by mx.example.org; Mon, 2 Nov 2026 10:00:05 +0000"; cat "$T_DIR/m1.eml"; } >"$T_DIR/m1b.eml"
sd ingest "$T_DIR/m1b.eml" >/dev/null
check_eq "the same mail over another path is stored once" 1 \
	"$(sd show 1 --json | jq_ 'len([m for m in d["messages"] if m["direction"] == "in"])')"

sd list --json >"$T_DIR/list.json"
check_eq "list --json gives one ticket" 1 "$(jq_ 'len(d)' <"$T_DIR/list.json")"
for f in id status queue category priority language subject requester assignee tags created updated; do
	check "list --json ticket has '$f'" sh -c "python3 -c \"import json,sys; t=json.load(open('$T_DIR/list.json'))[0]; sys.exit(0 if '$f' in t else 1)\""
done
check_eq "requester is the sender" person@example.org "$(jq_ 'd[0]["requester"]' <"$T_DIR/list.json")"
check_eq "status is new" new "$(jq_ 'd[0]["status"]' <"$T_DIR/list.json")"
check "created is RFC 3339 UTC" sh -c "jq_() { :; }; python3 -c \"import json,re,sys; t=json.load(open('$T_DIR/list.json'))[0]; sys.exit(0 if re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ', t['created']) else 1)\""

# Threading by In-Reply-To.
cat >"$T_DIR/r1.eml" <<'MAIL'
From: Test Person <person@example.org>
To: secretariat@icpermed.example
Subject: Re: Eligibility question
Message-ID: <r1@example.org>
In-Reply-To: <m1@example.org>
Date: Tue, 3 Nov 2026 10:00:00 +0000

One more detail.
MAIL
check_eq "reply by In-Reply-To joins ticket #1" "added to ticket #1" "$(sd ingest "$T_DIR/r1.eml")"
# Threading by References only.
cat >"$T_DIR/r2.eml" <<'MAIL'
From: Colleague <colleague@example.net>
To: secretariat@icpermed.example
Subject: Fwd: Eligibility question
Message-ID: <r2@example.net>
References: <unknown@elsewhere.example> <r1@example.org>
Date: Tue, 3 Nov 2026 11:00:00 +0000

Forwarding with context.
MAIL
check_eq "reply by References joins ticket #1" "added to ticket #1" "$(sd ingest "$T_DIR/r2.eml")"
# Threading by the subject tag, from the requester.
make_mail "$T_DIR/t1.eml" t1@example.org person@example.org "Again [ICPerMed #1] please"
check_eq "the requester's tag joins ticket #1" "added to ticket #1" "$(sd ingest "$T_DIR/t1.eml")"
# A stranger's tag does not hijack the ticket.
make_mail "$T_DIR/t2.eml" t2@example.com stranger@example.com "[ICPerMed #1] let me in"
check_eq "a stranger's tag opens a new ticket" "new ticket #2" "$(sd ingest "$T_DIR/t2.eml")"
check_eq "which is marked as a possible follow-up of #1" 1 \
	"$(sd show 2 --json | jq_ 'd["related_to"]')"
check "show says so" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 2 | grep -q 'follow-up of #1'"
check_eq "ticket #1 holds its four inbound messages" 4 \
	"$(sd show 1 --json | jq_ 'len([m for m in d["messages"] if m["direction"] == "in"])')"

# Reopen: resolved, then the requester writes again.
check_rc "status resolved" 0 sd status 1 resolved
make_mail "$T_DIR/t3.eml" t3@example.org person@example.org "Re: [ICPerMed #1] still open"
sd ingest "$T_DIR/t3.eml" >/dev/null
check_eq "the requester's mail reopens the ticket" open "$(sd show 1 --json | jq_ 'd["status"]')"
check "the reopen is an event" sh -c "'$SECDESK' -c '$d/secdesk.conf' show 1 --json | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(e['what']=='status' and e['old']=='resolved' and e['new']=='open' for e in d['events']) else 1)\""

# show --json: messages carry the contract's fields.
sd show 1 --json >"$T_DIR/show.json"
for f in direction from to subject date message_id body; do
	check "show --json message has '$f'" python3 -c "import json,sys; m=json.load(open('$T_DIR/show.json'))['messages'][0]; sys.exit(0 if '$f' in m else 1)"
done
check_eq "the first message is inbound" in "$(jq_ 'd["messages"][0]["direction"]' <"$T_DIR/show.json")"
check_eq "its body is the mail's text" "Dear secretariat," "$(jq_ 'd["messages"][0]["body"].splitlines()[0]' <"$T_DIR/show.json")"

# Triage commands and their events.
check_rc "assign" 0 sd assign 1 maria
check_rc "tag" 0 sd tag 1 eligibility
check_rc "note" 0 sd note 1 -m "Asked DLR about eligibility"
sd show 1 --json >"$T_DIR/show.json"
check_eq "assignee set" maria "$(jq_ 'd["assignee"]' <"$T_DIR/show.json")"
check_eq "tag set" eligibility "$(jq_ 'd["tags"][0]' <"$T_DIR/show.json")"
check "the note is an event with who" python3 -c "import json,sys; d=json.load(open('$T_DIR/show.json')); sys.exit(0 if any(e['what']=='note' and e['new']=='Asked DLR about eligibility' and e['who'] for e in d['events']) else 1)"
check_rc "status with a bad value is a usage error" 64 sd status 1 finished
check_rc "show of a missing ticket is bad data" 65 sd show 99
check_rc "an unknown command exits 64" 64 sd frobnicate
check_rc "list --status filters" 0 sd list --status open --json
check_eq "list --status open finds ticket #1 only" "[1]" "$(sd list --status open --json | jq_ '[t["id"] for t in d]')"

# The Maildir source: every message moved to cur/ with S, none left in new/.
for i in 1 2 3 4 5; do
	make_mail "$d/inbox/new/17000000$i.M$i.host" "md$i@example.org" "md$i@example.org" "Maildir $i"
done
check_rc "run over the maildir" 0 sd run
check_eq "nothing left in new/" 0 "$(ls "$d/inbox/new" | wc -l)"
check_eq "all five in cur/ flagged seen" 5 "$(ls "$d/inbox/cur" | grep -c ':2,S$')"
check "the summary line counts them" grep -q "fetched 5, new tickets 5" "$T_DIR/.out"
check_rc "a second run" 0 sd run
check "fetches nothing new" grep -q "fetched 0" "$T_DIR/.out"
check_eq "seven tickets in all" 7 "$(sd list --json | jq_ 'len(d)')"
# On a terminal a long fetch shows its progress; piped, it does not.
for i in 1 2 3; do
	make_mail "$d/inbox/new/17100000$i.M$i.host" "pr$i@example.org" "pr$i@example.org" "Progress $i"
done
if command -v script >/dev/null 2>&1; then
	script -qc "'$SECDESK' -c '$d/secdesk.conf' fetch" /dev/null </dev/null >"$T_DIR/tty.out" 2>&1
	check "a terminal shows the progress line" grep -q "3 of 3 new messages stored" "$T_DIR/tty.out"
else
	skip "no script(1) to give secdesk a terminal"
fi
make_mail "$d/inbox/new/171000009.M9.host" "pr9@example.org" "pr9@example.org" "Progress 9"
sd fetch >"$T_DIR/pipe.out" 2>&1
check "a pipe gets no progress line" sh -c "! grep -q 'new messages stored' '$T_DIR/pipe.out'"
check_rc "db check after all that" 0 sd db check
done_testing

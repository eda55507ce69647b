#!/bin/sh
# The conventions of issue 19 over every command, as one table run in
# order on one small desk: each row is a command line, the exit status it
# must give and a line its output (stdout or stderr) must hold. Names in
# any case; an unknown value refused with the valid ones (64); each change
# said in one line, -q silent; a no-op said (0); a merged ticket refused
# with where it went (65); options before or after operands, -- ending
# them; a bad ticket id named; a mistyped command's nearest one; usage
# errors 64 before the config is read (every command, without a config).
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
export SECDESK_USER=alice
unset SECDESK_CONFIG
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@" </dev/null; }
sd db init >/dev/null
make_mail "$T_DIR/m1.eml" m1@example.org a@example.org "Budget question"
make_mail "$T_DIR/m2.eml" m2@example.org b@example.org "Second question"
make_mail "$T_DIR/m3.eml" m3@example.org a@example.org "Budget question again"
for i in 1 2 3; do sd ingest "$T_DIR/m$i.eml" >/dev/null; done

# Runs the table on stdin: "RC | LINE | COMMAND LINE", LINE a fixed string
# that stdout or stderr must hold, "(silent)" for no output at all.
# COMMAND LINE is split as the shell splits it ($T_DIR and $d expanded);
# NOCONF in front runs it with a config that does not exist.
run_table() {
	n=0
	while IFS='|' read -r rc want line; do
		rc=$(echo "$rc" | tr -d ' ')
		case $rc in '' | '#'*) continue ;; esac
		want=$(echo "$want" | sed 's/^ *//; s/ *$//')
		line=$(echo "$line" | sed 's/^ *//; s/ *$//')
		n=$((n + 1))
		conf=$d/secdesk.conf
		case $line in NOCONF\ *) conf=$T_DIR/none.conf line=${line#NOCONF } ;; esac
		eval "set -- $line"
		"$SECDESK" -c "$conf" "$@" >"$T_DIR/.out" 2>"$T_DIR/.err" </dev/null
		got=$?
		if [ "$want" = "(silent)" ]; then
			[ ! -s "$T_DIR/.out" ] && [ ! -s "$T_DIR/.err" ]
		else
			cat "$T_DIR/.out" "$T_DIR/.err" | grep -qF -- "$want"
		fi
		found=$?
		if [ "$got" -eq "$rc" ] && [ $found -eq 0 ]; then
			ok "$line -> $rc, '$want'"
		else
			not_ok "$line -> $rc, '$want' (exit $got)"
			cat "$T_DIR/.out" "$T_DIR/.err" | head -5 | sed 's/^/#   /'
		fi
	done
	rows=$((rows + n))
}
rows=0

run_table <<'TABLE'
# -- names in any case -------------------------------------------------------
0  | #1: status new -> closed                  | status 1 Closed
0  | #1: status closed -> open                | status 1 OPEN
0  | "id": 1                                  | list --status OPEN,Pending --json
0  | #1: queue secretariat -> DE (Germany)    | route 1 de
0  | "id": 1                                  | list --queue dE --json
0  | #2: queue secretariat -> FR (France)     | route 2 Fr
0  | "id": 2                                  | search status:NEW queue:fr --json
# -- unknown values refused with the valid ones, in actions and filters -------
64 | status: 'bogus' is not a status; the statuses: new, open, pending, resolved, closed | status 1 bogus
64 | list --status: 'bogus' is not a status; the statuses: new, open, pending | list --status open,bogus
64 | route: 'XX' is not a queue; the queues: secretariat, EC,                  | route 1 XX
64 | list --queue: 'XX' is not a queue; the queues: secretariat, EC,           | list --queue XX
64 | --sort: 'bogus' is not one of id, created, updated, priority, queue, status | list --sort bogus
64 | is not a template name                   | reply 1 --template ../x -m hi
64 | reply --template: 'bogus' is not a template; the templates: ack, moved, partner, remind, reply, reroute | reply 1 --template bogus -m hi
# -- every change in one line; -q silent -------------------------------------
0  | #1: assignee (none) -> alice             | take 1
0  | #1: assignee alice -> bob                | assign 1 bob
0  | #1: tagged urgent                        | tag 1 urgent
0  | #1: untagged urgent                      | untag 1 urgent
0  | #1: note added                           | note 1 -m hello
0  | #2: status new -> pending                | status 2 pending
0  | reply to #2 queued                       | reply 2 -m Thanks
0  | (silent)                                 | -q status 2 open
0  | (silent)                                 | -q assign 2 carol
0  | (silent)                                 | -q tag 2 later
0  | (silent)                                 | -q untag 2 later
0  | (silent)                                 | -q route 2 DE
0  | (silent)                                 | -q note 2 -m quiet
# -- a no-op says so and exits 0 ---------------------------------------------
0  | #1: not tagged nosuchtag                 | untag 1 nosuchtag
0  | #1: status is already open               | status 1 open
0  | #1: assignee is already bob              | assign 1 bob
0  | #2: queue is already DE                  | route 2 de
0  | #1: tagged keep                          | tag 1 keep
0  | #1: already tagged keep                  | tag 1 keep
0  | #1: assignee bob -> alice                | assign 1 alice
0  | #1: assignee is already alice            | take 1
# -- a merged ticket refuses changes and names where it went -----------------
0  | #3: merged into #1                       | merge 3 1
65 | ticket #3 is merged into #1              | take 3
65 | ticket #3 is merged into #1              | status 3 open
65 | ticket #3 is merged into #1              | assign 3 bob
65 | ticket #3 is merged into #1              | tag 3 x
65 | ticket #3 is merged into #1              | untag 3 x
65 | ticket #3 is merged into #1              | route 3 FR
65 | ticket #3 is merged into #1              | note 3 -m x
65 | ticket #3 is merged into #1              | reply 3 -m x
65 | ticket #3 is already merged into #1      | merge 3 2
# -- options before or after the operands; -- ends them ----------------------
0  | "rules": [                               | rules test $T_DIR/m1.eml --json
0  | "rules": [                               | rules test --json $T_DIR/m1.eml
0  | "id": 1                                  | show 1 --json
0  | "id": 1                                  | show --json 1
0  | "id": 1                                  | search budget --json
0  | #2: note added                           | note -m after 2
0  | "id": 1                                  | list --json --limit 1 --sort id
0  | "id": 1                                  | list --sort id --json --limit 1
0  | #1: tagged -odd                          | tag 1 -- -odd
0  | #1: untagged -odd                        | untag 1 -- -odd
0  | usage: secdesk rules                     | rules --help check
64 | tag: unknown option '-o' in '-odd'; put -- before an argument that begins with '-' | tag 1 -odd
64 | search: unknown option '-s' in '-spam'; put -- before | search -spam
0  | Budget question                          | search -- -spam
64 | list: option '--sort' needs a value      | list --sort
64 | list: option '--json' takes no value     | list --json=yes
# -- a bad ticket id is named ------------------------------------------------
64 | show: 'abc' is not a ticket number       | show abc
64 | status: 'abc' is not a ticket number     | status abc open
64 | assign: 'x1' is not a ticket number      | assign x1 bob
64 | take: '-1' is not a ticket number        | take -- -1
64 | tag: 'abc' is not a ticket number        | tag abc t
64 | untag: 'abc' is not a ticket number      | untag abc t
64 | route: 'abc' is not a ticket number      | route abc DE
64 | merge: 'abc' is not a ticket number      | merge 1 abc
64 | note: 'abc' is not a ticket number       | note abc -m x
64 | reply: 'abc' is not a ticket number      | reply abc -m x
64 | attachment: 'abc' is not a ticket number | attachment abc 1
65 | no ticket #99                            | show 99
# -- an unknown command suggests the nearest one -----------------------------
64 | 'lst' is not a secdesk command; did you mean list? | lst
64 | did you mean status or stats?            | stauts 1 open
64 | did you mean status?                     | sttaus 1 open
64 | did you mean search?                     | serach budget
64 | did you mean remind?                     | remnid
64 | 'xyzzy' is not a secdesk command; see 'secdesk help' | xyzzy
64 | 're' is not a secdesk command; see 'secdesk help' | re
64 | did you mean templates?                  | help templtes
# -- usage errors are 64 before the config is read ---------------------------
64 | list: unknown option '--bogus'           | NOCONF list --bogus
64 | list: option '--limit' needs a value     | NOCONF list --limit
64 | show: unknown option '--bogus'           | NOCONF show 1 --bogus
64 | did you mean list?                       | NOCONF lst
0  | usage: secdesk status ID STATUS          | NOCONF status --help
0  | usage: secdesk list                      | NOCONF list --json --help
78 | none.conf                                | NOCONF list --json
TABLE

# Every command of the table: an unknown option is 64 (ingest: 75, for its
# MTA) with the usage line, before the config is read.
for c in $("$SECDESK" help | awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }'); do
	want=64
	[ "$c" = ingest ] && want=75
	echo "$want | usage: secdesk $c | NOCONF $c --bogus-option"
done >"$T_DIR/every"
run_table <"$T_DIR/every"

check "the table has many rows ($rows)" test "$rows" -gt 100
check_eq "nothing changed on the merged ticket" "closed [] 1" \
	"$(sd show 3 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["tags"], d["merged_into"])')"
check_eq "no event for the no-ops (one tag event for keep, three assignee events)" "1 3" \
	"$(sd show 1 --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(len([e for e in d["events"] if e["what"]=="tag" and e["new"]=="keep"]),
      len([e for e in d["events"] if e["what"]=="assignee"]))')"
done_testing

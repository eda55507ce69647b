#!/bin/sh
# Every command that 'secdesk help' lists: an unknown option exits 64 with
# the command's usage line, 'secdesk help CMD' and 'secdesk CMD --help'
# exit 0 with it; an unknown command exits 64 with the usage. The commands
# that take an id reject an option after it too.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@" </dev/null; }
export SECDESK_USER=alice
sd db init >/dev/null
make_mail "$T_DIR/m1.eml"
sd ingest "$T_DIR/m1.eml" >/dev/null

sd help >"$T_DIR/help.txt"
check_rc "secdesk help" 0 sd help
cmds=$(awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }' "$T_DIR/help.txt")
n=$(echo "$cmds" | wc -w)
check "help lists the commands ($n)" test "$n" -ge 20
for c in $cmds; do
	# ingest, an MTA's delivery agent, exits 75 for every failure (the
	# MTA keeps the mail rather than bouncing it).
	want=64
	[ "$c" = ingest ] && want=75
	check_rc "$c --bogus-option exits $want" "$want" sd "$c" --bogus-option
	check "$c --bogus-option prints its usage line" grep -q "^usage: secdesk $c" "$T_DIR/.err"
	check_eq "$c --bogus-option writes nothing on stdout" "" "$(cat "$T_DIR/.out")"
	check_rc "help $c exits 0" 0 sd help "$c"
	check "help $c gives the usage line" grep -q "^usage: secdesk $c" "$T_DIR/.out"
	check_rc "$c --help exits 0" 0 sd "$c" --help
	check "$c --help gives the usage line" grep -q "^usage: secdesk $c" "$T_DIR/.out"
done

# After an id, an option is an option, not a value.
for c in "status 1" "assign 1" "tag 1" "untag 1" "take 1" "show 1" "note 1"; do
	# shellcheck disable=SC2086
	check_rc "$c --bogus-option exits 64" 64 sd $c --bogus-option
	check "$c --bogus-option prints the usage line" grep -q "^usage: secdesk ${c% 1}" "$T_DIR/.err"
done
check_eq "nothing was assigned or tagged" "'' []" \
	"$(sd show 1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(repr(d["assignee"]), d["tags"])')"
check_rc "-- lets a value start with '-'" 0 sd tag 1 -- -odd
check_eq "tagged '-odd'" "['-odd']" "$(sd show 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tags"])')"
check_rc "untag 1 -- -odd" 0 sd untag 1 -- -odd

check_rc "an unknown command exits 64" 64 sd bogus-command
check "and says so" grep -q "'bogus-command' is not a secdesk command" "$T_DIR/.err"
check "with the usage" grep -q "^usage: secdesk " "$T_DIR/.err"
check_rc "no command exits 64" 64 sd
check "with the usage" grep -q "^usage: secdesk " "$T_DIR/.err"
check_rc "an unknown global option exits 64" 64 sd --bogus-option list
check "with the usage" grep -q "^usage: secdesk " "$T_DIR/.err"
check_rc "help of an unknown command exits 64" 64 sd help bogus-command
check "with help's usage line" grep -q "^usage: secdesk help \[COMMAND\]" "$T_DIR/.err"
check_rc "help with two commands exits 64" 64 sd help list show
check_rc "--help exits 0" 0 sd --help
check "and lists the commands" grep -q "^  list  *list tickets" "$T_DIR/.out"
check "help names the global options" grep -q -e "--no-pager" "$T_DIR/help.txt"
check "help names the pager variables" grep -q 'SECDESK_PAGER' "$T_DIR/help.txt"
sd help list >"$T_DIR/hl.txt"
for o in --status --queue --assignee --tag --category --older-than --unanswered --sort --reverse --limit --json; do
	check "help list explains $o" grep -q -e "^  $o" "$T_DIR/hl.txt"
done
check "help list says what the age counts from" grep -q "counted from the" "$T_DIR/hl.txt"
check "help list says acknowledgements do not count" grep -q "acknowledgements" "$T_DIR/hl.txt"
check "help show explains the thread" grep -q "partner" "$(sd help show >"$T_DIR/hs.txt"; echo "$T_DIR/hs.txt")"
done_testing

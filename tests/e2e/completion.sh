#!/bin/sh
# contrib/bash-completion/secdesk in bash: COMP_WORDS and COMP_CWORD set as
# bash sets them, _secdesk called, COMPREPLY checked: commands and global
# options, list's options and their values (statuses, comma lists, sort
# fields, queues from the rules), ticket ids and assignees from a small
# store, templates by name, the subcommands of rules and db (reindex too)
# and their --json, remind, report, verify; and `secdesk complete`, which
# the completion asks, against the rules and templates themselves.
. "$TOP/tests/lib.sh"
if ! command -v bash >/dev/null 2>&1; then
	skip "bash is needed"
	done_testing
	exit
fi
d=$T_DIR/desk
make_config "$d"
# The completion runs `secdesk`: the binary under test, first in PATH.
mkdir "$T_DIR/bin"
ln -s "$SECDESK" "$T_DIR/bin/secdesk"
PATH=$T_DIR/bin:$PATH
export SECDESK_CONFIG=$d/secdesk.conf SECDESK_USER=alice
unset NO_COLOR SECDESK_PAGER PAGER

"$SECDESK" db init >/dev/null
make_mail "$T_DIR/m1.eml" m1@example.org a@example.org "First question"
make_mail "$T_DIR/m2.eml" m2@example.org b@example.org "Second question"
make_mail "$T_DIR/m3.eml" m3@example.org c@example.org "Third question"
for i in 1 2 3; do "$SECDESK" ingest "$T_DIR/m$i.eml" >/dev/null; done
"$SECDESK" route 2 FR >/dev/null
"$SECDESK" route 3 DE >/dev/null
"$SECDESK" assign 2 bob >/dev/null
"$SECDESK" assign 3 carol >/dev/null

# comp WORD...: completes the last word (may be empty) of "secdesk WORD...";
# prints COMPREPLY sorted, one line, space-separated.
comp() {
	bash -c '
		. "$1"; shift
		COMP_WORDS=(secdesk "$@")
		COMP_CWORD=$#
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		_secdesk secdesk "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ \$//"
	' sh "$TOP/contrib/bash-completion/secdesk" "$@"
}

check "the file parses in bash" bash -n "$TOP/contrib/bash-completion/secdesk"
check_eq "commands by prefix" "remind reply report route rules run" "$(comp r)"
check_eq "every command of 'secdesk help' is completed" "" "$(
	all=$(comp '')
	"$SECDESK" help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' |
	while read -r c; do
		case " $all " in *" $c "*) ;; *) printf '%s ' "$c" ;; esac
	done)"
check_eq "global options" "--color=always --color=auto --color=never" "$(comp --col)"
check_eq "--no-pager" "--no-pager" "$(comp --no)"
check_eq "--color= values, split at '=' as bash does" "always auto" "$(comp --color = a)"
check_eq "--color=a in one word" "--color=always --color=auto" "$(comp --color=a)"
check_eq "the command after --color=never and --no-pager" "list" \
	"$(comp --color = never --no-pager li)"
check_eq "list's options by prefix" "--older-than" "$(comp list --o)"
check_eq "list's options after a global option" "--queue" "$(comp --no-pager list --q)"
check_eq "all of list's options" \
	"--all --assignee --category --format --json --limit --older-than --queue --reverse --sort --status --tag --unanswered" \
	"$(comp list --)"
check_eq "statuses after --status" "closed new open pending resolved" "$(comp list --status '')"
check_eq "a comma list after --status: the next status completed" \
	"new,closed new,new new,open new,pending new,resolved" "$(comp list --status new,)"
check_eq "a comma list after --status, with a prefix" "new,pending" "$(comp list --status new,p)"
check_eq "sort fields after --sort" "priority" "$(comp list --sort pri)"
check_eq "descending sort fields after --sort" "-priority" "$(comp list --sort -pri)"
# Every queue of the rules, not only those that have tickets.
queues=$(sed -n 's/^queue[[:space:]]\{1,\}\([A-Za-z0-9-]*\).*/\1/p' "$TOP/rules/00-queues.rules" | sort | tr '\n' ' ')
nq=$(echo "$queues" | wc -w)
check "the rules declare many queues ($nq)" test "$nq" -gt 20
check_eq "every queue of the rules after --queue (secretariat too)" \
	"$(printf '%s\n' $queues secretariat | sort -u | tr '\n' ' ' | sed 's/ $//')" \
	"$(comp list --queue '' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "queue names by prefix" "FI FR" "$(comp list --queue F)"
check_eq "a queue without tickets for route ID" "PL PT" "$(comp route 1 P)"
check_eq "ticket ids from the store for show" "1 2 3" "$(comp show '')"
check_eq "ticket ids with -c CONFIG given" "1 2 3" "$(comp -c "$d/secdesk.conf" status '')"
check_eq "statuses for status ID" "pending" "$(comp status 1 pe)"
check_eq "queues for route ID" "DE DK" "$(comp route 1 D)"
check_eq "templates by name after --template" "ack moved partner remind reply reroute" "$(comp reply 1 --template '')"
check_eq "templates by prefix" "reroute reply remind" "$(comp reply 1 --template re | tr ' ' '\n' | sort -r | tr '\n' ' ' | sed 's/ $//')"
check_eq "assignees seen in the store after --assignee" "bob carol" "$(comp list --assignee '')"
check_eq "assignees for assign ID" "carol" "$(comp assign 1 c)"
check_eq "statuses in a comma list after -s" "new,open" "$(comp list -s new,o)"
check_eq "no value offered after an option without one" "" "$(comp list --json '')"
check_eq "reply's options" "--attach --cc --dry-run --message --no-edit --template --to" "$(comp reply 1 --)"
check_eq "attachment's -o is a file" "$T_DIR/bin" "$(comp attachment 1 1 --output "$T_DIR/bi")"
check_eq "remind's options" "--dry-run --json" "$(comp remind --)"
check_eq "report --html" "--html --since --until" "$(comp report --)"
check_eq "verify --json" "--json --reingest" "$(comp verify --)"
check_eq "rules subcommands" "check replay test" "$(comp rules '')"
check_eq "rules check --json" "--json" "$(comp rules check --)"
check_eq "rules replay's options" "--apply --tickets" "$(comp rules replay --)"
check_eq "db subcommands, reindex too" "backup check copy init reindex" "$(comp db '')"
check_eq "templates subcommands" "check" "$(comp templates '')"
check_eq "rules check after a global option" "check" "$(comp -q rules ch)"
check_eq "db check --json" "--json" "$(comp db check --)"
check_eq "db init: nothing" "" "$(comp db init --)"
check_eq "help COMMAND" "remind reply report" "$(comp help re)"
check_eq "no ids offered when the store cannot be read" "" \
	"$(SECDESK_CONFIG=$T_DIR/none.conf comp show '')"
check_eq "nor queues without a config" "" "$(SECDESK_CONFIG=$T_DIR/none.conf comp route 1 '')"

# secdesk complete itself: what the completion is made of.
check_eq "complete statuses" "new open pending resolved closed" "$("$SECDESK" complete statuses | tr '\n' ' ' | sed 's/ $//')"
check_eq "complete commands: what help lists" \
	"$("$SECDESK" help | awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' | tr '\n' ' ')" \
	"$("$SECDESK" complete commands | tr '\n' ' ')"
check "complete is no command help lists" sh -c "! '$SECDESK' help | grep -q '^  complete'"
check_eq "complete values of an option without a value fails (65)" 65 \
	"$("$SECDESK" complete values list --json >/dev/null 2>&1; echo $?)"
check_rc "complete of nothing known is a usage error" 64 "$SECDESK" complete bogus
check_rc "complete queues without a config: the config error" 78 env SECDESK_CONFIG=$T_DIR/none.conf "$SECDESK" complete queues
mkdir -p "$T_DIR/tmpl/DE"
for f in ack.en.txt reply.de.txt custom.fr.txt remind.en.tmpl README _signature.txt notes; do : >"$T_DIR/tmpl/$f"; done
sed "s|^dir = .*templates|dir = $T_DIR/tmpl|" "$d/secdesk.conf" >"$T_DIR/t.conf"
check_eq "templates by name: NAME.LANG.txt and .tmpl, not README or _partials" \
	"ack custom remind reply" "$("$SECDESK" -c "$T_DIR/t.conf" complete templates | tr '\n' ' ' | sed 's/ $//')"

done_testing

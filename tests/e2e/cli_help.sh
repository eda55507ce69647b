#!/bin/sh
# Help from one table (issue 19): `secdesk help CMD` and `secdesk CMD --help`
# are the same text, secdesk(1)'s COMMANDS section is what `secdesk help
# --mdoc` makes of that table (so the three cannot drift apart), every
# option a command's source accepts is in its help and no other, and the
# help names the values: statuses, sort keys, the search language.
. "$TOP/tests/lib.sh"
unset SECDESK_CONFIG
export SECDESK_PAGER=cat
cmds=$("$SECDESK" help | awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
n=$(echo "$cmds" | wc -w)
check "help lists the commands ($n)" test "$n" -ge 25

# ---- secdesk(1) is made from the table ----
if "$TOP/tests/tools/man_commands.sh" "$SECDESK" "$TOP/doc/secdesk.1" >"$T_DIR/man.diff" 2>&1; then
	ok "doc/secdesk.1's COMMANDS section is 'secdesk help --mdoc' (make man)"
else
	not_ok "doc/secdesk.1's COMMANDS section differs from 'secdesk help --mdoc': run make man"
	head -30 "$T_DIR/man.diff" | sed 's/^/#   /'
fi
# The check can fail: a changed page is caught.
sed 's/^Lint the templates/Lint the templets/' "$TOP/doc/secdesk.1" >"$T_DIR/changed.1"
check "a page that differs from the table is caught" \
	sh -c "! '$TOP/tests/tools/man_commands.sh' '$SECDESK' '$T_DIR/changed.1' >/dev/null 2>&1"
cp "$T_DIR/changed.1" "$T_DIR/fixed.1"
"$TOP/tests/tools/man_commands.sh" "$SECDESK" "$T_DIR/fixed.1" --write
check "and --write puts the table's text back" \
	"$TOP/tests/tools/man_commands.sh" "$SECDESK" "$T_DIR/fixed.1"
check_eq "--write changes nothing outside the section" \
	"$(awk '/^\.Sh COMMANDS/ { exit } { print }' "$TOP/doc/secdesk.1")" \
	"$(awk '/^\.Sh COMMANDS/ { exit } { print }' "$T_DIR/fixed.1")"

# The page as a reader sees it, one command's entry at a time.
if command -v mandoc >/dev/null 2>&1; then
	mandoc -T utf8 -O width=200 "$TOP/doc/secdesk.1" | col -b >"$T_DIR/man.txt"
else
	skip "mandoc is not installed: the rendered page is not checked"
fi

for c in $cmds; do
	"$SECDESK" help "$c" >"$T_DIR/h1" 2>&1
	"$SECDESK" "$c" --help >"$T_DIR/h2" 2>&1
	check "help $c = $c --help" cmp -s "$T_DIR/h1" "$T_DIR/h2"
	check_eq "help $c: no line over 78 columns but the usage" "" \
		"$(awk 'NR > 1 && length($0) > 78' "$T_DIR/h1")"
	for o in $("$SECDESK" complete options "$c"); do
		check "help $c explains $o" grep -q -e "^  $o\( \|,\|$\)" "$T_DIR/h1"
		[ -s "$T_DIR/man.txt" ] &&
			check "secdesk(1) explains $c $o" sh -c "awk -v c='$c' '
				/^     [a-z]/ { on = (\$1 == c) } on' '$T_DIR/man.txt' | grep -q -e '$o'"
	done
	# Every sentence of the help is in the page (whitespace aside).
	if [ -s "$T_DIR/man.txt" ]; then
		awk -v c="$c" '/^     [a-z]/ { on = ($1 == c) } on' "$T_DIR/man.txt" |
			tr -s ' \n\t' '   ' >"$T_DIR/entry"
		tail -n +2 "$T_DIR/h1" | grep -v '^Options:$' | tr -s ' \n\t' '   ' |
			sed 's/^ //; s/ $//' >"$T_DIR/words"
		check "secdesk(1)'s $c entry says what help $c says" \
			grep -qF -f "$T_DIR/words" "$T_DIR/entry"
	fi
done

# ---- the options a command's source takes are the ones its help gives ----
# Per file of src/cli/: the long options of its struct option tables, and
# the options of the commands it defines (cmd_NAME), from the help table.
for f in "$TOP"/src/cli/*.c; do
	defined=$(sed -n 's/^cmd_\([a-z]*\)(.*/\1/p' "$f" | tr '\n' ' ' | sed 's/ $//')
	[ -n "$defined" ] || continue
	# (db.c takes its one option as a word: strcmp(argv[2], "--json"))
	src=$({ sed -n 's/.*{ "\([a-z-]*\)", \(no\|required\|optional\)_argument.*/--\1/p' "$f"
		grep -o 'strcmp([^)]*"--[a-z-]*")' "$f" | sed 's/.*"\(--[a-z-]*\)")/\1/'; } |
		sort -u | tr '\n' ' ')
	helped=$(for c in $defined; do "$SECDESK" complete options "$c"; done | sort -u | tr '\n' ' ')
	[ "$(basename "$f")" = help.c ] && continue # help --mdoc is not a struct option
	check_eq "$(basename "$f"): the options it parses are its help's ($defined)" "$src" "$helped"
done

# ---- the help names the values ----
"$SECDESK" status --help >"$T_DIR/status"
check "status --help lists the statuses" grep -q "new, open, pending, resolved or closed" "$T_DIR/status"
check "status --help says the change is said, -q silent" grep -q "nothing with -q" "$T_DIR/status"
"$SECDESK" list --help >"$T_DIR/list"
check "list --help lists the sort keys" grep -q "id, created, updated, priority, queue or" "$T_DIR/list"
check "list --help explains the [!] marker" grep -q '\[!\]' "$T_DIR/list"
"$SECDESK" search --help >"$T_DIR/search"
for w in 'prefix\*' ' OR ' 'NOT a or -a' 'from:' 'date:A..B' 'secdesk search -- call -spam'; do
	check "search --help explains '$w'" grep -q -e "$w" "$T_DIR/search"
done
"$SECDESK" reply --help >"$T_DIR/reply"
check "reply --help says the reply is queued and the ticket set pending" \
	grep -q "queued in" "$T_DIR/reply"
check "and pending" sh -c "tr '\n' ' ' <'$T_DIR/reply' | grep -q 'ticket set pending'"
check "db --help names reindex" grep -q "reindex" "$(f=$T_DIR/db; "$SECDESK" db --help >"$f"; echo "$f")"
check_rc "help --mdoc needs no config" 0 "$SECDESK" -c "$T_DIR/none.conf" help --mdoc
check_rc "help of a mistyped command suggests one" 64 "$SECDESK" help lst
check "did you mean list?" grep -q "did you mean list?" "$T_DIR/.err"
done_testing

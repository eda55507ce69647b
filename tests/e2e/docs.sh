#!/bin/sh
# The documentation (issue 7): every man page lints clean (mandoc -T lint,
# groff -ww), secdesk.conf(5) documents every key of the config key table,
# secdesk(1) every command that `secdesk help` lists, and `make install
# DESTDIR=... PREFIX=/usr` lays out binary, man pages, completion, rules,
# templates and the example config as a Debian package would.
. "$TOP/tests/lib.sh"
doc=$TOP/doc
pages="$doc/secdesk.1 $(ls "$doc"/*.5)"

# ---- lint ----
if command -v mandoc >/dev/null 2>&1; then
	for p in $pages; do
		out=$(mandoc -T lint -W warning "$p" 2>&1)
		rc=$?
		check_eq "mandoc -T lint: $(basename "$p") has no warning (rc $rc)" "" "$out"
	done
	# All pages at once, style messages included: then each .Xr to another
	# page of secdesk resolves.
	# (Relative names: mandoc resolves .Xr among the files it is given only
	# so.)
	out=$(cd "$doc" && mandoc -T lint secdesk.1 ./*.5 2>&1)
	check_eq "mandoc -T lint of all pages together: not even a style message" "" "$out"
	[ -n "$out" ] && echo "$out" | sed 's/^/#   /'
else
	skip "mandoc is not installed (contrib/install-deps.sh test)"
fi
if command -v groff >/dev/null 2>&1; then
	for p in $pages; do
		out=$(groff -ww -mandoc -z "$p" 2>&1)
		check_eq "groff -ww: $(basename "$p") renders without warnings" "" "$out"
	done
else
	skip "groff is not installed (contrib/install-deps.sh test)"
fi

# ---- every config key in secdesk.conf(5) ----
# The key table of src/util/config.c: { "section", "key", KEY_TYPE, ... }.
keys=$(sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", "\([a-z_]*\)", KEY_[A-Z]*,.*/\1 \2/p' \
	"$TOP/src/util/config.c")
nkeys=$(echo "$keys" | grep -c .)
check "the key table of src/util/config.c was found ($nkeys keys)" test "$nkeys" -gt 20
missing=""
echo "$keys" | {
	while read -r section key; do
		# The key as an item of its own section's list: ".Ss [section]"
		# up to the next .Ss holds ".It Cm key No =".
		awk -v s="$section" -v k="$key" '
			/^\.Ss / { in_s = ($2 == "[" s "]\\&") }
			in_s && $1 == ".It" && $2 == "Cm" && $3 == k { found = 1 }
			END { exit !found }' "$doc/secdesk.conf.5" || echo "[$section] $key"
	done
} >"$T_DIR/missing-keys"
check_eq "secdesk.conf(5) documents every key in its section" "" "$(tr '\n' ' ' <"$T_DIR/missing-keys")"
for k in busy_timeout max_message_size per_sender_window oauth_token_command; do
	check "secdesk.conf(5) gives a default or meaning for $k" grep -q "^\.It Cm $k No =" "$doc/secdesk.conf.5"
done

# ---- every command in secdesk(1) ----
cmds=$("$SECDESK" help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
ncmds=$(echo "$cmds" | grep -c .)
check "secdesk help lists the commands ($ncmds)" test "$ncmds" -gt 15
for c in $cmds; do
	check "secdesk(1) documents '$c'" grep -q "^\.It Cm $c\( \|$\)" "$doc/secdesk.1"
done

# ---- make install DESTDIR=... PREFIX=/usr ----
# -o all: install what this test run's binary is ($BUILD), without building
# in a checkout that others may be editing.
dest=$T_DIR/root
build=${BUILD:-$(dirname "$SECDESK")}
if make -s -C "$TOP" -o all install DESTDIR="$dest" PREFIX=/usr BUILD="$build" \
	>"$T_DIR/install.out" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	not_ok "make install DESTDIR=... PREFIX=/usr"
	sed 's/^/#   /' "$T_DIR/install.out" | tail -20
fi
u=$dest/usr
check_eq "everything under DESTDIR/usr" "usr" "$(ls "$dest")"
check "the binary is usr/bin/secdesk, executable" test -x "$u/bin/secdesk"
check "the installed binary runs" sh -c "'$u/bin/secdesk' help >/dev/null"
check_eq "the binary is mode 0755" 755 "$(stat -c %a "$u/bin/secdesk")"
check "secdesk(1) in man1" test -f "$u/share/man/man1/secdesk.1"
for p in "$doc"/*.5; do
	n=$(basename "$p")
	check "$n in man5" test -f "$u/share/man/man5/$n"
	check_eq "$n is mode 0644" 644 "$(stat -c %a "$u/share/man/man5/$n" 2>/dev/null)"
done
for n in secdesk.conf.5 secdesk-rules.5 secdesk-templates.5; do
	check "the issue's page $n is installed" test -f "$u/share/man/man5/$n"
done
check "bash completion in share/bash-completion/completions" \
	test -f "$u/share/bash-completion/completions/secdesk"
check "the example config in share/secdesk" test -f "$u/share/secdesk/secdesk.conf.example"
check_eq "every rule file installed" "$(cd "$TOP/rules" && ls)" "$(cd "$u/share/secdesk/rules" && ls)"
check_eq "every template installed" "$(cd "$TOP/templates" && find . -type f | sort)" \
	"$(cd "$u/share/secdesk/templates" && find . -type f | sort)"
check "man -l-able: the installed pages lint as the sources do" \
	sh -c "! command -v mandoc >/dev/null || [ -z \"\$(mandoc -T lint -W warning '$u'/share/man/man*/* 2>&1)\" ]"

# The installed example config, pointed at the installed rules and
# templates, loads (every key known) and so do they.
sed -e "s|/etc/secdesk/rules|$u/share/secdesk/rules|" \
	-e "s|/etc/secdesk/templates|$u/share/secdesk/templates|" \
	-e "s|/var/lib/secdesk/secdesk.db|$T_DIR/store.db|" \
	"$u/share/secdesk/secdesk.conf.example" >"$T_DIR/example.conf"
check_rc "the example config and the installed rules load (rules check)" 0 \
	"$u/bin/secdesk" -c "$T_DIR/example.conf" rules check
check_rc "the installed templates pass templates check" 0 \
	"$u/bin/secdesk" -c "$T_DIR/example.conf" templates check

done_testing

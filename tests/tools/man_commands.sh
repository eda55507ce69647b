#!/bin/sh
# man_commands.sh SECDESK PAGE [--write]: the COMMANDS section of secdesk(1)
# (PAGE, from the line after ".Sh COMMANDS" to the next ".Sh") against what
# `SECDESK help --mdoc` makes of the help table (src/cli/help_text.c).
# Without --write: prints a diff and exits 1 when they differ. With --write:
# puts the generated section into PAGE (make man).
set -eu
secdesk=$1 page=$2 mode=${3:-}
gen=$(mktemp) cur=$(mktemp) new=$(mktemp)
trap 'rm -f "$gen" "$cur" "$new"' EXIT
"$secdesk" help --mdoc >"$gen"
awk '/^\.Sh / { on = ($2 == "COMMANDS") ; next } on' "$page" >"$cur"
if [ "$mode" = --write ]; then
	awk -v gen="$gen" '
		/^\.Sh / && on { on = 0 }
		!on { print }
		/^\.Sh COMMANDS$/ { on = 1; while ((getline l < gen) > 0) print l }
	' "$page" >"$new"
	cat "$new" >"$page"
	exit 0
fi
diff -u "$cur" "$gen"

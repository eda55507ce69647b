#!/bin/sh
# Classification alone (rules_apply): msgs/s with the shipped rules, and with
# 100, 1,000 and 5,000 generated rules added to them. Each generated rule
# looks for its own word (subject or body) and tags; a literal prefilter
# keeps the cost from growing with the number of rules.
#     BUILD=build bench/rules.sh
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
b=${BUILD:-$top/build}/bench/bench_rules
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mail=$top/tests/mail/routing
echo "== rules: classification alone over $(ls "$mail"/*.eml | wc -l) inquiries"
"$b" "$top/rules" "$mail" 1
for n in 100 1000 5000; do
	mkdir -p "$tmp/$n"; cp "$top"/rules/*.rules "$tmp/$n/"
	awk -v n="$n" 'BEGIN {
		srand(42); split("b c d f g h k l m n p r s t v z", c, " ")
		for (i = 1; i <= n; i++) {
			w = ""; for (k = 0; k < 7; k++) w = w c[int(rand() * 16) + 1] (k % 2 ? "a" : "o")
			printf "rule \"generated %d\"\nwhen any\n\tsubject matches /\\b%s\\b/i\n\tbody contains \"%s\"\nthen\n\ttag gen%d\nend\n\n", i, w, w "x", i
		}
	}' >"$tmp/$n/45-generated.rules"
	"$b" "$tmp/$n" "$mail" 1
done

#!/bin/sh
# The shipped ICPerMed rules over both labelled sets: tests/mail/routing
# (the 212 inquiries the first rules were tuned on) and
# tests/mail/routing-hard (inquiries written to conflict: a country named
# in passing, institutions without their country, webmail, explicit
# questions about another member's funder, regions against their
# countries, consortium-wide subjects, the European Commission,
# non-members, replies; every member language). Reports the accuracy of
# queue, category and language, the misses, and fails under the levels the
# rule set reached (rounded down), so that a change that costs accuracy
# shows.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"

# score SET MANIFEST-LANGUAGE-COLUMN QUEUE% CATEGORY% LANGUAGE%
score() {
	set_dir=$TOP/tests/mail/$1
	"$SECDESK" -c "$d/secdesk.conf" rules replay "$set_dir" >"$T_DIR/$1.replay" 2>"$T_DIR/$1.err"
	check_eq "$1: rules replay" 0 $?
	# file <TAB> queue <TAB> category <TAB> language ... against the
	# manifest; the language from its column, else from the file's name
	# (NNN-LL.eml; "x" is not labelled)
	awk -F'\t' -v lcol="$2" '
		FNR == NR { if ($0 !~ /^#/) { q[$1] = $2; c[$1] = $3
			if (lcol) l[$1] = $lcol
			else { x = $1; sub(/^[0-9]*-/, "", x); sub(/\.eml$/, "", x); if (x != "x") l[$1] = x }
			n++ } next }
		{ f = $1; sub(".*/", "", f); if (!(f in q)) next; seen++
		  if ($2 == q[f]) okq++; else printf "#   queue    %s: got %s, expected %s\n", f, $2, q[f]
		  if ($3 == c[f]) okc++; else printf "#   category %s: got %s, expected %s\n", f, $3, c[f]
		  if (f in l) { nl++; if ($4 == l[f]) okl++; else printf "#   language %s: got %s, expected %s\n", f, $4, l[f] } }
		END { printf "%d %d %d %d %d %d\n", n, seen, okq, okc, nl, okl > "/dev/stderr" }
	' "$set_dir/MANIFEST" "$T_DIR/$1.replay" 2>"$T_DIR/$1.score"
	read -r n seen okq okc nl okl <"$T_DIR/$1.score"
	check_eq "$1: every inquiry classified" "$n" "$seen"
	pq=$((okq * 1000 / n)); pc=$((okc * 1000 / n)); pl=$((okl * 1000 / nl))
	echo "# $1: queue $okq/$n = $((pq / 10)).$((pq % 10))%, category $okc/$n = $((pc / 10)).$((pc % 10))%, language $okl/$nl = $((pl / 10)).$((pl % 10))%"
	check "$1: queue accuracy >= $3% ($okq/$n)" [ $((okq * 100)) -ge $((n * $3)) ]
	check "$1: category accuracy >= $4% ($okc/$n)" [ $((okc * 100)) -ge $((n * $4)) ]
	check "$1: language accuracy >= $5% ($okl/$nl)" [ $((okl * 100)) -ge $((nl * $5)) ]
}

n_hard=$(grep -vc '^#' "$TOP/tests/mail/routing-hard/MANIFEST")
check "at least 300 inquiries in the harder set ($n_hard)" [ "$n_hard" -ge 300 ]
langs=$(awk -F'\t' '!/^#/ { print $4 }' "$TOP/tests/mail/routing-hard/MANIFEST" | sort -u | tr '\n' ' ')
for l in bg ca cs da de el en es et fi fr he hr hu it lt lv nl no pl pt ro sk sl sv tr; do
	case " $langs" in *" $l "*) ;; *) check "the harder set has mail in '$l'" false ;; esac
done

score routing "" 99 99 99
score routing-hard 4 99 99 99
# written after the rules, free text (see tests/tools/routing_hard/holdout.py)
score routing-holdout 4 97 90 97

# the weighing explained: an explicit question about another member's
# funder beats the writer's own institution, and rules test says why
f=$(awk -F'\t' '$5 == "explicit-funder" { print $1; exit }' "$TOP/tests/mail/routing-hard/MANIFEST")
"$SECDESK" -c "$d/secdesk.conf" rules test "$TOP/tests/mail/routing-hard/$f" >"$T_DIR/test.out"
check_eq "rules test exits 0" 0 $?
check "rules test lists the evidence" grep -q "^  evidence:" "$T_DIR/test.out"
check "rules test gives the totals" grep -q "^  totals:" "$T_DIR/test.out"
check "rules test says why the winner won" grep -Eq "^  queue: +[A-Z-]+ has [0-9]+ points and leads" "$T_DIR/test.out"
"$SECDESK" -c "$d/secdesk.conf" rules test --json "$TOP/tests/mail/routing-hard/$f" >"$T_DIR/test.json"
check "rules test --json has the weighing" grep -q '"queue_why"' "$T_DIR/test.json"
# rules replay --tickets: tickets made under rules that route nothing
# would move under the shipped ones; the moves are counted per queue pair
t=$T_DIR/tickets
make_config "$t"
mkdir -p "$t/none"
cp "$TOP/rules/00-queues.rules" "$t/none/"
sed -i "s|^dir = $TOP/rules\$|dir = $t/none|" "$t/secdesk.conf"
(cd "$t" && "$SECDESK" -c secdesk.conf db init) >/dev/null 2>&1
for f in $(awk -F'\t' '$2 == "DE" && $5 == "own" { print $1 }' "$TOP/tests/mail/routing-hard/MANIFEST"); do
	(cd "$t" && "$SECDESK" -c secdesk.conf ingest "$TOP/tests/mail/routing-hard/$f") >/dev/null 2>&1
done
sed -i "s|^dir = $t/none\$|dir = $TOP/rules|" "$t/secdesk.conf"
(cd "$t" && "$SECDESK" -c secdesk.conf rules replay --tickets) >"$T_DIR/moves" 2>&1
check_eq "rules replay --tickets exits 0" 0 $?
check "rules replay --tickets counts the moves per queue pair" grep -q "^  secretariat -> DE: 2$" "$T_DIR/moves"
check "rules replay --tickets says how many would change" grep -q "^2 tickets, 2 would change$" "$T_DIR/moves"
done_testing

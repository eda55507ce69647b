#!/bin/sh
# The shipped ICPerMed rules over the labelled inquiries of
# tests/mail/routing (MANIFEST: file, expected queue, expected category):
# reports the accuracy and fails under 95% for queue or category.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
corpus=$TOP/tests/mail/routing

"$SECDESK" -c "$d/secdesk.conf" rules check >"$T_DIR/out" 2>&1
check_eq "the shipped rules load" 0 $?

"$SECDESK" -c "$d/secdesk.conf" rules replay "$corpus" >"$T_DIR/replay" 2>"$T_DIR/err"
check_eq "rules replay over the corpus" 0 $?

# file <TAB> queue <TAB> category ... -> compared with the manifest
awk -F'\t' '
	FNR == NR { if ($0 !~ /^#/) { q[$1] = $2; c[$1] = $3; n++ } next }
	{ f = $1; sub(".*/", "", f); if (!(f in q)) next; seen++
	  if ($2 == q[f]) okq++; else printf "#   queue    %s: got %s, expected %s\n", f, $2, q[f]
	  if ($3 == c[f]) okc++; else printf "#   category %s: got %s, expected %s\n", f, $3, c[f] }
	END { printf "%d %d %d %d\n", n, seen, okq, okc > "/dev/stderr" }
' "$corpus/MANIFEST" "$T_DIR/replay" 2>"$T_DIR/score"
read -r n seen okq okc <"$T_DIR/score"
check "at least 150 labelled inquiries ($n)" [ "$n" -ge 150 ]
check_eq "every inquiry classified" "$n" "$seen"
pq=$((okq * 1000 / n)); pc=$((okc * 1000 / n))
echo "# routing accuracy: queue $okq/$n = $((pq / 10)).$((pq % 10))%, category $okc/$n = $((pc / 10)).$((pc % 10))%"
check "queue accuracy >= 95% ($okq/$n)" [ $((okq * 100)) -ge $((n * 95)) ]
check "category accuracy >= 95% ($okc/$n)" [ $((okc * 100)) -ge $((n * 95)) ]

# rules test --json on one tricky case: a German researcher writing in
# English from a .com address about Heidelberg.
f=$(awk -F'\t' '$2 == "DE" { print $1 }' "$corpus/MANIFEST" | tail -n 1)
"$SECDESK" -c "$d/secdesk.conf" rules test --json "$corpus/$f" >"$T_DIR/json"
check_eq "rules test --json exits 0" 0 $?
check "rules test --json gives the queue" grep -q '"queue": "DE"' "$T_DIR/json"
check "rules test --json says whether an acknowledgement goes out" grep -q '"acknowledgement"' "$T_DIR/json"
done_testing

#!/bin/sh
# The rule engine's cost (run by make bench):
#  1. classification alone (bench_rules: parsed messages in memory, only
#     rules_apply timed, in CPU time; the wall clock beside it): messages/s
#     with the shipped rules over generated inquiries (gen_mail, as the end
#     to end bench writes them) and over the labelled corpus, after checking
#     that the prefilter changes no outcome (-c);
#  2. the same with 100, 1,000 and 5,000 generated rules added (each looks
#     for its own word in the subject or the body): how the cost grows;
#  3. its share of the end-to-end time: secdesk fetch of the same generated
#     mails into a fresh store with the shipped rules, against the time that
#     classification alone takes at the rate of 1; and the fetch with no
#     rule, whose difference is the rules' whole effect (classification and
#     the partner notices that routing queues in the store); and, since
#     classification runs in the parser thread, how long the storing thread
#     waited for that thread (secdesk -v's "parser wait").
#  0. first, when valgrind is installed: instructions per classification
#     (callgrind), over the labelled inquiries and the generated mails:
#     bench_rules -i 3 and -i 1 over the same mails, the difference divided
#     by twice the mails (loading and parsing cancel out). Issue 20's
#     target compares it with commit cb83334 (before the weighted rules),
#     measured the same way with that commit's bench_rules and rules:
#       git worktree add /tmp/rbase cb83334
#       make -C /tmp/rbase -j2 build/bench/bench_rules
#       RULES_BASE=/tmp/rbase BUILD=build bench/rules.sh
#     prints "labelled: N instr/mail, X.XXx cb83334"; without valgrind
#     (or with RULES_INSTR=0) the step says so and is skipped.
#     BUILD=build bench/rules.sh
# RULES_BASE: a built checkout to compare with in 0 (see above);
# RULES_BENCH_MAILS: generated mails for 1 and 2 (default 1000);
# RULES_E2E_N: mails for 3 (default BENCH_N, else 10000; 0 skips it);
# BENCH_SIZE: their size (default 10240 bytes).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
. "$top/bench/lib.sh"
b=$BUILD/bench/bench_rules
SIZE=${BENCH_SIZE:-10240}
M=${RULES_BENCH_MAILS:-1000}
N=${RULES_E2E_N:-${BENCH_N:-10000}}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-rules-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
routing=$top/tests/mail/routing
nrouting=$(ls "$routing"/*.eml | wc -l)

# The rate (msgs/s of CPU time) of a bench_rules line.
rate() { sed -n 's/^[0-9]* rules: \([0-9]*\) msgs\/s.*/\1/p' "$1" | tail -n 1; }

"$BUILD/bench/gen_mail" "$tmp/gen" "$M" "$SIZE"

# Instructions per mail of bench_rules $1 with the rules of $2 over the mail
# of $3 (see 0 above); empty when valgrind fails.
instr() {
	for i in 1 3; do
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$i" "$1" -i "$i" "$2" "$3" \
			>"$tmp/cg.out" 2>/dev/null || return 0
	done
	awk -v a="$(sed -n 's/^summary: //p' "$tmp/cg.1")" \
	    -v c="$(sed -n 's/^summary: //p' "$tmp/cg.3")" \
	    -v n="$(sed -n 's/.* passes over \([0-9]*\) messages.*/\1/p' "$tmp/cg.out")" \
	    'BEGIN { if (n > 0 && c > a) printf "%d\n", (c - a) / (2 * n) }'
}
echo "== rules: instructions per classification (callgrind)"
if [ "${RULES_INSTR:-1}" = 0 ] || ! command -v valgrind >/dev/null 2>&1; then
	echo "skipped: no valgrind (or RULES_INSTR=0)"
else
	for set in labelled generated; do
		mails=$routing
		[ "$set" = generated ] && mails=$tmp/gen
		n=$(instr "$b" "$top/rules" "$mails")
		base=
		[ -n "${RULES_BASE:-}" ] &&
			base=$(instr "$RULES_BASE/build/bench/bench_rules" "$RULES_BASE/rules" "$mails")
		if [ -n "$n" ] && [ -n "$base" ]; then
			awk -v s="$set" -v n="$n" -v b="$base" \
			    'BEGIN { printf "%s: %d instr/mail, %.2fx cb83334 (%d)\n", s, n, n / b, b }'
		else
			echo "$set: ${n:-?} instr/mail"
		fi
	done
fi

echo "== rules: classification alone, shipped rules"
echo "-- $M generated mails of ~$SIZE bytes"
"$b" -c "$top/rules" "$tmp/gen" 2 | tee "$tmp/gen.out"
echo "-- the $nrouting labelled inquiries (tests/mail/routing)"
"$b" -c "$top/rules" "$routing" 1 | tee "$tmp/routing.out"
gen_rate=$(rate "$tmp/gen.out")

echo "== rules: with generated rules added (generated mails, then the labelled inquiries)"
for n in 100 1000 5000; do
	mkdir -p "$tmp/$n"
	cp "$top"/rules/*.rules "$top"/rules/*.gazetteer "$tmp/$n/"
	awk -v n="$n" 'BEGIN {
		srand(42); split("b c d f g h k l m n p r s t v z", c, " ")
		for (i = 1; i <= n; i++) {
			w = ""; for (k = 0; k < 7; k++) w = w c[int(rand() * 16) + 1] (k % 2 ? "a" : "o")
			printf "rule \"generated %d\"\nwhen any\n\tsubject matches /\\b%s\\b/i\n\tbody contains \"%s\"\nthen\n\ttag gen%d\nend\n\n", i, w, w "x", i
		}
	}' >"$tmp/$n/45-generated.rules"
	"$b" "$tmp/$n" "$tmp/gen" 1
	"$b" "$tmp/$n" "$routing" 1
done

[ "$N" -gt 0 ] || exit 0
echo "== rules: share of the end-to-end time ($N generated mails, secdesk fetch)"
"$BUILD/bench/gen_mail" "$tmp/e2e" "$N" "$SIZE"
mkdir -p "$tmp/norules"
cp "$top/rules/00-queues.rules" "$tmp/norules/"
now() { date +%s.%N; }
for set in shipped none; do
	d=$tmp/desk-$set
	rules=$top/rules
	[ "$set" = none ] && rules=$tmp/norules
	bench_conf "$d" "$rules"
	cp -R "$tmp/e2e" "$d/inbox"
	t0=$(now)
	"$SECDESK" -v -c "$d/secdesk.conf" fetch >/dev/null 2>"$tmp/v-$set"
	t1=$(now)
	echo "$t0 $t1 $(sed -n 's/.*parser wait \([0-9.]*\) s.*/\1/p' "$tmp/v-$set")" >"$tmp/t-$set"
	rm -rf "$d"
done
read -r s0 s1 sw <"$tmp/t-shipped"
read -r n0 n1 nw <"$tmp/t-none"
awk -v n="$N" -v s0="$s0" -v s1="$s1" -v n0="$n0" -v n1="$n1" -v r="$gen_rate" \
    -v sw="${sw:-0}" 'BEGIN {
	ts = s1 - s0; tn = n1 - n0
	printf "fetch with the shipped rules: %.1f s (%.0f mails/s); with no rule: %.1f s (%.0f mails/s)\n", ts, n / ts, tn, n / tn
	if (r > 0)
		printf "classification alone: %.1f%% of the end-to-end time (%.2f s for %d mails at %d msgs/s)\n", 100 * n / r / ts, n / r, n, r
	# Classification runs in the parser thread, beside the storing one: what
	# it adds to the run is the time the storing thread waited for it.
	printf "on the critical path: the storing thread waited %.2f s for the parser thread (parse and classification), %.1f%% of the end-to-end time\n", sw, 100 * sw / ts
	printf "the rules whole effect (classification, partner notices): %.1f%% (with rules vs none)\n", 100 * (ts - tn) / ts
}'

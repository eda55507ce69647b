#!/bin/sh
# No leaks and no memory errors under valgrind: the demo inbox through run,
# then a sample of the shared corpus through ingest.
. "$TOP/tests/lib.sh"
if ! command -v valgrind >/dev/null 2>&1; then
	skip "valgrind is not installed"; done_testing; exit
fi
if ldd "$SECDESK" | grep -q libasan; then
	skip "an ASan build cannot run under valgrind (make valgrind checks the plain build)"
	done_testing; exit
fi
d=$T_DIR/desk
make_config "$d"
cp "$TOP"/contrib/demo/inbox/new/* "$d/inbox/new/"
# PCRE2's JIT code reads its subject a word at a time, past the end:
# valgrind runs the rules on the interpreter.
export SECDESK_PCRE2_NO_JIT=1
vg() {
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions="$TOP/tests/valgrind.supp" \
		--error-exitcode=99 --log-file="$T_DIR/vg.log" "$SECDESK" -c "$d/secdesk.conf" "$@"
}
vg run >/dev/null 2>"$T_DIR/err"; rc=$?
if [ "$rc" -eq 0 ]; then ok "run over the demo inbox: no leak, no error"; else
	not_ok "run over the demo inbox under valgrind (exit $rc)"; sed 's/^/#   /' "$T_DIR/vg.log" | head -40; fi
vg list --json >/dev/null; rc=$?
check_eq "list --json under valgrind" 0 "$rc"
vg show 1 --json >/dev/null; rc=$?
check_eq "show --json under valgrind" 0 "$rc"

corpus=$TOP/../shared/corpus
if [ ! -d "$corpus" ]; then
	skip "the shared corpus is not there ($corpus)"
else
	n=0 bad=0
	for f in $(find "$corpus" -type f ! -name '*.md' ! -name '*.tsv' ! -path '*/LICENSES/*' | sort | awk 'NR % 12 == 1' | head -60); do
		n=$((n + 1))
		vg ingest "$f" >/dev/null 2>&1; rc=$?
		if [ "$rc" -eq 99 ]; then
			bad=$((bad + 1)); echo "# valgrind: $f"; sed 's/^/#   /' "$T_DIR/vg.log" | head -30
		fi
	done
	check_eq "a sample of $n corpus messages through ingest: no leak, no error" 0 "$bad"
fi
done_testing

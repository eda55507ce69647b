#!/bin/sh
# The fetch without its helper thread ([store] index_thread = no, the
# one-thread reference path): first that a default config runs the thread,
# that "no" keeps to one thread and the index is still complete, then the
# intake's own tests (crash and kill -9, exactly-once over the listing
# window, concurrent runs, the search index, fetch then send) again in that
# mode. Their default runs, under their own names, take the thread.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
SECDESK_TEST_INDEX_THREAD=no make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
pending() {
	sd db check --json | python3 -c "import json,sys; print(json.load(sys.stdin)['search_index']['pending'])"
}

dflt=$T_DIR/default
make_config "$dflt"
make_mail "$dflt/inbox/new/1:2," "d1@example.org" "p1@example.org" "Default question"
"$SECDESK" -c "$dflt/secdesk.conf" -v fetch >/dev/null 2>"$T_DIR/default.err"
check_eq "a fetch with the default config stores its mail" 0 $?
check "the default config runs the index thread (secdesk -v says so)" \
	grep -q "on a helper thread" "$T_DIR/default.err"

i=1
while [ $i -le 30 ]; do
	make_mail "$d/inbox/new/$i:2," "t$i@example.org" "p$i@example.org" "Thread word$i question"
	i=$((i + 1))
done
sd -v fetch >/dev/null 2>"$T_DIR/fetch.err"
check_eq "a fetch on one thread stores everything" 0 $?
check "index_thread = no starts no helper thread" sh -c "! grep -q 'on a helper thread' '$T_DIR/fetch.err'"
check "secdesk -v gives the stage times" grep -q "stage times: source .* index wait" "$T_DIR/fetch.err"
check "and no longer the waits of threads that are gone" sh -c "! grep -q 'sync wait\|composer wait' '$T_DIR/fetch.err'"
check_eq "thirty tickets" 30 "$(sd list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "the index left nothing pending" 0 "$(pending)"
check_eq "the last mail is found by its word" 1 \
	"$(sd search --json word30 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "the store checks clean" 0 "$(sd db check >/dev/null 2>&1; echo $?)"
check_eq "the mailbox's new/ is empty" 0 "$(ls "$d/inbox/new" | wc -l)"

for t in crash fetch_window concurrency search_index fetch_outbound; do
	SECDESK_TEST_INDEX_THREAD=no sh "$TOP/tests/e2e/$t.sh" >"$T_DIR/$t.out" 2>&1
	rc=$?
	sed -n "s/^\(ok\|not ok\) [0-9]* - /\1 - $t (one thread): /p" "$T_DIR/$t.out" \
		>"$T_DIR/$t.tap"
	while IFS= read -r line; do
		case "$line" in
		"not ok"*) not_ok "${line#not ok - }" ;;
		*"# SKIP"*) skip "$(printf '%s' "${line#ok - }" | sed 's/# SKIP //')" ;;
		*) ok "${line#ok - }" ;;
		esac
	done <"$T_DIR/$t.tap"
	check_eq "$t.sh in one-thread mode exits 0" 0 "$rc"
done

#!/bin/sh
# --json of the checking commands through the real binary: db check (a good
# store, then one with a dangling foreign key), rules check (good rules, a
# broken rules file, a missing rules folder) and verify (a maildir with
# mail not yet fetched, then fetched, then a stored message whose mark is
# undone). Every field read with python3's json module; exit codes; the
# human output unchanged beside it.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
# jf FILE EXPR: prints EXPR evaluated on the JSON document in FILE (as d).
jf() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
export SECDESK_USER=alice

sd db init >/dev/null
# The outbox folder as the desk makes it (make_config's mkdir follows the
# umask): db check warns about a looser one.
chmod 700 "$d/outbox"

# ---------- db check ----------
# The store's name: SQLite's file, or PostgreSQL's URL (its index is a column).
if store_is_pg; then
	store_name=$(sed -n 's/^url = \(postgresql:.*\)/\1/p' "$d/secdesk.conf")
	index_name="$store_name (messages.search_words)"
else
	store_name=$d/secdesk.db index_name=$d/secdesk.db-search
fi
sd db check --json >"$T_DIR/db.json" 2>"$T_DIR/db.err"
check_eq "db check --json on a good store exits 0" 0 $?
check_eq "db check --json writes nothing on stderr" "" "$(cat "$T_DIR/db.err")"
check_eq "db check --json: ok is true" True "$(jf "$T_DIR/db.json" "d['ok']")"
check_eq "db check --json: store is the store's path" "$store_name" \
	"$(jf "$T_DIR/db.json" "d['store']")"
check_eq "db check --json: schema_version is an integer equal to the expected one" True \
	"$(jf "$T_DIR/db.json" "type(d['schema_version']) is int and d['schema_version'] >= 1 and d['schema_version'] == d['expected_schema_version']")"
check_eq "db check --json: integrity_ok is true" True "$(jf "$T_DIR/db.json" "d['integrity_ok']")"
check_eq "db check --json: integrity is an empty list" "[]" "$(jf "$T_DIR/db.json" "d['integrity']")"
check_eq "db check --json: foreign_keys is an empty list" "[]" \
	"$(jf "$T_DIR/db.json" "d['foreign_keys']")"
check_eq "db check --json: error is null" None "$(jf "$T_DIR/db.json" "d['error']")"
check_eq "db check --json: exactly these fields" \
	"access error expected_schema_version file_modes foreign_keys integrity integrity_ok ok schema_version search_index store" \
	"$(jf "$T_DIR/db.json" "' '.join(sorted(d))")"
check_eq "db check --json: search_index has path, ok, indexed_upto, pending, error" \
	"$index_name True True 0 None" \
	"$(jf "$T_DIR/db.json" "' '.join(str(x) for x in (d['search_index']['path'], d['search_index']['ok'], type(d['search_index']['indexed_upto']) is int, d['search_index']['pending'], d['search_index']['error']))")"
ver=$(jf "$T_DIR/db.json" "d['schema_version']")
check_eq "db check (human): the store's line is unchanged" "store $store_name: ok, schema version $ver" \
	"$(sd db check | head -n 1)"
sed 's|^path = secdesk.db|path = none.db|; s|^\(url = postgresql://.*/\).*|\1none_db|' \
	"$d/secdesk.conf" >"$d/nodb.conf"
"$SECDESK" -c "$d/nodb.conf" db check >/dev/null 2>&1
want=$?
"$SECDESK" -c "$d/nodb.conf" db check --json >"$T_DIR/nodb.out" 2>/dev/null
nodb_rc=$?
# A missing SQLite file cannot be created (73); a PostgreSQL database that
# is not there is the config's error (78).
if store_is_pg; then missing_rc=78; else missing_rc=73; fi
check_eq "db check --json on a missing store exits as db check does ($missing_rc)" \
	"$missing_rc $want" "$nodb_rc $want"
check_eq "db check --json on a missing store: nothing on stdout" "" "$(cat "$T_DIR/nodb.out")"
check_rc "db check --json with another argument is a usage error" 64 sd db check --json x
check_rc "db check --jsn is a usage error" 64 sd db check --jsn
check_rc "db init --json is a usage error" 64 sd db init --json

# A dangling foreign key (the sqlite3 shell does not enforce them; a
# PostgreSQL server does, and db check there looks for constraints left
# not validated instead).
if store_is_pg; then
	for i in 1 2 3 4 5 6 7 8; do skip "sqlite only: a dangling foreign key"; done
elif command -v sqlite3 >/dev/null 2>&1; then
	cp "$d/secdesk.db" "$T_DIR/good.db"
	store_sql "$d" \
		"INSERT INTO events (ticket_id, at, who, what) VALUES (4242, 0, 'x', 'note')"
	sd db check --json >"$T_DIR/fk.json" 2>"$T_DIR/fk.err"
	check_eq "db check --json on a store with a dangling foreign key exits 65" 65 $?
	check_eq "db check --json: ok is false" False "$(jf "$T_DIR/fk.json" "d['ok']")"
	check_eq "db check --json: the problem names table and parent" "events tickets" \
		"$(jf "$T_DIR/fk.json" "d['foreign_keys'][0]['table'] + ' ' + d['foreign_keys'][0]['parent']")"
	check_eq "db check --json: the problem's rowid is an integer" True \
		"$(jf "$T_DIR/fk.json" "type(d['foreign_keys'][0]['rowid']) is int and type(d['foreign_keys'][0]['fkid']) is int")"
	check_eq "db check --json: integrity itself is fine" True \
		"$(jf "$T_DIR/fk.json" "d['integrity_ok'] and d['integrity'] == []")"
	check "db check --json: error says what is wrong" \
		grep -q events "$T_DIR/fk.json"
	check "db check --json: the error is on stderr too" grep -q "^secdesk: " "$T_DIR/fk.err"
	check_rc "db check (human) on that store exits 65 as well" 65 sd db check
	mv "$T_DIR/good.db" "$d/secdesk.db"
else
	for i in 1 2 3 4 5 6 7 8; do skip "no sqlite3 shell"; done
fi

# ---------- rules check ----------
sd rules check --json >"$T_DIR/rules.json" 2>"$T_DIR/rules.err"
check_eq "rules check --json on the shipped rules exits 0" 0 $?
check_eq "rules check --json on good rules is an empty array" "[]" \
	"$(jf "$T_DIR/rules.json" "d")"
check_eq "rules check --json writes nothing on stderr" "" "$(cat "$T_DIR/rules.err")"
check "rules check (human) still says ok" sh -c \
	"'$SECDESK' -c '$d/secdesk.conf' rules check | grep -q ': ok\$'"

mkdir "$d/bad"
cp "$TOP/rules/00-queues.rules" "$TOP/rules/90-default.rules" "$d/bad/"
printf '# broken on purpose\nrule "a"\n  if subject ~ /x/\nthen\n\tstop\nend\n' >"$d/bad/10-bad.rules"
printf 'rule "b"\nwhen subject matches /(unclosed/\nthen\n\tstop\nend\n' >"$d/bad/20-bad.rules"
sed "s|^dir = $TOP/rules|dir = bad|" "$d/secdesk.conf" >"$d/bad.conf"
"$SECDESK" -c "$d/bad.conf" rules check --json >"$T_DIR/bad.json" 2>"$T_DIR/bad.err"
check_eq "rules check --json on a broken rules file exits 78" 78 $?
check_eq "rules check --json: one error per broken file" 2 "$(jf "$T_DIR/bad.json" "len(d)")"
check_eq "rules check --json: each error has exactly file, line, col, message" True \
	"$(jf "$T_DIR/bad.json" "all(sorted(x) == ['col', 'file', 'line', 'message'] for x in d)")"
check_eq "rules check --json: the first error's file" "$d/bad/10-bad.rules" \
	"$(jf "$T_DIR/bad.json" "d[0]['file']")"
check_eq "rules check --json: the first error's line and col" "3 3" \
	"$(jf "$T_DIR/bad.json" "'%d %d' % (d[0]['line'], d[0]['col'])")"
check_eq "rules check --json: the first error's message" "expected 'when' or 'then', found if" \
	"$(jf "$T_DIR/bad.json" "d[0]['message']")"
check_eq "rules check --json: the second error is in 20-bad.rules, line 2, col 22" \
	"$d/bad/20-bad.rules 2 22" \
	"$(jf "$T_DIR/bad.json" "'%s %d %d' % (d[1]['file'], d[1]['line'], d[1]['col'])")"
check_eq "rules check --json: a colon inside the message stays in the message" \
	"bad pattern: missing closing parenthesis" \
	"$(jf "$T_DIR/bad.json" "d[1]['message'].split(' (')[0]")"
check_eq "rules check --json: line and col are integers" True \
	"$(jf "$T_DIR/bad.json" "all(type(x['line']) is int and type(x['col']) is int for x in d)")"
check_eq "rules check --json: nothing on stderr" "" "$(cat "$T_DIR/bad.err")"
check_rc "rules check (human) on the broken file exits 78" 78 \
	"$SECDESK" -c "$d/bad.conf" rules check
check "rules check (human) names file:line:col" \
	grep -q "^secdesk: $d/bad/10-bad.rules:3:3: expected 'when' or 'then', found if\$" "$T_DIR/.err"

sed "s|^dir = $TOP/rules|dir = nowhere|" "$d/secdesk.conf" >"$d/none.conf"
"$SECDESK" -c "$d/none.conf" rules check --json >"$T_DIR/none.json" 2>/dev/null
check_eq "rules check --json on a missing rules folder exits 78" 78 $?
check_eq "rules check --json: that error has no position" "None None None" \
	"$(jf "$T_DIR/none.json" "'%s %s %s' % (d[0]['file'], d[0]['line'], d[0]['col'])")"
check "rules check --json: that error's message names the folder" \
	grep -q "nowhere: cannot open the rules folder" "$T_DIR/none.json"
check_rc "rules test --json needs a file still (usage)" 64 sd rules test --json
check_rc "rules replay --json is still a usage error" 64 sd rules replay --json "$d/inbox"

# ---------- verify ----------
make_mail "$d/inbox/new/1.eml" v1@example.org
make_mail "$d/inbox/new/2.eml" v2@example.org person2@example.org "Second question"
sd verify --json >"$T_DIR/v1.json" 2>"$T_DIR/v1.err"
check_eq "verify --json with two unfetched messages exits 65" 65 $?
check_eq "verify --json: source is the maildir" "maildir:$d/inbox" \
	"$(jf "$T_DIR/v1.json" "d['source']")"
check_eq "verify --json: ok is false" False "$(jf "$T_DIR/v1.json" "d['ok']")"
check_eq "verify --json: not_in_store is 2" 2 "$(jf "$T_DIR/v1.json" "d['not_in_store']")"
check_eq "verify --json: not_marked_done is 0" 0 "$(jf "$T_DIR/v1.json" "d['not_marked_done']")"
check_eq "verify --json: marks_checked is true (after = seen)" True \
	"$(jf "$T_DIR/v1.json" "d['marks_checked']")"
check_eq "verify --json: missing lists both keys, not seen" "1.eml False,2.eml False" \
	"$(jf "$T_DIR/v1.json" "','.join(sorted('%s %s' % (x['key'], x['seen']) for x in d['missing']))")"
check_eq "verify --json: undone is empty" "[]" "$(jf "$T_DIR/v1.json" "d['undone']")"
check_eq "verify --json: exactly these fields" \
	"marks_checked missing not_in_store not_marked_done ok source undone" \
	"$(jf "$T_DIR/v1.json" "' '.join(sorted(d))")"
check_eq "verify (human) still ends with the counts" \
	"on the server, not in the store: 2; stored, not marked done: 0" "$(sd verify | tail -n 1)"

sd fetch >/dev/null 2>&1
sd verify --json >"$T_DIR/v2.json"
check_eq "verify --json after fetch exits 0" 0 $?
check_eq "verify --json after fetch: ok, nothing missing or undone" "True 0 0 [] []" \
	"$(jf "$T_DIR/v2.json" "'%s %d %d %s %s' % (d['ok'], d['not_in_store'], d['not_marked_done'], d['missing'], d['undone'])")"

if command -v sqlite3 >/dev/null 2>&1; then
	store_sql "$d" "UPDATE intake SET done = 0 WHERE key = '1.eml'"
	sd verify --json >"$T_DIR/v3.json"
	check_eq "verify --json with a mark undone exits 65" 65 $?
	check_eq "verify --json: not_marked_done is 1, not_in_store 0" "1 0" \
		"$(jf "$T_DIR/v3.json" "'%d %d' % (d['not_marked_done'], d['not_in_store'])")"
	check_eq "verify --json: undone names the key and its intake state" "1.eml stored" \
		"$(jf "$T_DIR/v3.json" "d['undone'][0]['key'] + ' ' + d['undone'][0]['state']")"
else
	for i in 1 2 3; do skip "no sqlite3 shell"; done
fi
check_rc "verify --jsn is a usage error" 64 sd verify --jsn
check_rc "verify with an argument is a usage error" 64 sd verify extra

done_testing

#!/bin/sh
# Bad configuration: every error names file:line (or the missing key) and
# exits 78 before any mail is touched.
. "$TOP/tests/lib.sh"
sqlite_only "the config's [store] path and sqlite: url forms, edited from path = secdesk.db"
d=$T_DIR/desk
make_config "$d"
make_mail "$d/inbox/new/1.M1.host" cfg1@example.org
cp "$d/secdesk.conf" "$T_DIR/good.conf"

# bad_config DESCRIPTION EXPECTED-MESSAGE-PART SED-EXPRESSION
bad_config() {
	sed "$3" "$T_DIR/good.conf" >"$d/secdesk.conf"
	"$SECDESK" -c "$d/secdesk.conf" run >"$T_DIR/out" 2>"$T_DIR/err"; rc=$?
	if [ "$rc" -eq 78 ] && grep -qF -- "$2" "$T_DIR/err"; then ok "$1"; else
		not_ok "$1 (exit $rc)"; sed 's/^/#   /' "$T_DIR/err"; fi
	check_eq "$1: nothing touched" 1 "$(ls "$d/inbox/new" | wc -l)"
}

bad_config "unknown key" "secdesk.conf:9: unknown key 'colour' in [mailbox]" '8a colour = blue'
bad_config "unknown section" "unknown section [mailbx]" 's/^\[mailbox\]/[mailbx]/'
bad_config "missing required key" "missing required key 'address' in [desk]" '/^address/d'
bad_config "bad after value" "secdesk.conf:8: [mailbox] after: 'sometimes' is not seen" 's/^after = seen/after = sometimes/'
bad_config "bad number" "[mailbox] batch: 'many' is not a number" '9a batch = many'
bad_config "bad tls value" "[mailbox] tls: 'maybe' is not 'none' or 'required'" '9a tls = maybe'
bad_config "key given twice" "[store] path: given twice" '/^path/p'
bad_config "syntax error" "secdesk.conf:2: syntax error" '2s/.*/this is not ini/'
bad_config "not a mail address" "secdesk.conf:3: [desk] address: 'nobody' is not a mail address" 's/^address .*/address = nobody/'
bad_config "store path and url both" "secdesk.conf:12: [store] url: path and url both given" '/^path/a url = sqlite:other.db'
bad_config "store neither path nor url" "missing required key 'path' (or 'url') in [store]" '/^path/d'
bad_config "store url of an unknown kind" "[store] url: 'gopher://db': this secdesk knows sqlite:PATH and postgresql://USER@HOST[:PORT]/DB" 's|^path = secdesk.db|url = gopher://db|'
bad_config "store url naming no file" "[store] url: 'sqlite:' names no path" 's|^path = secdesk.db|url = sqlite:|'
bad_config "unknown mail source" "no mail source for 'gopher://x'" 's|^url   = maildir:inbox|url = gopher://x|'

check_rc "a missing config file exits 78" 78 "$SECDESK" -c "$T_DIR/nope.conf" list
check "and says which file" grep -q "nope.conf" "$T_DIR/.err"
( cd "$T_DIR" && SECDESK_CONFIG= "$SECDESK" list >/dev/null 2>"$T_DIR/err" ); rc=$?
check_eq "no config anywhere exits 78" 78 "$rc"
check "and says where it looked" grep -q "SECDESK_CONFIG" "$T_DIR/err"
cp "$T_DIR/good.conf" "$d/secdesk.conf"
check_rc "\$SECDESK_CONFIG is used" 0 env SECDESK_CONFIG="$d/secdesk.conf" "$SECDESK" db init

# [store] url = sqlite:PATH is the same store as path = PATH, relative to
# the config's folder.
sed 's|^path = secdesk.db|url = sqlite:viaurl.db|' "$T_DIR/good.conf" >"$d/secdesk.conf"
check_rc "url = sqlite:PATH: db init" 0 "$SECDESK" -c "$d/secdesk.conf" db init
check "the file is made beside the config" test -s "$d/viaurl.db"
check_rc "and run takes the mail into it" 0 "$SECDESK" -q -c "$d/secdesk.conf" run
check_eq "one ticket in the store named by the url" 1 \
	"$(sqlite3 "$d/viaurl.db" 'SELECT count(*) FROM tickets')"
cp "$T_DIR/good.conf" "$d/secdesk.conf"
make_mail "$d/inbox/new/1.M1.host" cfg1@example.org

# A store that cannot be created: a clear error, nothing moved.
cp "$T_DIR/good.conf" "$d/secdesk.conf"
sed -i 's|^path = secdesk.db|path = /dev/null/secdesk.db|' "$d/secdesk.conf"
"$SECDESK" -c "$d/secdesk.conf" run >/dev/null 2>"$T_DIR/err"; rc=$?
check "an unwritable store fails" test "$rc" -ne 0
check "with a clear error naming it" grep -q "/dev/null/secdesk.db" "$T_DIR/err"
check_eq "and nothing moved" 1 "$(ls "$d/inbox/new" | wc -l)"

# A missing inbox: exit 69, nothing stored.
cp "$T_DIR/good.conf" "$d/secdesk.conf"
sed -i 's|^url   = maildir:inbox|url = maildir:nowhere|' "$d/secdesk.conf"
check_rc "a missing maildir exits 69" 69 "$SECDESK" -c "$d/secdesk.conf" run
check "with its path in the error" grep -q "nowhere" "$T_DIR/.err"
done_testing

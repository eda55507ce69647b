#!/bin/sh
# Several staff on one host (issue 18, point 9): with [store] group the
# desk's files are the group's (0660, the folder 2770), and two Unix users
# of that group work on the desk at once, each reply signed with the acting
# user's [staff "USER"] name or signature (signature_file too), else the
# desk's. Needs root (useradd); the users and group are removed at the end.
. "$TOP/tests/lib.sh"
sqlite_only "the store's file and folder shared by a Unix group ([store] group)"
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	skip "two Unix users: needs root, useradd and runuser"
	done_testing
	exit 0
fi
g=sdg$$ ua=sda$$ ub=sdb$$
cleanup_users() {
	userdel "$ua" 2>/dev/null
	userdel "$ub" 2>/dev/null
	groupdel "$g" 2>/dev/null
}
at_exit cleanup_users
groupadd "$g" && useradd -M -N -s /bin/sh -G "$g" "$ua" && useradd -M -N -s /bin/sh -G "$g" "$ub" ||
	{ not_ok "create the group and two users"; done_testing; exit 1; }

# The desk in a folder of the group, setgid, as secdesk.conf(5) says.
chmod 711 "$T_DIR"
d=$T_DIR/desk
make_config "$d"
cp -R "$TOP/rules" "$TOP/templates" "$d/"
sed -i "s|^dir = $TOP/rules|dir = rules|; s|^dir = $TOP/templates|dir = templates|" "$d/secdesk.conf"
printf 'Dr. Bea B.\nGrants officer, ICPerMed Secretariat\n' >"$d/bea.sig"
cat >>"$d/secdesk.conf" <<CONF
group = $g

[staff "$ua"]
name = Anna Alpha

[staff "$ub"]
signature_file = bea.sig
CONF
# [store] group goes into [store]: move the line up there.
python3 - "$d/secdesk.conf" "$g" <<'PY'
import sys
p, g = sys.argv[1], sys.argv[2]
s = open(p).read().replace("group = %s\n" % g, "", 1)
s = s.replace("[store]\npath = secdesk.db\n", "[store]\npath = secdesk.db\ngroup = %s\n" % g, 1)
open(p, "w").write(s)
PY
chgrp -R "$g" "$d"
chmod -R g+rwX,o-rwx "$d"
find "$d" -type d -exec chmod 2770 {} +
as() { _u=$1; shift; runuser -u "$_u" -- "$SECDESK" -c "$d/secdesk.conf" "$@"; }

check_rc "the first user makes the store" 0 as "$ua" db init
check_eq "the store is the group's, 0660" "660 $g" "$(stat -c '%a %G' "$d/secdesk.db")"
for i in 1 2 3 4 5 6; do
	make_mail "$d/inbox/new/$i:2," "shared-$i@example.org" "p$i@example.org" "Question $i"
done
chgrp -R "$g" "$d/inbox"; chmod -R g+rw "$d/inbox"
check_rc "the second user fetches" 0 as "$ub" fetch
check_eq "six tickets" 6 "$(store_sql "$d" "SELECT count(*) FROM tickets")"

# Both at once: each answers three tickets and notes on the others, while
# the other does the same; every command must succeed (the busy timeout
# waits for the other's write), none may meet a read-only file.
work() {
	_u=$1 _first=$2 _rc=0
	for i in $_first $((_first + 1)) $((_first + 2)); do
		as "$_u" reply "$i" -m "Answer from $_u on $i" >/dev/null 2>>"$T_DIR/$_u.err" || _rc=1
		for j in 1 2 3 4 5 6; do
			as "$_u" note "$j" -m "note by $_u" >/dev/null 2>>"$T_DIR/$_u.err" || _rc=1
		done
		as "$_u" list >/dev/null 2>>"$T_DIR/$_u.err" || _rc=1
	done
	echo "$_rc" >"$T_DIR/$_u.rc"
}
work "$ua" 1 &
pa=$!
work "$ub" 4 &
pb=$!
wait "$pa" "$pb"
check_eq "the first user's commands all succeeded" 0 "$(cat "$T_DIR/$ua.rc")"
check_eq "the second user's commands all succeeded" 0 "$(cat "$T_DIR/$ub.rc")"
check "no read-only store met" sh -c "! grep -qi 'readonly\\|read-only\\|permission' '$T_DIR/$ua.err' '$T_DIR/$ub.err'"
sed 's/^/#   /' "$T_DIR/$ua.err" "$T_DIR/$ub.err" | head -20
check_eq "six replies and 36 notes, each once" "6 36" \
	"$(store_sql "$d" "SELECT (SELECT count(*) FROM messages WHERE kind = 'reply'),
		(SELECT count(*) FROM events WHERE what = 'note')" | tr '|' ' ')"
check_eq "the history names who did it" "18 18" \
	"$(store_sql "$d" "SELECT (SELECT count(*) FROM events WHERE what = 'note' AND who = '$ua'),
		(SELECT count(*) FROM events WHERE what = 'note' AND who = '$ub')" | tr '|' ' ')"
bad=$(find "$d" -maxdepth 1 -name 'secdesk.db*' ! -group "$g")
check_eq "the store's side files are the group's too" "" "$bad"
check_eq "and none is readable by others" "" "$(find "$d" -maxdepth 1 -name 'secdesk.db*' -perm /o=rwx)"

as "$ua" send >/dev/null 2>&1
reply_of() { grep -l "Answer from $1 on $2" "$d"/outbox/* | head -1; }
body() { tr -d '\r' <"$1"; }
check "a reply of the first user is signed with their name above the desk's" \
	sh -c "tr -d '\\r' <'$(reply_of "$ua" 2)' | grep -A3 '^Kind regards,\$' | grep -q 'Anna Alpha'"
check_eq "then the desk's name and address" "Kind regards,|Anna Alpha|ICPerMed Secretariat|secretariat@icpermed.example" \
	"$(body "$(reply_of "$ua" 2)" | grep -A3 '^Kind regards,$' | paste -sd'|')"
check_eq "a reply of the second user carries their signature file" \
	"Kind regards,|Dr. Bea B.|Grants officer, ICPerMed Secretariat" \
	"$(body "$(reply_of "$ub" 5)" | grep -A2 '^Kind regards,$' | paste -sd'|')"

# db check: the folder as the manual says gives no warning; without its
# set-group-ID bit it warns with the commands to run.
as "$ua" db check >/dev/null 2>"$T_DIR/chk1.err"
check_not_grep() { ! grep -q "$1" "$2"; }
check "db check: a folder of the group, setgid: no folder warning" check_not_grep "store's folder" "$T_DIR/chk1.err"
chmod g-s "$d"
as "$ua" db check >/dev/null 2>"$T_DIR/chk2.err"
check "without setgid db check says what to run" \
	grep -q "the store's folder '$d' is not shared with group $g: run chgrp $g '$d' && chmod 2770 '$d'" "$T_DIR/chk2.err"
chmod 2770 "$d"

# A user without a [staff] section: the desk's signature.
check_rc "SECDESK_USER=carol replies" 0 env SECDESK_USER=carol "$SECDESK" -c "$d/secdesk.conf" reply 6 -m "Answer from carol"
"$SECDESK" -c "$d/secdesk.conf" send >/dev/null 2>&1
check_eq "without [staff], the desk signs" "Kind regards,|ICPerMed Secretariat|secretariat@icpermed.example" \
	"$(body "$(grep -l 'Answer from carol' "$d"/outbox/*)" | grep -A2 '^Kind regards,$' | paste -sd'|')"

# Failure paths: a signature file that cannot be read refuses the reply
# (nothing queued); signature and signature_file together; a bad section.
chmod 000 "$d/bea.sig"
n0=$(store_sql "$d" "SELECT count(*) FROM outbox")
check_rc "an unreadable signature_file: the reply is refused (78)" 78 as "$ub" reply 4 -m "x"
check "it names the file" grep -q "signature_file: cannot read '$d/bea.sig'" "$T_DIR/.err"
check_eq "nothing was queued" "$n0" "$(store_sql "$d" "SELECT count(*) FROM outbox")"
chmod 640 "$d/bea.sig"
cat "$d/secdesk.conf" >"$T_DIR/c2.conf"
sed -i "s/^name = Anna Alpha/name = Anna Alpha\nsignature = A\nsignature_file = bea.sig/" "$T_DIR/c2.conf"
sed -i "s|^dir = rules|dir = $d/rules|; s|^dir = templates|dir = $d/templates|; s|^path = secdesk.db|path = $d/secdesk.db|" "$T_DIR/c2.conf"
check_rc "signature and signature_file together: exit 78" 78 "$SECDESK" -c "$T_DIR/c2.conf" list
check "it says to give one" grep -q "signature and signature_file: give one" "$T_DIR/.err"
sed -e '/^signature = A$/d' -e '/^signature_file = bea.sig$/d' "$T_DIR/c2.conf" >"$T_DIR/c3.conf"
check_rc "without the second one it loads" 0 "$SECDESK" -c "$T_DIR/c3.conf" list
printf '[staff "a b"]\nname = X\n' >>"$T_DIR/c3.conf"
check_rc "a bad [staff] section name: exit 78" 78 "$SECDESK" -c "$T_DIR/c3.conf" list
check "it shows the form" grep -q 'expected \[staff "USER"\]' "$T_DIR/.err"
printf '[staff "x"]\nphone = 1\n' >"$T_DIR/c4.conf"
sed -e '/^\[staff "a b"\]$/d' -e '/^name = X$/d' "$T_DIR/c3.conf" >>"$T_DIR/c4.conf"
check_rc "an unknown [staff] key: exit 78" 78 "$SECDESK" -c "$T_DIR/c4.conf" list
check "it names the keys" grep -q "unknown key 'phone'.*(name, signature, signature_file)" "$T_DIR/.err"
done_testing

# tests/lib.sh - sourced by the end-to-end tests: TAP output and a private
# temporary folder. Every test runs the real binary ($SECDESK).
set -u
: "${SECDESK:?SECDESK must name the secdesk binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
T_N=0
T_FAILED=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-test.XXXXXX")
t_cleanup_hooks=""
# KEEP=1 keeps the folder for a look after a failure (its servers stopped).
t_cleanup() {
	for h in $t_cleanup_hooks; do $h; done
	if [ -n "${KEEP:-}" ]; then echo "# kept $T_DIR"; else rm -rf "$T_DIR"; fi
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM

# Registers a function to run at exit (e.g. to stop a server by PID).
at_exit() { t_cleanup_hooks="$t_cleanup_hooks $1"; }

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N - # SKIP $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	_t_d=$1; shift
	if "$@"; then ok "$_t_d"; else not_ok "$_t_d"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# check_rc DESCRIPTION EXPECTED_RC COMMAND...
check_rc() {
	_t_d=$1 _t_want=$2; shift 2
	"$@" >"$T_DIR/.out" 2>"$T_DIR/.err"; _t_got=$?
	if [ "$_t_got" -eq "$_t_want" ]; then ok "$_t_d"; else
		not_ok "$_t_d (exit $_t_got, wanted $_t_want)"; sed 's/^/#   /' "$T_DIR/.err" | head -20
	fi
}

# A config for the embedded default under $1 (maildir in, dir out);
# SECDESK_TEST_INDEX_THREAD=yes or no writes [store] index_thread.
make_config() {
	mkdir -p "$1/inbox/new" "$1/inbox/cur" "$1/inbox/tmp" "$1/outbox"
	cat >"$1/secdesk.conf" <<CONF
[desk]
name    = ICPerMed Secretariat
address = secretariat@icpermed.example
tag     = ICPerMed

[mailbox]
url   = maildir:inbox
after = seen

[store]
path = secdesk.db
${SECDESK_TEST_INDEX_THREAD:+index_thread = $SECDESK_TEST_INDEX_THREAD}

[send]
url = dir:outbox

[rules]
dir = $TOP/rules

[templates]
dir = $TOP/templates
CONF
}

# Writes a simple inquiry to $1 (a file); $2 message-id, $3 from, $4 subject.
make_mail() {
	cat >"$1" <<MAIL
From: Test Person <${3:-person@example.org}>
To: secretariat@icpermed.example
Subject: ${4:-A question about the joint call}
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <${2:-m1@example.org}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear secretariat,
I would like to know more about the next joint transnational call.
Best regards
MAIL
}

# written_at T FILE: FILE's Date: becomes the time T (epoch seconds). For
# tests that play a mail's arrival at a fake time (SECDESK_NOW=T): a
# ticket's age counts from its mail's Date when that is plausible.
written_at() {
	sed -i "s/^Date: .*/Date: $(LC_ALL=C date -u -R -d "@$1")/" "$2"
}

# kill_at_progress DB SEED SPREAD CMD...: runs CMD (a secdesk run or
# fetch) in the background and kills it with SIGKILL once the store DB
# shows a pseudo-random amount of progress picked by SEED: 1 to SPREAD rows
# more in intake (odd SEED: staged) or in messages (even SEED: stored).
# Progress, not time, picks the moment, so a slow machine kills at the same
# points. Returns 0 when the run was killed mid-way, 1 when it had ended.
kill_at_progress() {
	_kdb=$1 _kseed=$2 _kspread=$3
	shift 3
	if [ $((_kseed % 2)) -eq 1 ]; then _ktable=intake; else _ktable=messages; fi
	_krows() { sqlite3 "$_kdb" "SELECT count(*) FROM $_ktable" 2>/dev/null || echo 0; }
	_ktarget=$(( $(_krows) + 1 + _kseed % _kspread ))
	"$@" >/dev/null 2>&1 &
	_kpid=$!
	while kill -0 "$_kpid" 2>/dev/null && [ "$(_krows)" -lt "$_ktarget" ]; do
		sleep 0.005
	done
	_kkilled=1
	kill -9 "$_kpid" 2>/dev/null || _kkilled=0
	wait "$_kpid" 2>/dev/null
	[ "$_kkilled" -eq 1 ]
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# on_tty CMD...: runs CMD on a pseudo-terminal (its stdin, stdout and
# stderr), as staff at a terminal run it: for the editor's paths. What it
# writes comes out on stdout; its exit status is CMD's.
on_tty() {
	python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' "$@"
}

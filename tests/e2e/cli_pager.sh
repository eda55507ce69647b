#!/bin/sh
# Pager and colour as git does them, on a pseudo-terminal (python3's pty):
# colour on a terminal only, never with NO_COLOR (non-empty), TERM=dumb or
# --color=never, always with --color=always; the read commands page through
# $SECDESK_PAGER, else $PAGER (LESS=FRX given when LESS is unset), never
# when piped or with --no-pager; secdesk waits for the pager; the exit
# status and errors survive the pager, and a pager that quits early is not
# an error. Text is wrapped to the terminal's width.
. "$TOP/tests/lib.sh"
if ! python3 -c 'import pty, termios, fcntl' 2>/dev/null; then
	skip "python3 with pty is needed"
	done_testing
	exit
fi
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
export SECDESK_USER=alice
unset LESS SECDESK_PAGER PAGER NO_COLOR COLUMNS
export TERM=xterm

# tty COLS CMD...: CMD on a new terminal COLS wide; its output on stdout,
# its exit status as ours. With TTY_MARK=FILE, says on fd 3 whether FILE
# existed the moment CMD ended (before the terminal is drained).
cat >"$T_DIR/tty.py" <<'PY'
import os, sys, struct, fcntl, termios, select
cols = int(sys.argv[1])
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, cols, 0, 0))
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    os.execvp(sys.argv[2], sys.argv[2:])
os.close(slave)
mark = os.environ.get('TTY_MARK')
keys = os.environ.get('TTY_KEYS', '').encode()
out, status, idle = b'', None, 0
while idle < 400:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            b = os.read(master, 65536)
        except OSError:
            b = b''
        if not b:
            break
        out += b
        idle = 0
    else:
        idle += 1
        # Typed once the screen is still (a pager waiting for a key).
        if keys and out and idle >= 10:
            os.write(master, keys)
            keys = b''
    if status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            status = os.waitstatus_to_exitcode(st)
            if mark:
                os.write(3, b'yes\n' if os.path.exists(mark) else b'no\n')
if status is None and idle >= 400:
    # Still waiting after 20 s of silence: a pager wants a key nobody
    # types. Stop the whole session so that the test ends.
    import signal
    os.killpg(pid, signal.SIGKILL)
if status is None:
    _, st = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(st)
    if mark:
        os.write(3, b'yes\n' if os.path.exists(mark) else b'no\n')
sys.stdout.buffer.write(out.replace(b'\r\n', b'\n'))
sys.exit(status & 255)
PY
tty() { python3 "$T_DIR/tty.py" "$@"; }
esc=$(printf '\033')
has_esc() { grep -q "$esc\\[" "$1"; }

# A pager that notes it ran (and the LESS it got), then shows its input.
cat >"$T_DIR/pager.sh" <<'SH'
#!/bin/sh
echo "LESS=${LESS-unset}" >"$PAGER_MARK"
cat
SH
chmod +x "$T_DIR/pager.sh"
# One that reads everything and only then notes that it is done.
# It lets go of the terminal, so that the terminal's end is secdesk's.
cat >"$T_DIR/slowpager.sh" <<'SH'
#!/bin/sh
exec >/dev/null 2>&1
cat >"$PAGER_MARK.in"
sleep 1
echo done >"$PAGER_MARK"
SH
chmod +x "$T_DIR/slowpager.sh"
export PAGER_MARK=$T_DIR/paged
mark_reset() { rm -f "$PAGER_MARK" "$PAGER_MARK.in"; }

sd db init >/dev/null
make_mail "$T_DIR/m1.eml" m1@example.org person@example.org "A question about the joint call"
sd ingest "$T_DIR/m1.eml" >/dev/null
# A ticket with a long text: more than a pipe holds.
{
	printf 'From: Long Writer <long@example.org>\nTo: secretariat@icpermed.example\n'
	printf 'Subject: A long letter\nMessage-ID: <long@example.org>\n\n'
	python3 -c "
for i in range(4000):
    print('Line %d of a long letter about eligibility, budgets and the partners of the consortium, long enough to wrap.' % i)"
} >"$T_DIR/long.eml"
sd ingest "$T_DIR/long.eml" >/dev/null

# Colour
PAGER=cat tty 160 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/c1" 2>&1
check "colour on a terminal" has_esc "$T_DIR/c1"
check "and the list is there" grep -q "A question about the joint call" "$T_DIR/c1"
sd list >"$T_DIR/c2"
check "no colour when piped" sh -c "! grep -q '$esc' '$T_DIR/c2'"
NO_COLOR=1 PAGER=cat tty 160 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/c3" 2>&1
check "no colour with NO_COLOR=1" sh -c "! grep -q '$esc\\[[0-9;]*m' '$T_DIR/c3'"
check "but the list" grep -q "A question about the joint call" "$T_DIR/c3"
NO_COLOR= PAGER=cat tty 100 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/c4" 2>&1
check "an empty NO_COLOR is unset (no-color.org)" has_esc "$T_DIR/c4"
PAGER=cat tty 100 "$SECDESK" --color=never -c "$d/secdesk.conf" show 1 >"$T_DIR/c5" 2>&1
check "--color=never on a terminal" sh -c "! grep -q '$esc\\[[0-9;]*m' '$T_DIR/c5'"
NO_COLOR=1 PAGER=cat tty 100 "$SECDESK" --color=always -c "$d/secdesk.conf" show 1 >"$T_DIR/c6" 2>&1
check "--color=always wins over NO_COLOR" has_esc "$T_DIR/c6"
TERM=dumb PAGER=cat tty 100 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/c7" 2>&1
check "no colour with TERM=dumb" sh -c "! grep -q '$esc\\[[0-9;]*m' '$T_DIR/c7'"
check "--color=always when piped" sh -c "'$SECDESK' --color=always -c '$d/secdesk.conf' list | grep -q '$esc\\['"
check "--color=auto when piped: none" sh -c "! '$SECDESK' --color=auto -c '$d/secdesk.conf' list | grep -q '$esc'"
check_rc "--color=bogus is a usage error" 64 sd --color=bogus list
check "with the usage line" grep -q "^usage: secdesk " "$T_DIR/.err"

# The pager
mark_reset
PAGER=$T_DIR/pager.sh tty 160 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/p1" 2>&1
check "PAGER runs on a terminal" test -f "$PAGER_MARK"
check_eq "with LESS=FRX when LESS is unset" "LESS=FRX" "$(cat "$PAGER_MARK" 2>/dev/null)"
check "the output went through it" grep -q "A question about the joint call" "$T_DIR/p1"
check "colour still on through the pager" has_esc "$T_DIR/p1"
mark_reset
LESS=-S PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" list >/dev/null 2>&1
check_eq "a LESS of the user's is kept" "LESS=-S" "$(cat "$PAGER_MARK" 2>/dev/null)"
mark_reset
SECDESK_PAGER=$T_DIR/pager.sh PAGER=false tty 100 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/p2" 2>&1
check "SECDESK_PAGER comes before PAGER" test -f "$PAGER_MARK"
mark_reset
SECDESK_PAGER=cat PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" list >/dev/null 2>&1
check "SECDESK_PAGER=cat: no pager" test ! -f "$PAGER_MARK"
mark_reset
SECDESK_PAGER= PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" list >/dev/null 2>&1
check "an empty SECDESK_PAGER: no pager" test ! -f "$PAGER_MARK"
mark_reset
PAGER=$T_DIR/pager.sh tty 160 "$SECDESK" --no-pager -c "$d/secdesk.conf" list >"$T_DIR/p3" 2>&1
check "--no-pager: no pager" test ! -f "$PAGER_MARK"
check "but the output" grep -q "A question about the joint call" "$T_DIR/p3"
PAGER=$T_DIR/no-such-pager tty 160 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/p4" 2>&1
check_eq "a pager that does not exist: no pager, exit 0" 0 $?
check "and the output on the terminal" grep -q "A question about the joint call" "$T_DIR/p4"
PAGER=no-such-pager-in-path tty 160 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/p5" 2>&1
check "the same for a name not in PATH" grep -q "A question about the joint call" "$T_DIR/p5"
mark_reset
PAGER=$T_DIR/pager.sh sd list >/dev/null
check "piped: no pager" test ! -f "$PAGER_MARK"
for cmd in "list" "show 1" "search joint" "stats" "outbox" "help" "help list" "list --help"; do
	if ! sd help "${cmd%% *}" >/dev/null 2>&1 || sd help "${cmd%% *}" | grep -q "not available"; then
		skip "$cmd is not in this build"
		continue
	fi
	mark_reset
	# shellcheck disable=SC2086
	PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" $cmd >/dev/null 2>&1
	check "'$cmd' pages on a terminal" test -f "$PAGER_MARK"
done
for cmd in "status 1 open" "tag 1 x" "note 1 -m hello"; do
	mark_reset
	# shellcheck disable=SC2086
	PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" $cmd >/dev/null 2>&1
	check "'$cmd' does not page" test ! -f "$PAGER_MARK"
done

# The real less, as most people have it: LESS=FRX makes it leave by
# itself when the text fits the screen, and 'q' ends a long one early.
if command -v less >/dev/null 2>&1; then
	tty 160 "$SECDESK" -c "$d/secdesk.conf" list >"$T_DIR/l1" 2>&1
	check_eq "less (the default) leaves by itself on a short list" 0 $?
	check "and showed it" grep -q "A question about the joint call" "$T_DIR/l1"
	check "with its colours (LESS has R)" has_esc "$T_DIR/l1"
	TTY_KEYS=q tty 100 "$SECDESK" -c "$d/secdesk.conf" show 2 >"$T_DIR/l2" 2>&1
	check_eq "q in less on a long text: exit 0" 0 $?
	check "the first screen was shown" grep -q "Long Writer" "$T_DIR/l2"
	check "not the rest" sh -c "! grep -q 'Line 3999' '$T_DIR/l2'"
	check "and no error" sh -c "! grep -q 'secdesk:' '$T_DIR/l2'"
else
	skip "less is not installed"
fi

# Exit status, errors, waiting, quitting early
mark_reset
PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" show 99 >"$T_DIR/e1" 2>&1
check_eq "show 99 through the pager still exits 65" 65 $?
check "and its error is seen" grep -q "no ticket #99" "$T_DIR/e1"
mark_reset
PAGER=$T_DIR/pager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" list --bogus >"$T_DIR/e2" 2>&1
check_eq "an unknown option through the pager exits 64" 64 $?
check "with the usage line" grep -q "usage: secdesk list" "$T_DIR/e2"
mark_reset
TTY_MARK=$PAGER_MARK PAGER=$T_DIR/slowpager.sh tty 100 "$SECDESK" -c "$d/secdesk.conf" show 2 \
	>"$T_DIR/w1" 2>&1 3>"$T_DIR/w1.mark"
check_eq "secdesk exits 0 through the pager" 0 $?
check_eq "and only after the pager ended" yes "$(cat "$T_DIR/w1.mark")"
check "the pager got the whole text" grep -q "Line 3999 of a long letter" "$PAGER_MARK.in"
PAGER=true tty 100 "$SECDESK" -c "$d/secdesk.conf" show 2 >"$T_DIR/q1" 2>&1
check_eq "a pager that quits at once (SIGPIPE, EPIPE) is not an error" 0 $?
check "and says nothing" sh -c "! grep -q -e 'secdesk:' -e 'Broken pipe' '$T_DIR/q1'"
PAGER='head -n 3' tty 100 "$SECDESK" -c "$d/secdesk.conf" show 2 >"$T_DIR/q2" 2>&1
check_eq "a pager quitting after three lines (like q in less)" 0 $?
check_eq "and it showed three lines" 3 "$(wc -l <"$T_DIR/q2")"

# Width
PAGER=cat tty 60 "$SECDESK" -c "$d/secdesk.conf" show 2 >"$T_DIR/w60" 2>&1
check "text wrapped to a 60-column terminal" python3 -c "
import sys, re
ls = [re.sub(r'\x1b\[[0-9;]*m', '', l) for l in open('$T_DIR/w60', encoding='utf-8').read().splitlines()]
body = [l for l in ls if l.startswith('  ')]
sys.exit(0 if len(body) > 1000 and max(len(l) for l in body) <= 60 else 1)"
COLUMNS=50 PAGER=cat tty 100 "$SECDESK" -c "$d/secdesk.conf" show 2 >"$T_DIR/w50" 2>&1
check "COLUMNS=50 wins over the terminal's 100" python3 -c "
import sys, re
ls = [re.sub(r'\x1b\[[0-9;]*m', '', l) for l in open('$T_DIR/w50', encoding='utf-8').read().splitlines()]
body = [l for l in ls if l.startswith('  ')]
sys.exit(0 if len(body) > 1000 and max(len(l) for l in body) <= 50 else 1)"
sd show 2 >"$T_DIR/w78"
check "78 columns when piped" python3 -c "
import sys
ls = [l for l in open('$T_DIR/w78', encoding='utf-8').read().splitlines() if l.startswith('  ')]
sys.exit(0 if max(len(l) for l in ls) <= 78 and max(len(l) for l in ls) > 70 else 1)"
# search and stats colour as list does: ticket ids and status words on a
# terminal, nothing when piped or with NO_COLOR; the columns do not move.
PAGER=cat tty 120 "$SECDESK" -c "$d/secdesk.conf" search joint >"$T_DIR/s1" 2>&1
check "search on a terminal: the ticket id in yellow" grep -q "^$esc\\[33m#1$esc\\[m  " "$T_DIR/s1"
check "search on a terminal: the status word coloured" grep -q "#1$esc\\[m  $esc\\[32mopen$esc\\[m  " "$T_DIR/s1"
NO_COLOR=1 PAGER=cat tty 120 "$SECDESK" -c "$d/secdesk.conf" search joint >"$T_DIR/s2" 2>&1
check "search with NO_COLOR: no colour" sh -c "! grep -q '$esc\\[[0-9;]*m' '$T_DIR/s2'"
sd search joint >"$T_DIR/s3"
check "search piped: no colour" sh -c "! grep -q '$esc' '$T_DIR/s3'"
check "search on a terminal, colour taken out, is the piped text" sh -c \
	"sed 's/$esc\\[[0-9;]*m//g' '$T_DIR/s1' | cmp -s - '$T_DIR/s3'"
PAGER=cat tty 120 "$SECDESK" -c "$d/secdesk.conf" stats >"$T_DIR/t1" 2>&1
check "stats on a terminal: section titles bold" grep -q "^$esc\\[1mBy status$esc\\[m\$" "$T_DIR/t1"
check "stats on a terminal: status words coloured" grep -q "^  $esc\\[1m$esc\\[33mnew *$esc\\[m  *1\$" "$T_DIR/t1"
NO_COLOR=1 PAGER=cat tty 120 "$SECDESK" -c "$d/secdesk.conf" stats >"$T_DIR/t2" 2>&1
check "stats with NO_COLOR: no colour" sh -c "! grep -q '$esc\\[[0-9;]*m' '$T_DIR/t2'"
sd stats >"$T_DIR/t3"
check "stats piped: no colour" sh -c "! grep -q '$esc' '$T_DIR/t3'"
check "stats on a terminal, colour taken out, is the piped text (columns kept)" sh -c \
	"sed 's/$esc\\[[0-9;]*m//g' '$T_DIR/t1' | cmp -s - '$T_DIR/t3'"

done_testing

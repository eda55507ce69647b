# bench/lib.sh - what the bench scripts share; sourced with $top set.

# bench_conf DIR [RULES_DIR [MAILBOX [SEND]]]: DIR/secdesk.conf for a fetch
# of the Maildir DIR/inbox into DIR/secdesk.db, mail to the folder
# DIR/outbox; the shipped rules unless RULES_DIR. MAILBOX and SEND, when
# not empty, are the lines of the [mailbox] and [send] sections instead.
bench_conf() {
	mkdir -p "$1/outbox"
	cat >"$1/secdesk.conf" <<CONF
[desk]
name = ICPerMed Secretariat
address = secretariat@icpermed.example
tag = ICPerMed
[mailbox]
${3:-url = maildir:inbox}
[store]
path = secdesk.db
[send]
${4:-url = dir:outbox}
[rules]
dir = ${2:-$top/rules}
[templates]
dir = $top/templates
CONF
}

# bench_best COMMAND...: the best of 5 wall-clock runs in ms, and the best
# CPU time of the client beside it (on a shared machine the wall clock also
# counts other people's work; a server's work is in the wall clock only).
bench_best() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys, time
ts, cs = [], []
for _ in range(5):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
    ts.append((time.perf_counter() - t) * 1000)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cs.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
print("%.1f ms (cpu %.1f ms)" % (min(ts), min(cs)))
PY
}
# triage_table CONF TOTAL: the staff commands, each by bench_best, on the
# store of CONF, which holds TOTAL tickets.
triage_table() {
	_c=$1 _mid=$(($2 / 2))
	echo "list --limit 50:            $(bench_best "$SECDESK" -c "$_c" list --limit 50)"
	echo "list --status new --limit 50: $(bench_best "$SECDESK" -c "$_c" list --status new --limit 50)"
	echo "list --queue DE --json --limit 50: $(bench_best "$SECDESK" -c "$_c" list --queue DE --json --limit 50)"
	echo "list --sort -priority --limit 50: $(bench_best "$SECDESK" -c "$_c" list --sort -priority --limit 50)"
	echo "list --unanswered --older-than 7d --limit 50: $(bench_best "$SECDESK" -c "$_c" list --unanswered --older-than 7d --limit 50)"
	echo "show $_mid:                  $(bench_best "$SECDESK" -c "$_c" show "$_mid")"
	echo "show $_mid --json:           $(bench_best "$SECDESK" -c "$_c" show "$_mid" --json)"
	echo "search biomarker cohort:    $(bench_best "$SECDESK" -c "$_c" search biomarker cohort)"
	echo "search --json 'geno*':      $(bench_best "$SECDESK" -c "$_c" search --json 'geno*')"
	echo "search Müller (a name):     $(bench_best "$SECDESK" -c "$_c" search müller)"
	# Common words: 'dear' and 'secretariat' open every inquiry, 'message'
	# ends every acknowledgement; ranking all their matches was the slow case.
	echo "search dear (common word):  $(bench_best "$SECDESK" -c "$_c" search dear)"
	echo "search --json dear secretariat (common words): $(bench_best "$SECDESK" -c "$_c" search --json dear secretariat)"
	echo "search data --limit 200 (common word): $(bench_best "$SECDESK" -c "$_c" search --limit 200 data)"
	echo "list (all $2, no limit):    $(bench_best "$SECDESK" -c "$_c" list)"
}

#!/bin/sh
# bench/send.sh: the outbound half.
#  1. delivery: SEND_N (default 5000) queued mails to a local SMTP server
#     (tests/harness/smtpd.py, aiosmtpd, PIPELINING offered) over one
#     connection: mails per second of 'secdesk send'; each mail received is
#     counted.
#  2. rendering: the same generated inquiries ingested with acknowledgements
#     on and off ([ack] enabled): what templates, MIME and recording the
#     acks add to ingest (RENDER_N mails, RENDER_RUNS runs of each).
#     RENDER_PERF=1 adds the CPU time of the storing thread with and
#     without acks, counted by perf (the wall times swing with the
#     machine's load).
# Run by bench/run.sh (make bench), or alone: BUILD=build SECDESK=build/secdesk sh bench/send.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}" "${SECDESK:=$BUILD/secdesk}"
N=${SEND_N:-5000}
RN=${RENDER_N:-10000}
out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-bsend.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT
now() { date +%s.%N; }

. "$top/bench/lib.sh"
conf() { # DIR SEND_URL ACK_ENABLED
	bench_conf "$1" "" "" "url = $2
tls = none"
	cat >>"$1/secdesk.conf" <<CONF
[ack]
enabled = $3
per_sender_limit = 0
hourly_limit = 0
CONF
}

# --- 1. delivery ---
wait_port() { i=0; while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; }

queue() { # DIR: a store with N mails of ~2 KB queued as ingest queues them
	mkdir -p "$1/inbox/new" "$1/inbox/cur" "$1/inbox/tmp"
	"$SECDESK" -q -c "$1/secdesk.conf" db init >/dev/null
	sqlite3 "$1/secdesk.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO outbox (kind, env_from, rcpts, data, next_try, created)
SELECT 'ack', '', 'person' || i || '@example.org',
 'From: ICPerMed Secretariat <secretariat@icpermed.example>' || char(13,10) ||
 'To: <person' || i || '@example.org>' || char(13,10) ||
 'Subject: Re: A question [ICPerMed #' || i || ']' || char(13,10) ||
 'Message-ID: <bench.' || i || '@icpermed.example>' || char(13,10) ||
 'Auto-Submitted: auto-replied' || char(13,10) || char(13,10) ||
 replace(hex(zeroblob(60)), '00', 'Thank you for writing to us, we will answer.' || char(13,10)), 0, 0
FROM n;
SQL
}

send_timed() { # DIR LABEL RECEIVED-COMMAND
	t0=$(now)
	"$SECDESK" -q -c "$1/secdesk.conf" send
	t1=$(now)
	python3 -c "print('send to %s: %d mails in %.2f s: %.0f mails/s, one connection' % ('$2', $N, $t1 - $t0, $N / ($t1 - $t0)))"
}

# a) the test harness: aiosmtpd (Python), writing what it receives
# (counting what it receives, writing none of it: Python writing two files
# per mail would be most of what is measured)
/usr/bin/python3 "$top/tests/harness/smtpd.py" --dir "$out/rcv" --port-file "$out/port" \
	--pipelining --count-only --quiet &
pid=$!
wait_port "$out/port"
mkdir -p "$out/d1"
conf "$out/d1" "smtp://127.0.0.1:$(cat "$out/port")" true
queue "$out/d1"
send_timed "$out/d1" "aiosmtpd (tests/harness/smtpd.py)"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
echo "  received by aiosmtpd: $(cat "$out/rcv/count" 2>/dev/null || echo '?')"

# b) a C sink (bench/bench_send.c, like postfix's smtp-sink): secdesk's own rate
if [ -x "$BUILD/bench/bench_send" ]; then
	"$BUILD/bench/bench_send" "$out/port2" "$out/stats" &
	pid=$!
	wait_port "$out/port2"
	mkdir -p "$out/d2"
	conf "$out/d2" "smtp://127.0.0.1:$(cat "$out/port2")" true
	queue "$out/d2"
	send_timed "$out/d2" "a C sink (bench/bench_send)"
	sleep 0.2
	echo "  received by the sink: $(cut -d' ' -f1 "$out/stats") messages"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
fi

# --- 2. rendering cost in ingest ---
# The same RENDER_N generated inquiries (default 10,000 of 10 KB, as
# bench/run.sh makes them) fetched into a fresh store with [ack] enabled
# = false and = true, RENDER_RUNS times each, alternating (off, on, on,
# off, ...), so that a load that comes and goes on a shared machine falls on
# both. Reported: the best (shortest) wall time of each, since other
# processes only ever add time, and what the acks add to it; the same for
# CPU time (user + sys).
if [ ! -x "$BUILD/bench/gen_mail" ]; then
	echo "render: skipped (no $BUILD/bench/gen_mail)"
	exit 0
fi
RSIZE=${RENDER_SIZE:-10240}
RUNS=${RENDER_RUNS:-5}
"$BUILD/bench/gen_mail" "$out/gen" "$RN" "$RSIZE" >/dev/null
# fresh_desk ACK: a new desk of the generated inquiries, acks on or off;
# prints its folder.
fresh_desk() {
	rm -rf "$out/r-$1"
	mkdir -p "$out/r-$1/outbox"
	cp -R "$out/gen" "$out/r-$1/inbox"
	conf "$out/r-$1" "dir:outbox" "$1"
	sync
	echo "$out/r-$1"
}
: >"$out/render.times"
i=0
while [ $i -lt "$RUNS" ]; do
	# Each goes first as often as the other: the second of a pair runs
	# while the first one's writes are still being flushed.
	if [ $((i % 2)) -eq 1 ]; then order="true false"; else order="false true"; fi
	for ack in $order; do
		d=$(fresh_desk "$ack")
		t0=$(now)
		/usr/bin/env time -f '%U %S' -o "$out/cpu" "$SECDESK" -v -c "$d/secdesk.conf" fetch \
			>/dev/null 2>"$out/stages"
		t1=$(now)
		acks=$(sqlite3 "$d/secdesk.db" "SELECT count(*) FROM outbox WHERE kind = 'ack'")
		echo "$ack $t0 $t1 $(cat "$out/cpu") $acks" >>"$out/render.times"
	done
	i=$((i + 1))
done
# With RENDER_PERF=1 (and perf installed): the same pairs again under perf
# (cpu-clock at 1 kHz), counting the CPU time of the storing thread alone
# (the main thread: tid = pid), the critical path of a run. CPU time, not
# wall: what other processes on a shared machine do changes it far less.
if [ "${RENDER_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
	: >"$out/render.perf"
	i=0
	while [ $i -lt "$RUNS" ]; do
		if [ $((i % 2)) -eq 1 ]; then order="true false"; else order="false true"; fi
		for ack in $order; do
			d=$(fresh_desk "$ack")
			perf record -q -F 1000 -e cpu-clock -o "$out/perf.data" \
				"$SECDESK" -q -c "$d/secdesk.conf" fetch >/dev/null 2>&1
			ms=$(perf script -i "$out/perf.data" -F comm,pid,tid 2>/dev/null |
				awk '{ split($2, a, "/"); if (a[1] == a[2]) n++ } END { print n + 0 }')
			echo "$ack $ms" >>"$out/render.perf"
		done
		i=$((i + 1))
	done
	rm -f "$out/perf.data"
fi
rm -rf "$out/r-false" "$out/r-true"
python3 - "$out/render.times" "$RN" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
def pick(ack):
    r = [x for x in rows if x[0] == ack]
    wall = min(float(x[2]) - float(x[1]) for x in r)
    cpu = min(float(x[3]) + float(x[4]) for x in r)
    return wall, cpu, int(r[-1][5]), len(r)
off, on = pick("false"), pick("true")
for name, v in (("without acks", off), ("with acks   ", on)):
    print("ingest %s: %d mails, best of %d: %.2f s wall (%.0f mails/s), %.2f s CPU, %d acks queued"
          % (name, n, v[3], v[0], n / v[0], v[1], v[2]))
print("render: acknowledgements add %.1f%% to ingest time (wall, best of each), %.1f%% CPU"
      % (100.0 * (on[0] - off[0]) / off[0], 100.0 * (on[1] - off[1]) / off[1]))
PY
if [ -s "$out/render.perf" ]; then
	python3 - "$out/render.perf" "$RN" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
ms = {a: sorted(int(x[1]) for x in rows if x[0] == a) for a in ("false", "true")}
off, on = statistics.median(ms["false"]), statistics.median(ms["true"])
print("storing thread CPU (perf, median of %d): %.0f ms without acks, %.0f ms with acks"
      " (%.1f us per ack): acknowledgements add %.1f%%"
      % (len(ms["true"]), off, on, 1000.0 * (on - off) / n, 100.0 * (on - off) / off))
PY
fi

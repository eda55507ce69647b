#!/bin/sh
# Parse throughput (parse + normalise, as ingest does it, in memory): the
# generated inquiries of make bench (plain text), a mix with HTML
# alternatives, attachments and encoded headers, and the hostile cases
# (a 10 MB HTML part, a 10,000-part message) with their time and peak
# memory. BENCH_N sets the number of mails (default 10000).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
: "${BUILD:=$top/build}"
N=${BENCH_N:-10000}
SIZE=${BENCH_SIZE:-10240}
out=$(mktemp -d "${TMPDIR:-/tmp}/secdesk-parse.XXXXXX")
trap 'rm -rf "$out"' EXIT
"$BUILD/bench/gen_mail" "$out/plain" "$N" "$SIZE" >/dev/null
echo "plain text inquiries (gen_mail, ~$SIZE bytes):"
"$BUILD/bench/parse_bench" -r 3 "$out/plain/new"
python3 - "$out" "$N" <<'PY'
import base64, os, random, sys
out, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
words = "personalised medicine research funding call partners consortium data health".split()
os.makedirs(out + "/mixed")
os.makedirs(out + "/hostile")
for i in range(n):
    text = " ".join(random.choice(words) for _ in range(600))
    html = "<html><body>" + "".join("<p>%s <a href='https://icpermed.eu/%d'>link</a></p>" % (text[j:j+200], j) for j in range(0, len(text), 200)) + "</body></html>"
    att = base64.encodebytes(os.urandom(1500)).decode()
    m = ("From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j%d@example.de>\nTo: secretariat@icpermed.example\n"
         "Subject: =?utf-8?b?%s?=\nDate: Mon, 2 Nov 2026 10:00:00 +0100\nMessage-ID: <m%d@example.de>\n"
         "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mix\"\n\n--mix\n"
         "Content-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\n"
         "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n%s\n--alt\n"
         "Content-Type: text/html; charset=utf-8\n\n%s\n--alt--\n--mix\n"
         "Content-Type: application/pdf; name=\"doc.pdf\"\nContent-Transfer-Encoding: base64\n\n%s--mix--\n") % (
        i, base64.b64encode(("Frage zur Förderung %d" % i).encode()).decode(), i, text[:2500], html[:3500], att)
    open("%s/mixed/%d.eml" % (out, i), "w").write(m)
# An HTML-only set: the body comes from HTML to text.
os.makedirs(out + "/html")
for i in range(n // 4):
    text = " ".join(random.choice(words) for _ in range(900))
    html = "<html><head><style>p{}</style></head><body><table><tr><td>" + "".join("<p>%s <b>x</b> &amp; <a href='https://x.eu/%d'>y</a></p>" % (text[j:j+150], j) for j in range(0, len(text), 150)) + "</td></tr></table></body></html>"
    open("%s/html/%d.eml" % (out, i), "w").write("From: a@b.example\nSubject: html %d\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n%s\n" % (i, html))
hdr = "From: h@example.org\nSubject: hostile\nMIME-Version: 1.0\n"
open(out + "/hostile/html10mb.eml", "w").write(hdr + "Content-Type: text/html\n\n" + ("<p>hello <a href='http://x.y/'>link</a> world &amp; more</p>\n") * (10 * 1024 * 1024 // 60))
open(out + "/hostile/nested10mb.eml", "w").write(hdr + "Content-Type: text/html\n\n" + "<div><b>x" * (10 * 1024 * 1024 // 9))
open(out + "/hostile/parts10000.eml", "w").write(hdr + 'Content-Type: multipart/mixed; boundary="b"\n\n' + "".join("--b\nContent-Type: text/plain; name=f%d.txt\n\nabc\n" % i for i in range(10000)) + "--b--\n")
PY
echo "mixed: plain + HTML alternative, 2 KB attachment, encoded headers (~10 KB):"
"$BUILD/bench/parse_bench" -r 3 "$out/mixed"
echo "HTML only (~8 KB, body from HTML to text):"
"$BUILD/bench/parse_bench" -r 3 "$out/html"
for f in html10mb nested10mb parts10000; do
	printf 'hostile %s: ' "$f"
	"$BUILD/bench/parse_bench" -q "$out/hostile/$f.eml"
done

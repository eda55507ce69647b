#!/bin/sh
# Hostile mail through the parser: each one is read to the end, flagged
# where a limit was hit, and costs bounded memory (ulimit -v). No timings
# are asserted here; bench/parse.sh measures them.
. "$TOP/tests/lib.sh"
: "${BUILD:=$TOP/build}"
dump=$BUILD/tests/tools/parsedump
if [ ! -x "$dump" ]; then
	skip "parsedump not built (make check builds it)"
	done_testing
	exit
fi
python3 - "$T_DIR" <<'PY'
import sys
d = sys.argv[1]
hdr = "From: Hostile <h@example.org>\nSubject: hostile\nMIME-Version: 1.0\n"
def w(name, s):
    open(d + "/" + name, "w").write(s)
w("nest.eml", hdr + "Content-Type: text/html\n\n" + "<div><b>x" * (10 * 1024 * 1024 // 9))
w("close.eml", hdr + "Content-Type: text/html\n\n" + "<div>" * 250 + "</p></x>y" * (9 * 1024 * 1024 // 9))
w("attrs.eml", hdr + "Content-Type: text/html\n\n<a " + "".join("a%d=1 " % i for i in range(100000)) + ">x")
w("parts.eml", hdr + 'Content-Type: multipart/mixed; boundary="b"\n\n' +
  "".join("--b\nContent-Type: application/octet-stream; name=f%d.bin\n\nabc\n" % i for i in range(10000)) + "--b--\n")
w("deep.eml", hdr + "".join('Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(10000))
  + "Content-Type: text/plain\n\ndeep\n")
w("longhdr.eml", hdr + "X-Long: " + "a" * (3 * 1024 * 1024) + "\nContent-Type: text/plain\n\nbody after a long header\n")
w("manyhdrs.eml", "".join("X-H%d: v\n" % i for i in range(200000)) + "Subject: late\n\nbody\n")
w("quote.eml", hdr + 'Content-Type: multipart/mixed; boundary="\\""\n\n--"\nContent-Type: text/plain\n\nquoted boundary\n--"--\n')
w("empty.eml", "")
w("nul.eml", hdr + "Content-Type: text/plain\n\n\0\0\0 nul bytes \0\n")
w("b64junk.eml", hdr + "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!!====****\n")
w("words.eml", "Subject: " + "=?utf-8?q?=C3?= " * 200000 + "\n\nx\n")
w("refs.eml", "References: " + "<" * 1000000 + "\nMessage-ID: <a@b>\n\nx\n")
w("openwords.eml", "Subject: " + "=?a?q?x" * 150000 + "\n\nx\n")
PY
# 512 MB of address space: bounded memory, with room for ASan's shadow
# only in the plain build (ASan reserves terabytes; it is skipped there).
limit=""
case "${SAN:-}${BUILD}" in *asan*) ;; *) limit="ulimit -v 524288;" ;; esac
run() { sh -c "$limit \"\$@\"" sh "$dump" "$@"; }
for f in nest close attrs parts deep longhdr manyhdrs quote empty nul b64junk words openwords refs; do
	if run "$T_DIR/$f.eml" >"$T_DIR/$f.out" 2>"$T_DIR/$f.err"; then
		ok "$f: parsed"
	else
		not_ok "$f: parsed"; head -5 "$T_DIR/$f.err" | sed 's/^/#   /'
	fi
	check "$f: valid UTF-8 out" run -c "$T_DIR/$f.eml"
done
check "10,000 parts: cut at the part limit, flagged" grep -q '^flags:.*truncated' "$T_DIR/parts.out"
check_eq "10,000 parts: 999 attachments kept (the limit is 1000 parts)" 999 "$(grep -c '^attachment:' "$T_DIR/parts.out")"
check "10,000 levels: cut at the depth limit, flagged" grep -q '^flags:.*truncated' "$T_DIR/deep.out"
check "deep HTML: flagged as cut" grep -q '^flags:.*truncated' "$T_DIR/nest.out"
check "end-tag flood: flagged as cut" grep -q '^flags:.*truncated' "$T_DIR/close.out"
check "attribute flood: flagged as cut" grep -q '^flags:.*truncated' "$T_DIR/attrs.out"
check "long header: flagged, body still read" sh -c "grep -q '^flags:.*truncated' '$T_DIR/longhdr.out' && grep -q '^body after a long header' '$T_DIR/longhdr.out'"
check 'boundary="\"": the part is read' grep -q '^quoted boundary' "$T_DIR/quote.out"
check "empty input: flagged as a parse error" grep -q '^flags:.*parse-error' "$T_DIR/empty.out"
check "NUL bytes dropped from the body" grep -q '^ nul bytes' "$T_DIR/nul.out"
done_testing

#!/bin/sh
# report --html FILE through the real binary: a well-formed, self-contained
# page (no script, no external reference), an SVG per chart, the figures of
# stats --json in its tables, hostile queue names escaped, atomic writes and
# clear errors.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
# A rule set with a queue whose display name is markup.
cp -R "$TOP/rules" "$d/rules"
echo 'queue XX "Research & <Development>" language en contact xx@icpermed.example' >>"$d/rules/00-queues.rules"
sed -i "s|^dir = $TOP/rules|dir = $d/rules|" "$d/secdesk.conf"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }
at() { _t=$1; shift; SECDESK_NOW=$_t "$SECDESK" -c "$d/secdesk.conf" "$@"; }
export SECDESK_USER=alice
T=1795608000
H=3600 D=86400

# An empty store gives a page too.
sd db init >/dev/null
check_rc "report of an empty store" 0 at $T report --html "$T_DIR/empty.html"

for i in 1 2 3 4 5; do
	make_mail "$T_DIR/m$i.eml" "m$i@example.org" "person$i@example.org" "Question number $i"
done
at $((T - 10 * D)) ingest "$T_DIR/m1.eml" >/dev/null
at $((T - 10 * D)) route 1 DE >/dev/null
at $((T - 10 * D + 2 * H)) reply 1 -m "Answer" >/dev/null
at $((T - 5 * D)) ingest "$T_DIR/m2.eml" >/dev/null
at $((T - 5 * D)) route 2 XX >/dev/null
at $((T - 4 * D)) reply 2 -m "Answer" >/dev/null
at $((T - 30 * D)) ingest "$T_DIR/m3.eml" >/dev/null
at $((T - 2 * H)) ingest "$T_DIR/m4.eml" >/dev/null
at $((T - 3 * D)) ingest "$T_DIR/m5.eml" >/dev/null
sd status 3 closed
# A queue id that is markup, as a hand-edited store could hold.
store_sql "$d" "UPDATE tickets SET queue = '<b>&amp;\"q''' WHERE id = 5"

check_rc "report --html" 0 at $T report --html "$T_DIR/r.html"
check "the page was written" test -s "$T_DIR/r.html"
check_eq "it says where" "report written to $T_DIR/r.html (5 tickets, 4 waiting)" \
	"$(at $T report --html "$T_DIR/r.html")"
check_eq "mode 0600 under umask 022 and 000 (the desk's files are private)" "600 600" "$(for u in 022 000; do (umask $u; at $T report --html "$T_DIR/m$u.html" >/dev/null; stat -c %a "$T_DIR/m$u.html"); done | tr "\n" " " | sed "s/ $//")"
check "no temporary file left" sh -c "! ls -a '$T_DIR' | grep -q secdesk-report"

# Well-formed: strict XML parse, and the HTML parser with every tag closed.
check "well-formed as XML (xmllint)" xmllint --noout "$T_DIR/r.html"
check "empty-store page well-formed too" xmllint --noout "$T_DIR/empty.html"
cat >"$T_DIR/check.py" <<'PY'
import json, sys
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link"}

class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], []
        self.tables, self.table, self.row, self.key = {}, None, None, None
        self.spans, self.span, self.text, self.title, self.in_title = {}, None, "", "", False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "title" and self.stack[:2] == ["html", "head"]:
            self.in_title = True
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), {})
        if tag == "th" and "data-key" in a and self.table is not None:
            self.key = a["data-key"]
            self.table[self.key] = []
        if tag == "td" and "data-value" in a and self.table is not None and self.key is not None:
            self.table[self.key].append(int(a["data-value"]))
        if tag == "span" and "data-value" in a:
            self.spans[a.get("id")] = int(a["data-value"])
    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> at %s" % (tag, self.getpos()))
        else:
            self.stack.pop()
        if tag == "table":
            self.table, self.key = None, None
        if tag == "title":
            self.in_title = False
    def handle_data(self, data):
        if self.in_title:
            self.title += data

what, page, stats = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
src = open(page, encoding="utf-8").read()
p = P()
p.feed(src)
p.close()
if what == "balanced":
    sys.exit(0 if not p.errors and not p.stack else (print(p.errors, p.stack) or 1))
if what == "svgs":
    print(sorted(a.get("id") for t, a in p.tags if t == "svg"))
if what == "external":
    bad = [(t, k) for t, a in p.tags for k in a if k in ("src", "href", "xlink:href")]
    bad += [(t, "") for t, a in p.tags if t in ("script", "link", "iframe", "img", "object")]
    print(bad)
if what == "title":
    print(p.title)
if what == "figures":
    s = json.load(open(stats))
    t = p.tables
    ok = True
    def cmp(name, got, want):
        global ok
        if got != want:
            ok = False
            print("%s: page %r, stats %r" % (name, got, want))
    cmp("by status", {k: v[0] for k, v in t["t-by-status"].items()}, s["by_status"])
    cmp("by queue", {k: v[0] for k, v in t["t-by-queue"].items()}, s["by_queue"])
    cmp("waiting by age", {k: v[0] for k, v in t["t-waiting-by-age"].items()}, s["waiting_by_age"])
    cmp("open by queue and status", t["t-open-by-queue-status"],
        {k: [v["new"], v["open"], v["pending"]] for k, v in s["open_by_queue_status"].items()})
    cmp("first answer", {k: v[0] for k, v in t["t-first-answer"].items()},
        {k: v["median_seconds"] for k, v in s["first_answer_by_queue"].items()})
    cmp("per week", {k: v[0] for k, v in t["t-per-week"].items()},
        {w["week"]: w["tickets"] for w in s["tickets_per_week"]})
    cmp("total", p.spans.get("total"), s["total"])
    cmp("waiting", p.spans.get("waiting"), s["waiting"])
    cmp("median", p.spans.get("first-answer-median"), s["first_answer_median_seconds"])
    print("same" if ok else "different")
if what == "haskey":
    print("yes" if any(stats in tb for tb in p.tables.values()) else "no")
PY
ck() { python3 "$T_DIR/check.py" "$@"; }
check "every tag closed in order (html.parser)" ck balanced "$T_DIR/r.html"
check "empty-store page balanced too" ck balanced "$T_DIR/empty.html"
check_eq "an <svg> per chart" \
	"['svg-by-queue', 'svg-by-status', 'svg-first-answer', 'svg-open-by-queue-status', 'svg-per-week', 'svg-waiting-by-age']" \
	"$(ck svgs "$T_DIR/r.html")"
check_eq "an <svg> per chart in the empty page" 6 "$(grep -c '<svg ' "$T_DIR/empty.html")"
check_eq "no src, href, script, link, img" "[]" "$(ck external "$T_DIR/r.html")"
check "no http:// or https:// anywhere" sh -c "! grep -qi 'https\?://' '$T_DIR/r.html'"
check "no url( in the CSS" sh -c "! grep -qi 'url(' '$T_DIR/r.html'"
check_eq "title names the desk" "ICPerMed Secretariat: tickets report" "$(ck title "$T_DIR/r.html")"
check "generation date shown (SECDESK_NOW)" grep -q '<time datetime="2026-11-25T12:00:00Z">' "$T_DIR/r.html"

at $T stats --json >"$T_DIR/st.json"
check_eq "the page's figures are those of stats --json" same "$(ck figures "$T_DIR/r.html" "$T_DIR/st.json")"
check_eq "the empty page's figures too" same \
	"$(at $T stats --json >"$T_DIR/st0.json"; SECDESK_NOW=$T "$SECDESK" -c "$d/secdesk.conf" report --html "$T_DIR/r0.html" >/dev/null; ck figures "$T_DIR/r0.html" "$T_DIR/st0.json")"

# Escaping.
check "display name escaped" grep -q 'Research &amp; &lt;Development&gt;' "$T_DIR/r.html"
check "no raw markup from a queue name" sh -c "! grep -q '<Development>' '$T_DIR/r.html' && ! grep -q '<b>' '$T_DIR/r.html'"
check "queue id escaped in text" grep -q '&lt;b&gt;&amp;amp;&quot;q&#39;' "$T_DIR/r.html"
qid='<b>&amp;"q'"'"
check_eq "the parser gives the queue id back unchanged" yes "$(ck haskey "$T_DIR/r.html" "$qid")"

# Errors.
check_rc "a missing folder: cannot create (73)" 73 sd report --html "$T_DIR/no/such/dir/r.html"
sd report --html "$T_DIR/no/such/dir/r.html" 2>"$T_DIR/err" >/dev/null
check "the error names the file" grep -q "cannot write '$T_DIR/no/such/dir/r.html'" "$T_DIR/err"
mkdir "$T_DIR/adir"
check_rc "a folder as FILE: cannot create (73)" 73 sd report --html "$T_DIR/adir"
check "nothing left beside it" sh -c "! ls -a '$T_DIR' | grep -q secdesk-report"
if [ "$(id -u)" -ne 0 ]; then
	mkdir "$T_DIR/ro" && chmod 555 "$T_DIR/ro"
	check_rc "a read-only folder: cannot create (73)" 73 sd report --html "$T_DIR/ro/r.html"
else
	skip "read-only folder (root writes anyway)"
fi
check_rc "report without --html is a usage error" 64 sd report
check_rc "--html without a file is a usage error" 64 sd report --html
check_rc "an extra argument is a usage error" 64 sd report --html "$T_DIR/x.html" extra
check_rc "an unknown option is a usage error" 64 sd report --pdf x
done_testing

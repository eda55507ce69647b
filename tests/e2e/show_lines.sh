#!/bin/sh
# secdesk show keeps the writer's lines (issue 18, point 5): only a line
# longer than the width is broken, short lines are never joined (a list of
# "Point N:" lines, a signature's "Thank you," / name), and what a long
# line leaves over stays on its own lines. Format=flowed mail (RFC 3676)
# still flows: its paragraphs fill the width, its quotes and signature
# separator stay.
. "$TOP/tests/lib.sh"
d=$T_DIR/desk
make_config "$d"
sd() { "$SECDESK" -c "$d/secdesk.conf" "$@"; }

sd db init >/dev/null
{
	cat <<'MAIL'
From: Ahmet Yilmaz <ahmet@example.org>
To: secretariat@icpermed.example
Subject: Thirty-nine points about the call
Date: Mon, 2 Nov 2026 10:00:00 +0000
Message-ID: <points@example.org>
Content-Type: text/plain; charset=utf-8

Dear secretariat,
MAIL
	i=1
	while [ $i -le 39 ]; do
		if [ $((i % 10)) -eq 5 ]; then
			echo "Point $i: this one is long enough to be wrapped at the width of the screen, which is seventy-eight columns when piped."
		else
			echo "Point $i: yes"
		fi
		i=$((i + 1))
	done
	cat <<'MAIL'

Thank you,
Ahmet Yilmaz
MAIL
} >"$T_DIR/points.eml"
check_eq "the mail opens ticket #1" "new ticket #1" "$(sd ingest "$T_DIR/points.eml")"
sd show 1 >"$T_DIR/show1.txt"
# The inquiry's body in the thread: from its greeting to the signature.
sed -n '/^  Dear secretariat,$/,/^  Ahmet Yilmaz$/p' "$T_DIR/show1.txt" >"$T_DIR/body1.txt"
check "the body is shown" [ -s "$T_DIR/body1.txt" ]
n=$(grep -c '^  Point [0-9]*: ' "$T_DIR/body1.txt")
check_eq "each of the 39 points starts a line of its own" 39 "$n"
check_eq "a short point stays alone on its line" 35 "$(grep -c '^  Point [0-9]*: yes$' "$T_DIR/body1.txt")"
check_eq "no line is joined to another point" 0 \
	"$(grep -c 'Point [0-9]*:.*Point [0-9]*:' "$T_DIR/body1.txt")"
check_eq "\"Thank you,\" stays on its line" 1 "$(grep -c '^  Thank you,$' "$T_DIR/body1.txt")"
check_eq "the name stays on its line" 1 "$(grep -c '^  Ahmet Yilmaz$' "$T_DIR/body1.txt")"
check_eq "a long point is wrapped, its rest on a line of its own" 4 \
	"$(grep -c '^  which is seventy-eight columns when piped\.$' "$T_DIR/body1.txt")"
check_eq "no line is longer than the width" 0 \
	"$(awk 'length($0) > 78' "$T_DIR/body1.txt" | wc -l | tr -d ' ')"
check_eq "the stored body is unchanged (--json)" 39 \
	"$(sd show 1 --json | python3 -c 'import json,sys; b=json.load(sys.stdin)["messages"][0]["body"]; print(sum(1 for l in b.split("\n") if l.startswith("Point ")))')"

# Format=flowed with CRLF: the paragraph's soft breaks go, it fills the
# width; the hard break after "Ahmet Yilmaz" and the quote stay.
printf '%s\r\n' \
	'From: Ahmet Yilmaz <ahmet@example.org>' \
	'To: secretariat@icpermed.example' \
	'Subject: A flowed question' \
	'Date: Mon, 2 Nov 2026 11:00:00 +0000' \
	'Message-ID: <flowed@example.org>' \
	'Content-Type: text/plain; charset=utf-8; format=flowed' \
	'' \
	'This paragraph was written by a mail client that sends ' \
	'format=flowed text, so its lines end in a space and ' \
	'belong together as one paragraph that flows to the ' \
	'width of the reader'"'"'s screen.' \
	'>> An earlier answer, quoted twice, that was also sent ' \
	'>> as flowed text.' \
	'Thank you,' \
	'Ahmet Yilmaz' \
	'-- ' \
	'Ahmet Yilmaz, Ankara' >"$T_DIR/flowed.eml"
check_eq "the flowed mail opens ticket #2" "new ticket #2" "$(sd ingest "$T_DIR/flowed.eml")"
sd show 2 >"$T_DIR/show2.txt"
sed -n '/^  This paragraph/,/^  Ahmet Yilmaz, Ankara$/p' "$T_DIR/show2.txt" >"$T_DIR/body2.txt"
check_eq "the flowed paragraph fills the width" \
	"  This paragraph was written by a mail client that sends format=flowed text," \
	"$(sed -n 1p "$T_DIR/body2.txt")"
check_eq "and goes on where the width ends" \
	"  so its lines end in a space and belong together as one paragraph that flows" \
	"$(sed -n 2p "$T_DIR/body2.txt")"
check_eq "its quote flows too, markers kept" \
	"  >> An earlier answer, quoted twice, that was also sent as flowed text." \
	"$(grep '^  >>' "$T_DIR/body2.txt")"
check_eq "the fixed lines after it stay" "  Thank you,|  Ahmet Yilmaz|  -- |  Ahmet Yilmaz, Ankara" \
	"$(sed -n '/^  Thank you,$/,$p' "$T_DIR/body2.txt" | paste -sd '|')"

done_testing

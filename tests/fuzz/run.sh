#!/bin/sh
# make fuzz: builds each libFuzzer target (tests/fuzz/fuzz_*.c) with clang,
# ASan and UBSan over the library sources, and runs it for FUZZ_SECONDS
# (default 60) from its seed corpus (tests/fuzz/corpus/NAME plus
# tests/mail). New inputs go to build-fuzz/corpus/NAME, crashes to
# build-fuzz/crash-NAME-*; a crash is kept as a regression fixture by
# copying it into tests/fuzz/corpus/NAME.
# usage: tests/fuzz/run.sh [NAME...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${FUZZ_SECONDS:=60}" "${CLANG:=clang}"
out=build-fuzz
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: $CLANG not found; skipped" >&2
	exit 0
fi
mkdir -p "$out/obj" "$out/corpus"
flags="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Iinclude -I/usr/include/libxml2 -std=c17 -pthread"
libs="-letpan -lsqlite3 -lpcre2-8 -linih -ljansson -lgnutls -lxml2 -luchardet -lm"
objs=""
for src in src/mime/authres.c src/mime/parse.c src/mime/message.c src/mime/charset.c src/mime/rfc2047.c \
	src/mime/encodings.c src/mime/html.c src/mime/flowed.c src/mime/tnef.c src/util/buf.c src/util/xalloc.c \
	src/util/strlist.c src/util/err.c src/util/ascii.c src/util/utf8.c src/mime/addresses.c \
	src/mime/dates.c src/mime/msgid.c src/mime/header.c src/mime/attachments.c src/mime/classify.c \
	src/mime/bounce.c; do
	o=$out/obj/$(basename "$src" .c).o
	# Always rebuilt: a dozen files, and headers change under them.
	# shellcheck disable=SC2086
	$CLANG $flags -c -o "$o" "$src"
	objs="$objs $o"
done
names=${*:-$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)}
status=0
for name in $names; do
	bin=$out/fuzz_$name
	# shellcheck disable=SC2086
	$CLANG $flags -fsanitize=fuzzer -o "$bin" "tests/fuzz/fuzz_$name.c" $objs $libs
	mkdir -p "$out/corpus/$name"
	seeds="tests/fuzz/corpus/$name"
	mkdir -p "$seeds"
	echo "== fuzz_$name for ${FUZZ_SECONDS}s"
	if ! "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/crash-$name-" -print_final_stats=0 \
		"$out/corpus/$name" "$seeds" tests/mail >"$out/fuzz_$name.log" 2>&1; then
		echo "fuzz_$name: FAILED, see $out/fuzz_$name.log and $out/crash-$name-*"
		tail -30 "$out/fuzz_$name.log"
		status=1
	else
		grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "$out/fuzz_$name.log" | tail -1
	fi
done
exit $status

#!/bin/sh
# A mailbox of 10,000 messages over IMAPS, fetched in bounded memory: every
# message stored once, every one marked, peak RSS under 64 MB.
# (Under the sanitizer build, whose memory figures mean nothing, 2,000.)
. "$TOP/tests/lib.sh"
. "$TOP/tests/harness/dovecot.sh"
. "$TOP/tests/harness/mailbox.sh"
if ! dovecot_start "$T_DIR/dc"; then
	skip "Dovecot or certtool not available"
	done_testing
	exit 0
fi
at_exit dovecot_stop
N=10000
case "$SECDESK" in *asan*) N=2000 ;; esac
gen_mails "$DC_MAILDIR" 1 "$N" big
desk_config "$T_DIR/desk" "imaps://$DC_USER@localhost:$DC_IMAPS_PORT/INBOX" seen
"$SECDESK" -c "$T_DIR/desk/secdesk.conf" db init >/dev/null
check_rc "a fetch of $N messages" 0 /usr/bin/env time -f '%M' -o "$T_DIR/rss" \
	"$SECDESK" -q -c "$T_DIR/desk/secdesk.conf" fetch
rss_kb=$(tail -n 1 "$T_DIR/rss")
echo "# peak RSS $((rss_kb / 1024)) MB for $N messages"
check_eq "all stored exactly once" "$N $N" "$(stored "$T_DIR/desk/secdesk.db")"
check_eq "all flagged \\Seen" "$N" "$(server_seen)"
case "$SECDESK" in
*asan*) skip "peak memory under the sanitizer build" ;;
*) check "peak RSS under 64 MB ($((rss_kb / 1024)) MB)" test "$rss_kb" -lt 65536 ;;
esac
done_testing

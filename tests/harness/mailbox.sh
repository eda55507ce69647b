# tests/harness/mailbox.sh - sourced by the IMAP/POP3/mbox end-to-end tests
# after tests/lib.sh and tests/harness/dovecot.sh.

# desk_config DIR URL AFTER: a desk (lib.sh's make_config) reading URL with
# the harness Dovecot's account and CA; the password in DIR/mailbox.pass
# (0600).
desk_config() {
	make_config "$1"
	printf '%s\n' "$DC_PASS" >"$1/mailbox.pass"
	chmod 600 "$1/mailbox.pass"
	sed -i "s|^url   = maildir:inbox|url = $2\npassword_file = mailbox.pass\nca_file = $DC_CA\ntimeout = 10|; s|^after = seen|after = $3|" "$1/secdesk.conf"
}

# gen_mails DIR FIRST LAST [TAG]: inquiries FIRST..LAST as files in DIR
# (Maildir new/ of the server, or anything else), Message-ID <TAG-N@example.org>.
gen_mails() {
	python3 - "$1" "$2" "$3" "${4:-m}" <<'PY'
import os, sys
d, first, last, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for i in range(first, last + 1):
    body = "".join("line %d of inquiry %d about the joint call\n" % (j, i) for j in range(1 + i % 7))
    msg = ("From: Sender %d <sender%d@example.org>\nTo: secretariat@icpermed.example\n"
           "Subject: Inquiry %s %d\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n"
           "Message-ID: <%s-%d@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=utf-8\n\nDear secretariat,\n%sBest regards\n"
           % (i, i, tag, i, tag, i, body))
    name = "17%08d.M%dP1.gen%s" % (i, i, tag)
    with open(os.path.join(d, "tmp" if os.path.isdir(os.path.join(d, "tmp")) else "", name), "w") as f:
        f.write(msg)
    if os.path.isdir(os.path.join(d, "tmp")):
        os.rename(os.path.join(d, "tmp", name), os.path.join(d, "new", name))
PY
	[ "$(id -u)" -eq 0 ] && [ -n "${DC_MAIL_UID:-}" ] && chown -R "$DC_MAIL_UID:$DC_MAIL_GID" "$1"
	return 0
}

# server_count: messages in the account's INBOX (new + cur).
server_count() { ls "$DC_MAILDIR/new" "$DC_MAILDIR/cur" | grep -c '^17' || true; }
# server_seen: messages in INBOX flagged \Seen.
server_seen() { ls "$DC_MAILDIR/cur" | grep -c ':2,[A-Z]*S' || true; }
# folder_count NAME: messages in the folder NAME (Maildir++ .NAME).
folder_count() { ls "$DC_MAILDIR/.$1/new" "$DC_MAILDIR/.$1/cur" 2>/dev/null | grep -c '^17' || true; }

# stored DB: "COUNT DISTINCT" of inbound messages in the store.
stored() {
	store_sql "$1" "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE direction = 'in'" | tr '|' ' '
}

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

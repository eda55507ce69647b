# bench/lib.sh - what the bench scripts share; sourced with $top set.

# bench_conf DIR [RULES_DIR]: DIR/secdesk.conf for a fetch of the Maildir
# DIR/inbox into DIR/secdesk.db, mail to the folder DIR/outbox; the
# shipped rules unless RULES_DIR.
bench_conf() {
	mkdir -p "$1/outbox"
	cat >"$1/secdesk.conf" <<CONF
[desk]
name = ICPerMed Secretariat
address = secretariat@icpermed.example
tag = ICPerMed
[mailbox]
url = maildir:inbox
[store]
path = secdesk.db
[send]
url = dir:outbox
[rules]
dir = ${2:-$top/rules}
[templates]
dir = $top/templates
CONF
}

#!/bin/sh
# The demo (make run): the bundled sample inbox into a store and an outbox
# folder under ./demo, on the embedded default (no server needed).
set -eu
secdesk=${1:-./secdesk}
top=$(cd "$(dirname "$0")/../.." && pwd)
demo=${DEMO_DIR:-$top/demo}
rm -rf "$demo"
mkdir -p "$demo/outbox"
cp -R "$top/contrib/demo/inbox" "$demo/inbox"
cat >"$demo/secdesk.conf" <<CONF
; The demo configuration, written by contrib/demo/run.sh.
[desk]
name    = ICPerMed Secretariat
address = secretariat@icpermed.example
tag     = ICPerMed

[mailbox]
url   = maildir:inbox
after = seen

[store]
path = secdesk.db

[send]
url = dir:outbox

[rules]
dir = $top/rules

[templates]
dir = $top/templates
CONF
echo "== secdesk run (inbox: demo/inbox, store: demo/secdesk.db, outbox: demo/outbox)"
"$secdesk" -c "$demo/secdesk.conf" run
echo
echo "== secdesk list"
"$secdesk" -c "$demo/secdesk.conf" list
echo
echo "Acknowledgements written to demo/outbox: $(ls "$demo/outbox" | wc -l)"
echo "Try: $secdesk -c demo/secdesk.conf show 1"

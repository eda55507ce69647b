#!/bin/sh
# make run: the demo inbox into a store and an outbox folder, then list.
. "$TOP/tests/lib.sh"
export DEMO_DIR=$T_DIR/demo
# wide enough for whole subjects: list cuts them to the width (78 piped)
check_rc "the demo runs" 0 env COLUMNS=200 "$TOP/contrib/demo/run.sh" "$SECDESK"
out=$T_DIR/.out
# The bounce of the demo carries "[ICPerMed #1]" in its returned headers
# but no Message-ID the desk sent: it is a ticket of its own, a possible
# follow-up of #1, and only the requester's follow-up joins ticket #1.
check "it shows the run's summary line" grep -q "^fetched 12, new tickets 11, follow-ups 1" "$out"
check "it lists the German inquiry" grep -q "Antragsberechtigung" "$out"
check "it lists the French inquiry, decoded" grep -q "médecine personnalisée à Lyon" "$out"
check_eq "every demo mail is marked seen" 12 "$(ls "$DEMO_DIR/inbox/cur" | grep -c ':2,S$')"
check_eq "eleven tickets" 11 "$("$SECDESK" -c "$DEMO_DIR/secdesk.conf" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check "the follow-up joined the German ticket" sh -c "'$SECDESK' -c '$DEMO_DIR/secdesk.conf' show 1 --json | python3 -c \"import json,sys; d=json.load(sys.stdin); m=[x for x in d['messages'] if x['direction'] == 'in']; sys.exit(0 if len(m) == 2 and m[1]['from'] == 'a.schmidt@uni-heidelberg.de' else 1)\""
check "the bounce is a possible follow-up of #1, not in it" sh -c "'$SECDESK' -c '$DEMO_DIR/secdesk.conf' list --json | python3 -c \"import json,sys; b=[t for t in json.load(sys.stdin) if 'bounce' in t['flags']]; sys.exit(0 if len(b) == 1 and b[0]['related_to'] == 1 and 'possible-followup' in b[0]['flags'] else 1)\""
acks=$(ls "$DEMO_DIR/outbox" | wc -l)
check "acknowledgements were written to the outbox folder ($acks)" test "$acks" -ge 9
check "none to the bounce or the auto-reply" sh -c "! grep -l -e 'To:.*MAILER-DAEMON' -e 'To:.*joao.silva@fct.pt' '$DEMO_DIR'/outbox/* 2>/dev/null | grep -q ."
done_testing

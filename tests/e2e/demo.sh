#!/bin/sh
# make run: the demo inbox into a store and an outbox folder, then list.
. "$TOP/tests/lib.sh"
export DEMO_DIR=$T_DIR/demo
check_rc "the demo runs" 0 "$TOP/contrib/demo/run.sh" "$SECDESK"
out=$T_DIR/.out
# The bounce of the demo carries "[ICPerMed #1]" in its returned headers:
# it joins ticket #1 beside the requester's follow-up.
check "it shows the run's summary line" grep -q "^fetched 12, new tickets 10, follow-ups 2" "$out"
check "it lists the German inquiry" grep -q "Antragsberechtigung" "$out"
check "it lists the French inquiry, decoded" grep -q "médecine personnalisée à Lyon" "$out"
check_eq "every demo mail is marked seen" 12 "$(ls "$DEMO_DIR/inbox/cur" | grep -c ':2,S$')"
check_eq "ten tickets" 10 "$("$SECDESK" -c "$DEMO_DIR/secdesk.conf" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check "the follow-up joined the German ticket" sh -c "'$SECDESK' -c '$DEMO_DIR/secdesk.conf' show 1 --json | python3 -c \"import json,sys; d=json.load(sys.stdin); m=[x for x in d['messages'] if x['direction'] == 'in']; sys.exit(0 if len(m) == 3 and m[1]['from'] == 'a.schmidt@uni-heidelberg.de' and m[2]['kind'] == 'bounce' else 1)\""
acks=$(ls "$DEMO_DIR/outbox" | wc -l)
check "acknowledgements were written to the outbox folder ($acks)" test "$acks" -ge 9
check "none to the bounce or the auto-reply" sh -c "! grep -l -e 'To:.*MAILER-DAEMON' -e 'To:.*joao.silva@fct.pt' '$DEMO_DIR'/outbox/* 2>/dev/null | grep -q ."
done_testing

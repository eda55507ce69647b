"""The triage bench's store, generated (bench/triage.sh on SQLite, bench/pg.sh
on PostgreSQL): the same seed and draws, so both backends hold the same
tickets. rows(n) yields (table, {column: value}) in insertion order."""
import random

QUEUES = ["DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "SE", "EC", "secretariat"]
CATS = ["funding", "eligibility", "call", "event", "general", "press"]
STATUSES = ["new", "open", "pending", "resolved", "closed", "closed", "resolved"]
WORDS = ("personalised medicine joint transnational call eligibility budget consortium "
         "partner proposal deadline submission evaluation genomics cohort biomarker data "
         "privacy ethics patient clinical trial funding agency ministry health research "
         "pre-proposal letter intent coordinator institution country rules annex").split()
FIRST = ["Anna", "Marco", "Sofia", "Jan", "Lucía", "Pierre", "Eva", "Tomasz", "Ingrid", "Hugo"]
LAST = ["Müller", "Rossi", "García", "Dubois", "Kowalski", "Jansen", "Berg", "Novak"]
NOW = 1795000000


def rows(n):
    random.seed(7)
    for i in range(1, n + 1):
        created = NOW - random.randint(0, 3 * 365 * 86400)
        updated = created + random.randint(0, 30 * 86400)
        subj = " ".join(random.choice(WORDS) for _ in range(6)).capitalize()
        fn, ln = random.choice(FIRST), random.choice(LAST)
        addr = "%s.%s%d@example.org" % (fn.lower(), ln.lower(), i)
        yield "tickets", dict(id=i, status=random.choice(STATUSES), queue=random.choice(QUEUES),
                              category=random.choice(CATS), priority="normal", language="en",
                              subject=subj, requester=addr, requester_name=fn + " " + ln,
                              created=created, updated=updated)
        body = ("Dear secretariat,\n" + " ".join(random.choice(WORDS) for _ in range(120))
                + "\nBest regards\n" + fn)
        yield "messages", dict(ticket_id=i, direction="in", kind="inquiry", from_name=fn + " " + ln,
                               from_addr=addr, to_addrs="secretariat@icpermed.example",
                               subject=subj, date=created, message_id="<m%d@example.org>" % i,
                               body=body, names=fn + " " + ln + " " + addr, created=created)
        yield "messages", dict(ticket_id=i, direction="out", kind="ack", from_name="",
                               from_addr="secretariat@icpermed.example", to_addrs=addr,
                               subject="[ICPerMed #%d] %s" % (i, subj), date=created,
                               message_id="<ack%d@icpermed.example>" % i,
                               body="Thank you for your message. We will answer soon.", names="",
                               created=created)
        yield "events", dict(ticket_id=i, at=created, who="secdesk", what="created")

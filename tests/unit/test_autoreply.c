/* The RFC 3834 decision: a table of header sets and context, and the
 * answer expected for each. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autoreply.h"
#include "bounce.h"
#include "deskaddr.h"

#define DESK "secretariat@icpermed.example"

struct row {
	const char *what;
	const char *from;
	const char *return_path;   /* NULL: no Return-Path */
	const char *headers[4][2]; /* extra header fields */
	unsigned flags;
	struct autoreply_ctx ctx;  /* enabled and desk_address filled in */
	enum autoreply_reason want;
};

static const struct row table[] = {
	{ "plain inquiry", "ana@example.org", "ana@example.org", { { 0 } }, 0, { 0 }, AR_YES },
	{ "no Return-Path at all", "ana@example.org", NULL, { { 0 } }, 0, { 0 }, AR_YES },
	{ "Auto-Submitted: no", "ana@example.org", NULL, { { "Auto-Submitted", "no" } }, 0,
	  { 0 }, AR_YES },
	{ "Auto-Submitted: No (comment)", "ana@example.org", NULL,
	  { { "Auto-Submitted", " No (manual)" } }, 0, { 0 }, AR_YES },
	{ "Auto-Submitted: auto-replied", "ana@example.org", NULL,
	  { { "Auto-Submitted", "auto-replied" } }, 0, { 0 }, AR_AUTO_SUBMITTED },
	{ "Auto-Submitted: auto-generated", "ana@example.org", NULL,
	  { { "auto-submitted", "auto-generated; owner-email=x@y" } }, 0, { 0 },
	  AR_AUTO_SUBMITTED },
	{ "Auto-Submitted: nonsense", "ana@example.org", NULL,
	  { { "Auto-Submitted", "nope" } }, 0, { 0 }, AR_AUTO_SUBMITTED },
	{ "null envelope sender", "ana@example.org", "", { { 0 } }, 0, { 0 }, AR_NULL_SENDER },
	{ "MAILER-DAEMON", "MAILER-DAEMON@mx.example.org", NULL, { { 0 } }, 0, { 0 },
	  AR_ROBOT_SENDER },
	{ "postmaster", "Postmaster@example.org", NULL, { { 0 } }, 0, { 0 }, AR_ROBOT_SENDER },
	{ "owner-list", "owner-research@lists.example.org", NULL, { { 0 } }, 0, { 0 },
	  AR_ROBOT_SENDER },
	{ "list-request", "research-request@lists.example.org", NULL, { { 0 } }, 0, { 0 },
	  AR_ROBOT_SENDER },
	{ "no-reply", "no-reply@funder.example", NULL, { { 0 } }, 0, { 0 }, AR_ROBOT_SENDER },
	{ "noreply", "NoReply@funder.example", NULL, { { 0 } }, 0, { 0 }, AR_ROBOT_SENDER },
	{ "do_not_reply", "do_not_reply@funder.example", NULL, { { 0 } }, 0, { 0 },
	  AR_ROBOT_SENDER },
	{ "robot Return-Path", "ana@example.org", "bounces-request@x.example", { { 0 } }, 0,
	  { 0 }, AR_ROBOT_SENDER },
	{ "requester is not a robot by name part", "norah@example.org", NULL, { { 0 } }, 0,
	  { 0 }, AR_YES },
	{ "List-Id", "ana@example.org", NULL, { { "List-Id", "<research.lists.example.org>" } },
	  0, { 0 }, AR_LIST },
	{ "List-Unsubscribe", "ana@example.org", NULL,
	  { { "List-Unsubscribe", "<mailto:x@y>" } }, 0, { 0 }, AR_LIST },
	{ "Precedence: bulk", "ana@example.org", NULL, { { "Precedence", "bulk" } }, 0, { 0 },
	  AR_PRECEDENCE },
	{ "Precedence: list", "ana@example.org", NULL, { { "Precedence", "List" } }, 0, { 0 },
	  AR_PRECEDENCE },
	{ "Precedence: junk", "ana@example.org", NULL, { { "Precedence", "junk" } }, 0, { 0 },
	  AR_PRECEDENCE },
	{ "Precedence: first-class", "ana@example.org", NULL,
	  { { "Precedence", "first-class" } }, 0, { 0 }, AR_YES },
	{ "X-Auto-Response-Suppress: All", "ana@example.org", NULL,
	  { { "X-Auto-Response-Suppress", "All" } }, 0, { 0 }, AR_SUPPRESSED },
	{ "X-Auto-Response-Suppress: DR, OOF", "ana@example.org", NULL,
	  { { "X-Auto-Response-Suppress", "DR, OOF" } }, 0, { 0 }, AR_SUPPRESSED },
	{ "X-Auto-Response-Suppress: AutoReply", "ana@example.org", NULL,
	  { { "X-Auto-Response-Suppress", "autoreply" } }, 0, { 0 }, AR_SUPPRESSED },
	{ "X-Auto-Response-Suppress: DR only", "ana@example.org", NULL,
	  { { "X-Auto-Response-Suppress", "DR, RN, NRN" } }, 0, { 0 }, AR_YES },
	{ "X-Autoreply", "ana@example.org", NULL, { { "X-Autoreply", "yes" } }, 0, { 0 },
	  AR_AUTO_SUBMITTED },
	{ "Precedence: auto_reply", "ana@example.org", NULL, { { "Precedence", "auto_reply" } },
	  0, { 0 }, AR_AUTO_SUBMITTED },
	{ "delivery report", "ana@example.org", NULL, { { 0 } }, MSG_BOUNCE, { 0 }, AR_BOUNCE },
	{ "vacation flagged by the parser", "ana@example.org", NULL, { { 0 } }, MSG_AUTOREPLY,
	  { 0 }, AR_AUTO_SUBMITTED },
	{ "list flagged by the parser", "ana@example.org", NULL, { { 0 } }, MSG_LIST, { 0 },
	  AR_LIST },
	{ "poison", "ana@example.org", NULL, { { 0 } }, MSG_POISON | MSG_PARSE_ERROR, { 0 },
	  AR_UNREADABLE },
	{ "from the desk", "Secretariat@ICPerMed.example", NULL, { { 0 } }, 0, { 0 }, AR_DESK },
	{ "no address", "", NULL, { { 0 } }, 0, { 0 }, AR_NO_ADDRESS },
	{ "partner contact", "contact@dlr.example", NULL, { { 0 } }, 0,
	  { .from_partner = true }, AR_PARTNER },
	{ "rules said no", "ana@example.org", NULL, { { 0 } }, 0, { .rules_no_ack = true },
	  AR_RULES },
	{ "already acknowledged", "ana@example.org", NULL, { { 0 } }, 0,
	  { .already_acked = true }, AR_ALREADY },
	{ "sender below its limit", "ana@example.org", NULL, { { 0 } }, 0,
	  { .sender_recent = 2, .per_sender_limit = 3 }, AR_YES },
	{ "sender at its limit", "ana@example.org", NULL, { { 0 } }, 0,
	  { .sender_recent = 3, .per_sender_limit = 3 }, AR_RATE },
	{ "breaker open", "ana@example.org", NULL, { { 0 } }, 0,
	  { .hourly_recent = 500, .hourly_limit = 500 }, AR_BREAKER },
	{ "breaker closed", "ana@example.org", NULL, { { 0 } }, 0,
	  { .hourly_recent = 499, .hourly_limit = 500 }, AR_YES },
	{ "post_master", "post_master@vtext.example.com", NULL, { { 0 } }, 0, { 0 },
	  AR_ROBOT_SENDER },
	{ "Apple vacation", "kijitora@apple.example.com", NULL,
	  { { "X-Apple-Action", "VACATION" } }, 0, { 0 }, AR_AUTO_SUBMITTED },
	{ "ezmlm list", "ana@example.org", NULL, { { "Mailing-List", "contact x@y" } }, 0,
	  { 0 }, AR_LIST },
	{ "fml list", "neko-admin@example.co.jp", NULL, { { "X-MLServer", "fml 4.0.3" } }, 0,
	  { 0 }, AR_LIST },
	{ "report by content type", "staff@hotmail.com", NULL,
	  { { "Content-Type", "multipart/report; report-type=feedback-report" } }, 0, { 0 },
	  AR_BOUNCE },
	/* Every header of the one-pass scan, in any case, among others. */
	{ "X-Autorespond", "ana@example.org", NULL,
	  { { "Received", "x" }, { "x-autorespond", "1" } }, 0, { 0 }, AR_AUTO_SUBMITTED },
	{ "X-Vacation", "ana@example.org", NULL, { { "X-VACATION", "" } }, 0, { 0 },
	  AR_AUTO_SUBMITTED },
	{ "X-Mailing-List", "ana@example.org", NULL,
	  { { "Subject", "x" }, { "X-Mailing-List", "<x@y>" } }, 0, { 0 }, AR_LIST },
	{ "X-ML-Name", "ana@example.org", NULL, { { "x-ml-name", "neko" } }, 0, { 0 }, AR_LIST },
	{ "X-List", "ana@example.org", NULL, { { "X-List", "research" } }, 0, { 0 }, AR_LIST },
	{ "X- headers that mean nothing", "ana@example.org", NULL,
	  { { "X-Mailer", "x" }, { "X-Listed", "y" }, { "Lists", "z" }, { "Content-Type",
	  "text/plain" } }, 0, { 0 }, AR_YES },
	{ "the first Auto-Submitted counts", "ana@example.org", NULL,
	  { { "Auto-Submitted", "no" }, { "Auto-Submitted", "auto-replied" } }, 0, { 0 },
	  AR_YES },
	{ "suppress and list: the list first", "ana@example.org", NULL,
	  { { "X-Auto-Response-Suppress", "All" }, { "List-Id", "<x>" } }, 0, { 0 }, AR_LIST },
	/* Any of the desk's addresses (the aliases are set in test_table). */
	{ "from the desk, plus-addressed", "secretariat+ack@icpermed.example", NULL, { { 0 } }, 0,
	  { 0 }, AR_DESK },
	{ "from the desk, trailing dot", "SECRETARIAT@icpermed.example.", NULL, { { 0 } }, 0,
	  { 0 }, AR_DESK },
	{ "from an alias", "Office@ICPerMed.example", NULL, { { 0 } }, 0, { 0 }, AR_DESK },
	{ "desk envelope", "ana@example.org", "secretariat+x@icpermed.example", { { 0 } }, 0,
	  { 0 }, AR_DESK },
	{ "near miss: secretariat2", "secretariat2@icpermed.example", NULL, { { 0 } }, 0, { 0 },
	  AR_YES },
	{ "near miss: longer domain", "secretariat@icpermed.example.evil.org", NULL, { { 0 } }, 0,
	  { 0 }, AR_YES },
	{ "mailer@", "mailer@mx.example.org", NULL, { { 0 } }, 0, { 0 }, AR_ROBOT_SENDER },
	{ "mail-daemon", "Mail-Daemon@mx.example.org", NULL, { { 0 } }, 0, { 0 },
	  AR_ROBOT_SENDER },
	/* The first reason applies: a bounce from the desk is a bounce. */
	{ "bounce before desk", DESK, "", { { 0 } }, MSG_BOUNCE, { 0 }, AR_BOUNCE },
};

static char alias_office[] = "office@icpermed.example";
static char alias_dlr[] = "ICPerMed@dlr.example.";
static char *alias_items[] = { alias_office, alias_dlr };
static const struct strlist aliases = { alias_items, 2, 2 };

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		const struct row *r = &table[i];
		struct message m;
		struct header h[4];
		struct autoreply_ctx c = r->ctx;
		enum autoreply_reason got;

		memset(&m, 0, sizeof(m));
		m.nheaders = 0;
		for (size_t j = 0; j < 4 && r->headers[j][0]; j++) {
			h[j].name = (char *)r->headers[j][0];
			h[j].value = (char *)r->headers[j][1];
			m.nheaders++;
		}
		m.headers = h;
		m.from.addr = (char *)r->from;
		m.from.name = (char *)"";
		m.return_path = (char *)r->return_path;
		m.flags = r->flags;
		c.enabled = true;
		c.desk_address = DESK;
		c.desk_aliases = &aliases;
		got = autoreply_decide(&m, &c);
		if (got != r->want)
			fail_msg("%s: got '%s', want '%s'", r->what, autoreply_reason_str(got),
				 autoreply_reason_str(r->want));
	}
}

static const struct {
	const char *subject;
	enum autoreply_reason want;
} subjects[] = {
	{ "A question about the joint call", AR_YES },
	{ "Auto reply: Nyaan", AR_AUTO_SUBMITTED },
	{ "Automatic reply: Out of office", AR_AUTO_SUBMITTED },
	{ "Fwd: Returned mail: see transcript for details", AR_AUTO_SUBMITTED },
	{ "Undeliverable: Your inquiry", AR_AUTO_SUBMITTED },
	{ "Abwesenheitsnotiz: Ihre Anfrage", AR_AUTO_SUBMITTED },
	{ "Réponse automatique : votre demande", AR_AUTO_SUBMITTED },
	{ "Re: Delivery Status Notification (Failure)", AR_AUTO_SUBMITTED },
	{ "Question on the delivery failure of my proposal", AR_YES },
	{ "Out-of-pocket costs", AR_YES },
	/* Upper case, each first letter of the list, past prefixes. */
	{ "OUT OF OFFICE until Monday", AR_AUTO_SUBMITTED },
	{ "RE: FW: Risposta automatica", AR_AUTO_SUBMITTED },
	{ "MAIL DELIVERY FAILED: returning message to sender", AR_AUTO_SUBMITTED },
	{ "failure notice", AR_AUTO_SUBMITTED },
	{ "Warning: message 1abc delayed 24 hours", AR_AUTO_SUBMITTED },
	{ "Complaint about message from 192.0.2.1", AR_AUTO_SUBMITTED },
	{ "Message not delivered", AR_AUTO_SUBMITTED },
	{ "Non remis : votre demande", AR_AUTO_SUBMITTED },
	{ "  \tre:Unzustellbar: Ihre Anfrage", AR_AUTO_SUBMITTED },
	/* The members' languages: Outlook's "Undeliverable:" and "Automatic
	 * reply:", MTA and webmail texts. */
	{ "Onbestelbaar: uw vraag", AR_AUTO_SUBMITTED },
	{ "Non recapitabile: domanda", AR_AUTO_SUBMITTED },
	{ "No se puede entregar: consulta", AR_AUTO_SUBMITTED },
	{ "Nedoručitelné: dotaz", AR_AUTO_SUBMITTED },
	{ "NEDORUČITELNÉ: dotaz", AR_AUTO_SUBMITTED },
	{ "Automatisch antwoord: uw vraag", AR_AUTO_SUBMITTED },
	{ "Autosvar: Spørgsmål", AR_AUTO_SUBMITTED },
	{ "Automaattinen vastaus: kysymys", AR_AUTO_SUBMITTED },
	{ "Odpowiedź automatyczna: pytanie", AR_AUTO_SUBMITTED },
	{ "AW: Automatische Antwort: Ihre Anfrage", AR_AUTO_SUBMITTED },
	{ "Αυτόματη απάντηση: ερώτηση", AR_AUTO_SUBMITTED },
	{ "Автоматичен отговор: въпрос", AR_AUTO_SUBMITTED },
	{ "Kézbesíthetetlen: kérdés", AR_AUTO_SUBMITTED },
	{ "Teslim edilemedi: soru", AR_AUTO_SUBMITTED },
	{ "Undelivered Mail Returned to Sender", AR_AUTO_SUBMITTED },
	/* Weak phrases: a person may start an inquiry so; the parser wants a
	 * sender or structure signal beside them. */
	{ "Zwrot kosztów podróży", AR_YES },
	{ "Returned mail from our office", AR_YES },
	{ "Absence of a partner in the consortium", AR_YES },
	{ "Delivery status of my proposal", AR_YES },
	/* Close to one, but not it. */
	{ "Question about returned funds", AR_YES },
	{ "Unzustellbarkeit von Briefen", AR_YES },
	{ "Autoreplies in Outlook", AR_YES },
	{ "Non remise de documents", AR_YES },
	{ "Out of officer training funds", AR_YES },
	{ "", AR_YES },
	{ "[x] Auto reply: no", AR_YES },
	{ "Auto replies are annoying", AR_YES },
	{ "Failures of the call system", AR_YES },
};

static void
test_subjects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(subjects); i++) {
		struct message m;
		struct autoreply_ctx c = { .enabled = true, .desk_address = DESK };
		enum autoreply_reason got;

		memset(&m, 0, sizeof(m));
		m.from.addr = (char *)"ana@example.org";
		m.subject = (char *)subjects[i].subject;
		got = autoreply_decide(&m, &c);
		if (got != subjects[i].want)
			fail_msg("'%s': got '%s'", subjects[i].subject, autoreply_reason_str(got));
	}
}

/* The one answer to "is this the desk?" (deskaddr.h). */
static const struct {
	const char *addr;
	bool desk;
} desk_rows[] = {
	{ DESK, true },
	{ "Secretariat@ICPERMED.Example", true },
	{ "secretariat+ack@icpermed.example", true },
	{ "secretariat+@icpermed.example", true },
	{ "SECRETARIAT+X+Y@icpermed.example.", true },
	{ "secretariat@icpermed.example.", true },
	{ "office@icpermed.example", true },
	{ "office+notes@ICPERMED.EXAMPLE", true },
	{ "icpermed@dlr.example", true },
	{ "icpermed@dlr.example.", true },
	/* near misses */
	{ "secretariat2@icpermed.example", false },
	{ "secretaria@icpermed.example", false },
	{ "secretariat@icpermed.example.evil.org", false },
	{ "secretariat@evil.icpermed.example", false },
	{ "secretariat@icpermed.example..", false },
	{ "secretariat@icpermed.exampl", false },
	{ "secretariat-x@icpermed.example", false },
	{ "x+secretariat@icpermed.example", false },
	{ "+secretariat@icpermed.example", false },
	{ "secretariat@icpermed.example@evil.org", false },
	{ "\"secretariat@icpermed.example\"@evil.org", false },
	{ "secretariat", false },
	{ "@icpermed.example", false },
	{ "secretariat@", false },
	{ "", false },
	{ NULL, false },
};

static void
test_desk_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(desk_rows); i++)
		if (deskaddr_is_desk(desk_rows[i].addr, DESK, &aliases) != desk_rows[i].desk)
			fail_msg("'%s': want %s", desk_rows[i].addr ? desk_rows[i].addr : "(null)",
				 desk_rows[i].desk ? "the desk" : "not the desk");
	/* Without aliases only the address; without anything nothing. */
	assert_false(deskaddr_is_desk("office@icpermed.example", DESK, NULL));
	assert_false(deskaddr_is_desk(DESK, NULL, NULL));
}

static void
test_desk_alias_lists(void **state)
{
	static const struct {
		const char *list;
		size_t n;        /* addresses read; SIZE_MAX: refused */
		const char *bad; /* the entry named when refused */
	} rows[] = {
		{ "a@x.example", 1, NULL },
		{ "a@x.example,b@y.example", 2, NULL },
		{ " a@x.example ,\tb@y.example , ", 2, NULL },
		{ "a@x.example b@y.example", 2, NULL },
		{ ",,a@x.example,,", 1, NULL },
		{ "", 0, NULL },
		{ "a@x.example, not-an-address", SIZE_MAX, "not-an-address" },
		{ "a@x.example, <b@y.example>", SIZE_MAX, "<b@y.example>" },
		{ "a@@x.example", SIZE_MAX, "a@@x.example" },
		{ "@x.example", SIZE_MAX, "@x.example" },
		{ "a@", SIZE_MAX, "a@" },
		{ "a@x.example;b@y.example", SIZE_MAX, "a@x.example;b@y.example" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strlist l = STRLIST_INIT;
		const char *bad = NULL;
		size_t bad_len = 0;
		int rc = deskaddr_parse_list(rows[i].list, &l, &bad, &bad_len);

		if (rows[i].n == SIZE_MAX) {
			if (rc != -1 || l.n != 0 || strlen(rows[i].bad) != bad_len ||
			    strncmp(bad, rows[i].bad, bad_len) != 0)
				fail_msg("'%s': should be refused naming '%s'", rows[i].list,
					 rows[i].bad);
		} else if (rc != 0 || l.n != rows[i].n) {
			fail_msg("'%s': got %d, %zu addresses", rows[i].list, rc, l.n);
		}
		for (size_t k = 0; k < l.n; k++)
			assert_null(strpbrk(l.items[k], " ,\t"));
		strlist_release(&l);
	}
}

/* Subject phrases as the parser sees them: kind and strength. */
static const struct {
	const char *subject;
	enum bounce_subject kind;
	bool strong;
} phrase_rows[] = {
	{ "Returned mail: see transcript for details", BOUNCE_SUBJECT_FAILURE, true },
	{ "Undelivered Mail Returned to Sender", BOUNCE_SUBJECT_FAILURE, true },
	{ "Mail delivery failed: returning message to sender", BOUNCE_SUBJECT_FAILURE, true },
	{ "Delivery Status Notification (Failure)", BOUNCE_SUBJECT_FAILURE, true },
	{ "Non remis : Votre demande", BOUNCE_SUBJECT_FAILURE, true },        /* fr */
	{ "Unzustellbar: Ihre Anfrage", BOUNCE_SUBJECT_FAILURE, true },       /* de */
	{ "Onbestelbaar: uw vraag", BOUNCE_SUBJECT_FAILURE, true },           /* nl */
	{ "Non recapitabile: domanda", BOUNCE_SUBJECT_FAILURE, true },        /* it */
	{ "No se puede entregar: consulta", BOUNCE_SUBJECT_FAILURE, true },   /* es */
	{ "No es pot lliurar: consulta", BOUNCE_SUBJECT_FAILURE, true },      /* ca */
	{ "Não é possível entregar: pergunta", BOUNCE_SUBJECT_FAILURE, true }, /* pt */
	{ "Nedoručitelné: dotaz", BOUNCE_SUBJECT_FAILURE, true },            /* cs */
	{ "Nedoručiteľné: otázka", BOUNCE_SUBJECT_FAILURE, true },           /* sk */
	{ "Niedostarczalne: pytanie", BOUNCE_SUBJECT_FAILURE, true },        /* pl */
	{ "Kan ikke leveres: spørgsmål", BOUNCE_SUBJECT_FAILURE, true },     /* da, no */
	{ "Kan inte levereras: fråga", BOUNCE_SUBJECT_FAILURE, true },       /* sv */
	{ "Ei voitu toimittaa: kysymys", BOUNCE_SUBJECT_FAILURE, true },     /* fi */
	{ "Kohaletoimetamatu: küsimus", BOUNCE_SUBJECT_FAILURE, true },      /* et */
	{ "Nepristatoma: klausimas", BOUNCE_SUBJECT_FAILURE, true },         /* lt */
	{ "Nepiegādājams: jautājums", BOUNCE_SUBJECT_FAILURE, true },        /* lv */
	{ "Kézbesíthetetlen: kérdés", BOUNCE_SUBJECT_FAILURE, true },        /* hu */
	{ "Nelivrabil: întrebare", BOUNCE_SUBJECT_FAILURE, true },           /* ro */
	{ "Недоставимо: въпрос", BOUNCE_SUBJECT_FAILURE, true },             /* bg */
	{ "Ανεπίδοτο: ερώτηση", BOUNCE_SUBJECT_FAILURE, true },              /* el */
	{ "לא ניתן למסירה: שאלה", BOUNCE_SUBJECT_FAILURE, true },            /* he */
	{ "Neisporučivo: pitanje", BOUNCE_SUBJECT_FAILURE, true },           /* hr */
	{ "Ni mogoče dostaviti: vprašanje", BOUNCE_SUBJECT_FAILURE, true },  /* sl */
	{ "Teslim Edilemedi: soru", BOUNCE_SUBJECT_FAILURE, true },          /* tr */
	{ "Automatic reply: your question", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Abwesenheitsnotiz: Ihre Anfrage", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Réponse automatique : votre demande", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "RÉPONSE AUTOMATIQUE : votre demande", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Risposta automatica: domanda", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Respuesta automática: consulta", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Resposta automàtica: consulta", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Resposta automática: pergunta", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatisch antwoord: uw vraag", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Autosvar: spørsmål", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatiskt svar: fråga", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automaattinen vastaus: kysymys", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automaatvastus: küsimus", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatinis atsakymas: klausimas", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automātiskā atbilde: jautājums", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Odpowiedź automatyczna: pytanie", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatická odpověď: dotaz", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatická odpoveď: otázka", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Samodejni odgovor: vprašanje", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatski odgovor: pitanje", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Automatikus válasz: kérdés", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Răspuns automat: întrebare", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Автоматичен отговор: въпрос", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Αυτόματη απάντηση: ερώτηση", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "תשובה אוטומטית: שאלה", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Otomatik yanıt: soru", BOUNCE_SUBJECT_AUTOREPLY, true },
	/* past reply and forward prefixes of several languages */
	{ "AW: WG: Unzustellbar: x", BOUNCE_SUBJECT_FAILURE, true },
	{ "SV: Autosvar: x", BOUNCE_SUBJECT_AUTOREPLY, true },
	{ "Odp: Niedostarczalne: x", BOUNCE_SUBJECT_FAILURE, true },
	{ "  RE[2]: Fwd: Returned mail: x", BOUNCE_SUBJECT_FAILURE, true },
	/* weak: a signal must come with them */
	{ "Returned mail", BOUNCE_SUBJECT_FAILURE, false },
	{ "Zwrot", BOUNCE_SUBJECT_FAILURE, false },
	{ "Delivery Status", BOUNCE_SUBJECT_FAILURE, false },
	{ "Absence", BOUNCE_SUBJECT_AUTOREPLY, false },
	{ "Abwesenheit bis 3. Mai", BOUNCE_SUBJECT_AUTOREPLY, false },
	/* inquiries */
	{ "Question about returned funds", BOUNCE_SUBJECT_NONE, false },
	{ "Returned funds from the 2025 call", BOUNCE_SUBJECT_NONE, false },
	{ "Zwroty kosztów", BOUNCE_SUBJECT_NONE, false },
	{ "Unzustellbarkeit", BOUNCE_SUBJECT_NONE, false },
	{ "Autoreplying is not allowed?", BOUNCE_SUBJECT_NONE, false },
	{ "Re: the undeliverable part of our project", BOUNCE_SUBJECT_NONE, false },
	{ "[ICPerMed #12] Undeliverable", BOUNCE_SUBJECT_NONE, false },
	{ "Poissaolot", BOUNCE_SUBJECT_NONE, false },
	{ "Deliverable 3.1", BOUNCE_SUBJECT_NONE, false },
	{ "Nieobecności w projekcie", BOUNCE_SUBJECT_NONE, false },
	{ "", BOUNCE_SUBJECT_NONE, false },
	{ NULL, BOUNCE_SUBJECT_NONE, false },
	{ "\xff\xfe broken UTF-8", BOUNCE_SUBJECT_NONE, false },
	{ "Unzustellbar\xff", BOUNCE_SUBJECT_FAILURE, true },
};

static void
test_bounce_phrases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(phrase_rows); i++) {
		bool strong = !phrase_rows[i].strong;
		enum bounce_subject got = bounce_subject_kind(phrase_rows[i].subject, &strong);

		if (got != phrase_rows[i].kind || strong != phrase_rows[i].strong)
			fail_msg("'%s': got kind %d%s", phrase_rows[i].subject ? phrase_rows[i].subject
									: "(null)",
				 (int)got, strong ? " (strong)" : "");
	}
	/* A long chain of prefixes is read, up to the cap. */
	{
		struct buf_like {
			char s[4096];
		} b;
		size_t n = 0;

		while (n + 4 < 1000)
			n += (size_t)snprintf(b.s + n, sizeof(b.s) - n, "Re: ");
		snprintf(b.s + n, sizeof(b.s) - n, "Unzustellbar: x");
		assert_int_equal(bounce_subject_kind(b.s, NULL), BOUNCE_SUBJECT_FAILURE);
		memset(b.s, ' ', sizeof(b.s) - 1);
		b.s[sizeof(b.s) - 1] = '\0';
		memcpy(b.s + sizeof(b.s) - 20, "Unzustellbar", 12);
		assert_int_equal(bounce_subject_kind(b.s, NULL), BOUNCE_SUBJECT_NONE);
	}
}

static void
test_mailer_senders(void **state)
{
	static const struct {
		const char *addr, *name;
		bool mailer;
	} rows[] = {
		{ "MAILER-DAEMON@mx.example.org", "", true },
		{ "mailer-daemon@mx.example.org", NULL, true },
		{ "postmaster@example.org", "", true },
		{ "mailer@example.org", "", true },
		{ "mail-daemon@example.org", "", true },
		{ "ana@example.org", "Mail Delivery Subsystem", true },
		{ "ana@example.org", "Mail Delivery System", true },
		{ "ana@example.org", "\"mail delivery system\" ", true },
		{ "", "MAILER-DAEMON (Mail Delivery System)", true },
		/* people */
		{ "mailer.ana@example.org", "", false },
		{ "postmasters-club@example.org", "", false },
		{ "ana@mailer-daemon.example.org", "", false },
		{ "ana@example.org", "Mail Delivery Systems Ltd", false },
		{ "ana@example.org", "Postmaster General", false },
		{ "", "", false },
		{ NULL, NULL, false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (bounce_mailer_sender(rows[i].addr, rows[i].name) != rows[i].mailer)
			fail_msg("'%s' '%s': want %d", rows[i].addr ? rows[i].addr : "(null)",
				 rows[i].name ? rows[i].name : "(null)", rows[i].mailer);
}

static void
test_desk_copy(void **state)
{
	static const struct {
		const char *text;
		bool copy;
	} rows[] = {
		{ "The mail could not be delivered.\n\nMessage-ID: "
		  "<1788000000.0123456789abcdef01234567.secdesk@icpermed.example>\n", true },
		{ "> message-id: <1788000000.0123456789abcdef01234567.secdesk@icpermed.example>\n",
		  true },
		{ "From: secretariat@icpermed.example\nAuto-Submitted: auto-replied\n"
		  "X-Auto-Response-Suppress: All\n", true },
		{ ">  Auto-Submitted: auto-generated\r\n> X-Auto-Response-Suppress: All\r\n",
		  true },
		/* not a copy */
		{ "I read about 1788000000.0123456789abcdef01234567.secdesk@icpermed.example\n",
		  false },
		{ "Message-ID: <abc.secdesk@icpermed.example>\n", false },
		{ "Message-ID: <1788000000.0123456789abcdef0123456.secdesk@icpermed.example>\n",
		  false },
		{ "Auto-Submitted: auto-replied\nSubject: x\n", false },
		{ "Auto-Submitted: auto-replied", false },
		{ "text Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n", false },
		{ "", false },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (bounce_quotes_desk_mail(rows[i].text, strlen(rows[i].text)) != rows[i].copy)
			fail_msg("row %zu: want %d", i, rows[i].copy);
	assert_false(bounce_quotes_desk_mail(NULL, 0));
}

/* What outbound asks once the headers said yes: the store's counts alone,
 * in the order autoreply_decide checks them. */
static void
test_counts(void **state)
{
	struct autoreply_ctx c = { 0 };

	(void)state;
	assert_int_equal(autoreply_decide_counts(&c), AR_YES);
	c.hourly_limit = 2;
	c.hourly_recent = 2;
	assert_int_equal(autoreply_decide_counts(&c), AR_BREAKER);
	c.per_sender_limit = 1;
	c.sender_recent = 1;
	assert_int_equal(autoreply_decide_counts(&c), AR_RATE);
	c.already_acked = true;
	assert_int_equal(autoreply_decide_counts(&c), AR_ALREADY);
	c = (struct autoreply_ctx){ .sender_recent = 100, .hourly_recent = 100 };
	assert_int_equal(autoreply_decide_counts(&c), AR_YES); /* limits 0: off */
}

static void
test_disabled_and_names(void **state)
{
	struct message m;
	struct autoreply_ctx c = { 0 };

	(void)state;
	memset(&m, 0, sizeof(m));
	m.from.addr = (char *)"ana@example.org";
	assert_int_equal(autoreply_decide(&m, &c), AR_DISABLED);
	for (int r = AR_YES; r <= AR_BREAKER; r++)
		assert_string_not_equal(autoreply_reason_str((enum autoreply_reason)r), "unknown");
	assert_string_equal(autoreply_reason_str((enum autoreply_reason)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_disabled_and_names),
		cmocka_unit_test(test_desk_addresses),
		cmocka_unit_test(test_desk_alias_lists),
		cmocka_unit_test(test_bounce_phrases),
		cmocka_unit_test(test_mailer_senders),
		cmocka_unit_test(test_desk_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The RFC 3834 decision: a table of header sets and context, and the
 * answer expected for each. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autoreply.h"

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
	/* The first reason applies: a bounce from the desk is a bounce. */
	{ "bounce before desk", DESK, "", { { 0 } }, MSG_BOUNCE, { 0 }, AR_BOUNCE },
};

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
	/* Close to one, but not it. */
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

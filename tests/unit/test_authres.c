/* Authentication-Results (RFC 8601): a table of field values, each with the
 * DMARC verdict wanted for mx.icpermed.example and the From domain
 * example.org, values that must be rejected among them; then whole header
 * blocks, for which fields count. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "authres.h"

#define MX "mx.icpermed.example"
#define DOM "example.org"

static const struct {
	const char *value;
	enum authres_dmarc want;
} fields[] = {
	/* what MTAs write */
	{ MX "; dmarc=fail (p=reject dis=none) header.from=example.org", AUTHRES_DMARC_FAIL },
	{ MX "; dmarc=pass (p=none dis=none) header.from=example.org", AUTHRES_DMARC_PASS },
	{ MX "; dkim=pass header.d=example.org header.s=s1 header.b=Ab/c+d=;"
	     " dmarc=fail (policy=reject) header.from=example.org;"
	     " spf=fail (" MX ": domain of a@example.org does not designate 192.0.2.1 as"
	     " permitted sender) smtp.mailfrom=a@example.org",
	  AUTHRES_DMARC_FAIL },
	{ MX "; spf=pass smtp.mailfrom=example.org; dkim=pass header.i=@example.org",
	  AUTHRES_NO_DMARC },
	{ MX "; none", AUTHRES_NO_DMARC },
	{ MX " 1; dmarc=fail header.from=example.org", AUTHRES_DMARC_FAIL },
	{ MX ";dmarc=fail header.from=example.org;", AUTHRES_DMARC_FAIL },
	{ "MX.ICPerMed.Example.; DMARC=FAIL Header.From=EXAMPLE.ORG", AUTHRES_DMARC_FAIL },
	{ "\"" MX "\"; dmarc=fail header.from=\"example.org\"", AUTHRES_DMARC_FAIL },
	{ " (our MX) " MX " (v1) ; (c) dmarc (m) = (r) fail (x (nested)) header (p) . (q) from"
	  " (v) = (w) example.org (end)",
	  AUTHRES_DMARC_FAIL },
	{ MX "; dmarc/1=fail header.from=example.org", AUTHRES_DMARC_FAIL },
	{ MX "; dmarc=fail reason=\"p=reject; no alignment\" header.from=example.org",
	  AUTHRES_DMARC_FAIL },
	{ MX "; dmarc=fail header.from=someone@example.org", AUTHRES_DMARC_FAIL },
	/* the verdict for the From domain only */
	{ MX "; dmarc=fail header.from=example.net", AUTHRES_NO_DMARC },
	{ MX "; dmarc=fail header.from=sub.example.org", AUTHRES_NO_DMARC },
	{ MX "; dmarc=fail header.from=example.org.evil.example", AUTHRES_NO_DMARC },
	{ MX "; dmarc=fail", AUTHRES_DMARC_FAIL },
	{ MX "; dmarc=temperror header.from=example.org", AUTHRES_DMARC_OTHER },
	{ MX "; dmarc=none header.from=example.org", AUTHRES_DMARC_OTHER },
	{ MX "; dmarc=pass header.from=example.org; dmarc=fail header.from=example.org",
	  AUTHRES_DMARC_FAIL },
	{ MX "; dkim=fail header.d=example.org; spf=fail smtp.mailfrom=example.org",
	  AUTHRES_NO_DMARC },
	{ MX "; x-dmarc=fail header.from=example.org", AUTHRES_NO_DMARC },
	/* someone else's */
	{ "mx.elsewhere.example; dmarc=fail header.from=example.org", AUTHRES_NOT_OURS },
	{ "mx.icpermed.example.evil.example; dmarc=fail", AUTHRES_NOT_OURS },
	{ "icpermed.example; dmarc=fail", AUTHRES_NOT_OURS },
	{ "mx.elsewhere.example; none", AUTHRES_NOT_OURS },
	/* must be rejected */
	{ "", AUTHRES_INVALID },
	{ "   ", AUTHRES_INVALID },
	{ MX, AUTHRES_INVALID },
	{ MX ";", AUTHRES_INVALID },
	{ MX "; ;", AUTHRES_INVALID },
	{ MX " 2; dmarc=fail header.from=example.org", AUTHRES_INVALID },
	{ MX " junk; dmarc=fail", AUTHRES_INVALID },
	{ "; dmarc=fail header.from=example.org", AUTHRES_INVALID },
	{ "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.org; dmarc=fail",
	  AUTHRES_INVALID },
	{ MX "; dmarc", AUTHRES_INVALID },
	{ MX "; dmarc=", AUTHRES_INVALID },
	{ MX "; dmarc fail", AUTHRES_INVALID },
	{ MX "; =fail", AUTHRES_INVALID },
	{ MX "; dmarc=fail header.from", AUTHRES_INVALID },
	{ MX "; dmarc=fail header.from=", AUTHRES_INVALID },
	{ MX "; dmarc=fail header=example.org", AUTHRES_INVALID },
	{ MX "; dmarc=fail .from=example.org", AUTHRES_INVALID },
	{ MX "; dmarc=fail action=none header.from=example.org", AUTHRES_INVALID },
	{ MX "; dmarc=fail (unclosed header.from=example.org", AUTHRES_INVALID },
	{ MX "; dmarc=fail header.from=\"example.org", AUTHRES_INVALID },
	{ "\"" MX "; dmarc=fail", AUTHRES_INVALID },
	{ MX "; dmarc-=fail", AUTHRES_INVALID },
	{ MX "; dmarc=f\xc3\xa4il header.from=example.org", AUTHRES_INVALID },
	{ MX "; dmarc=fail header.from=ex\xc3\xa4mple.org", AUTHRES_INVALID },
	{ MX "; dmarc/=fail", AUTHRES_INVALID },
	{ MX "; none; dmarc=fail", AUTHRES_INVALID },
	{ MX "; dmarc=fail; none", AUTHRES_INVALID },
};

static void
test_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		enum authres_dmarc got = authres_dmarc_field(fields[i].value, MX, DOM);

		if (got != fields[i].want)
			fail_msg("'%s': got %s, want %s", fields[i].value, authres_dmarc_str(got),
				 authres_dmarc_str(fields[i].want));
	}
}

static void
test_from_domain_edges(void **state)
{
	(void)state;
	/* a mail without a From domain fails only where no domain is named */
	assert_int_equal(authres_dmarc_field(MX "; dmarc=fail header.from=example.org", MX, ""),
			 AUTHRES_NO_DMARC);
	assert_int_equal(authres_dmarc_field(MX "; dmarc=fail", MX, NULL), AUTHRES_DMARC_FAIL);
	assert_int_equal(authres_dmarc_field(MX "; dmarc=fail header.from=example.org", MX,
					     "EXAMPLE.org."),
			 AUTHRES_DMARC_FAIL);
	/* no trusted id: nothing is ours */
	assert_int_equal(authres_dmarc_field(MX "; dmarc=fail", "", DOM), AUTHRES_NOT_OURS);
	assert_int_equal(authres_dmarc_field(MX "; dmarc=fail", NULL, DOM), AUTHRES_NOT_OURS);
}

struct block_row {
	const char *what;
	const char *fields[6][2];
	enum authres_dmarc want;
};

#define AR "Authentication-Results"
#define RCVD { "Received", "from a by " MX }
#define FAIL_HERE { AR, MX "; dmarc=fail header.from=example.org" }
#define PASS_HERE { AR, MX "; dmarc=pass header.from=example.org" }

static const struct block_row blocks[] = {
	{ "none at all", { { "From", "a@example.org" } }, AUTHRES_NOT_OURS },
	{ "ours above the MX's Received", { FAIL_HERE, RCVD }, AUTHRES_DMARC_FAIL },
	{ "ours below the MX's Received", { RCVD, FAIL_HERE, { "From", "a@example.org" } },
	  AUTHRES_DMARC_FAIL },
	{ "two of ours, the second fails",
	  { { AR, MX "; spf=fail smtp.mailfrom=example.org" }, { "Received-SPF", "fail" },
	    FAIL_HERE, RCVD },
	  AUTHRES_DMARC_FAIL },
	{ "a forged pass below ours does not hide the fail",
	  { FAIL_HERE, PASS_HERE, RCVD }, AUTHRES_DMARC_FAIL },
	{ "a forged pass below the next Received is not read",
	  { FAIL_HERE, RCVD, PASS_HERE }, AUTHRES_DMARC_FAIL },
	{ "a forged fail below the next Received is not read",
	  { PASS_HERE, RCVD, FAIL_HERE }, AUTHRES_DMARC_PASS },
	{ "another host's fail above ours is not read",
	  { { AR, "mx.elsewhere.example; dmarc=fail header.from=example.org" }, PASS_HERE },
	  AUTHRES_DMARC_PASS },
	{ "another host's fail alone is not read",
	  { { AR, "mx.elsewhere.example; dmarc=fail header.from=example.org" }, RCVD },
	  AUTHRES_NOT_OURS },
	{ "an unreadable field of ours counts as no result",
	  { { AR, MX "; dmarc=fail header.from" }, RCVD, FAIL_HERE }, AUTHRES_NO_DMARC },
	{ "field names in any case",
	  { { "authentication-results", MX "; dmarc=fail" }, { "RECEIVED", "x" }, PASS_HERE },
	  AUTHRES_DMARC_FAIL },
};

static void
test_blocks(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++) {
		struct header h[6];
		size_t n = 0;
		enum authres_dmarc got;

		for (; n < 6 && blocks[i].fields[n][0]; n++) {
			h[n].name = (char *)blocks[i].fields[n][0];
			h[n].value = (char *)blocks[i].fields[n][1];
		}
		got = authres_dmarc_message(h, n, MX, DOM);
		if (got != blocks[i].want)
			fail_msg("%s: got %s, want %s", blocks[i].what, authres_dmarc_str(got),
				 authres_dmarc_str(blocks[i].want));
	}
}

static void
test_id_ok(void **state)
{
	static const struct {
		const char *id;
		bool ok;
	} ids[] = {
		{ "mx.icpermed.example", true }, { "MX-1.example", true }, { "a", true },
		{ "", false }, { "mx example", false }, { "mx;example", false },
		{ "mx@example", false }, { "\"mx\"", false }, { "mx/1", false },
		{ "m\xc3\xa4x.example", false }, { "mx\texample", false },
	};
	char longid[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (authres_id_ok(ids[i].id) != ids[i].ok)
			fail_msg("'%s': want %s", ids[i].id, ids[i].ok ? "ok" : "rejected");
	assert_false(authres_id_ok(NULL));
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_false(authres_id_ok(longid));
	longid[255] = '\0';
	assert_true(authres_id_ok(longid));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_from_domain_edges),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_id_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

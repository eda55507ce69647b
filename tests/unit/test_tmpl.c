/* The template engine: every construct, the header-injection guard, bad
 * templates reported with file:line, and the folder's fallbacks. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "lang.h"
#include "outbound.h"
#include "tmpl.h"
#include "xalloc.h"

static struct tmpl_ctx *
sample_ctx(void)
{
	struct tmpl_ctx *c = tmpl_ctx_new(), *it;

	tmpl_ctx_set(c, "name", "Ana");
	tmpl_ctx_set(c, "id", "42");
	tmpl_ctx_set(c, "empty", "");
	tmpl_ctx_set(c, "evil", "x\r\nBcc: victim@example.org");
	tmpl_ctx_set(c, "multi", "line one\nline two");
	it = tmpl_ctx_add(c, "people");
	tmpl_ctx_set(it, "who", "a@x");
	it = tmpl_ctx_add(c, "people");
	tmpl_ctx_set(it, "who", "b@x");
	tmpl_ctx_set(it, "name", "Bea");
	return c;
}

static char *
render_str(const char *text, const struct tmpl_ctx *c)
{
	struct tmpl *t = NULL;
	struct err e = ERR_INIT;
	struct buf out = BUF_INIT;

	if (tmpl_parse("t.txt", text, strlen(text), &t, &e) < 0)
		fail_msg("parse: %s", e.msg);
	if (tmpl_render(t, c, NULL, NULL, &out, &e) < 0)
		fail_msg("render: %s", e.msg);
	tmpl_free(&t);
	return buf_detach(&out, NULL);
}

static const struct {
	const char *tmpl;
	const char *want;
} good[] = {
	/* The body starts after the first empty line: "\n\n" opens each. */
	{ "\n\nHello {{name}}!", "\n\nHello Ana!" },
	{ "\n\n{{{name}}} {{&name}} {{ name }}", "\n\nAna Ana Ana" },
	{ "\n\n[{{missing}}]", "\n\n[]" },
	{ "\n\n{{#name}}yes{{/name}}{{#empty}}no{{/empty}}", "\n\nyes" },
	{ "\n\n{{^empty}}none{{/empty}}{{^name}}bad{{/name}}{{^missing}}!{{/missing}}",
	  "\n\nnone!" },
	{ "\n\n{{#people}}<{{who}}:{{name}}>{{/people}}", "\n\n<a@x:Ana><b@x:Bea>" },
	{ "\n\n{{^people}}none{{/people}}", "\n\n" },
	{ "\n\na{{! a comment }}b", "\n\nab" },
	/* Standalone tags take their line with them. */
	{ "\n\nA\n{{#name}}\nB\n{{/name}}\nC\n", "\n\nA\nB\nC\n" },
	{ "\n\nA\n  {{! note }}  \nC", "\n\nA\nC" },
	{ "\n\nA {{#name}}B{{/name}} C\n", "\n\nA B C\n" },
	/* In the body values go in verbatim. */
	{ "\n\n{{multi}}", "\n\nline one\nline two" },
	/* In the header part a value cannot break the line. */
	{ "Subject: {{evil}}\n\n{{evil}}",
	  "Subject: x  Bcc: victim@example.org\n\nx\r\nBcc: victim@example.org" },
	{ "Subject: {{multi}}\nX-Id: {{id}}\n\nbody", "Subject: line one line two\nX-Id: 42\n\nbody" },
};

static void
test_render_table(void **state)
{
	struct tmpl_ctx *c = sample_ctx();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char *got = render_str(good[i].tmpl, c);

		if (strcmp(got, good[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, good[i].want);
		free(got);
	}
	tmpl_ctx_free(&c);
	assert_null(c);
}

static const struct {
	const char *tmpl;
	const char *want; /* start of the error */
} bad[] = {
	{ "a\nb {{name", "t.txt:2: '{{' without a closing '}}'" },
	{ "x\n\n{{#a}}\nb\n", "t.txt:3: section 'a' is never closed" },
	{ "{{#a}}{{/b}}", "t.txt:1: '{{/b}}' where '{{/a}}' (opened on line 1) was expected" },
	{ "\n\n\n{{/a}}", "t.txt:4: '{{/a}}' closes no section" },
	{ "{{na me}}", "t.txt:1: 'na me' is not a name" },
	{ "{{}}", "t.txt:1: '' is not a name" },
	{ "{{=<% %>=}}", "t.txt:1: changing the delimiters is not supported" },
	{ "{{a\n}}", "t.txt:1: a tag must not span lines" },
	{ "{{{a}}", "t.txt:1: '{{' without a closing '}}}'" },
	{ "x\n{{! about {{text}} here }}", "t.txt:2: a comment must not hold '{{'" },
};

static void
test_bad_templates(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tmpl *t = NULL;
		struct err e = ERR_INIT;

		if (tmpl_parse("t.txt", bad[i].tmpl, strlen(bad[i].tmpl), &t, &e) != -1)
			fail_msg("case %zu: accepted", i);
		assert_null(t);
		assert_int_equal(e.code, EXIT_CONFIG);
		if (strncmp(e.msg, bad[i].want, strlen(bad[i].want)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, e.msg, bad[i].want);
	}
}

static void
test_output_cap(void **state)
{
	struct tmpl *t = NULL;
	struct err e = ERR_INIT;
	struct buf out;
	struct tmpl_ctx *c = tmpl_ctx_new();
	const char *text = "\n\n{{#l}}{{v}}{{/l}}";
	char *big = xmalloc(1024 * 1024 + 1);

	(void)state;
	memset(big, 'x', 1024 * 1024);
	big[1024 * 1024] = '\0';
	for (int i = 0; i < 5; i++)
		tmpl_ctx_set(tmpl_ctx_add(c, "l"), "v", big);
	assert_int_equal(tmpl_parse("t.txt", text, strlen(text), &t, &e), 0);
	buf_init(&out, 0);
	assert_int_equal(tmpl_render(t, c, NULL, NULL, &out, &e), -1);
	assert_int_equal(e.code, EXIT_DATAERR);
	buf_release(&out);
	tmpl_free(&t);
	tmpl_ctx_free(&c);
	free(big);
}

/* ---- the folder ---- */

static char tmpdir[] = "/tmp/secdesk-tmpl.XXXXXX";

/* Removes the folder tmpdir names, if one was made: 0, or -1. */
static int
remove_folder(void)
{
	char *cmd;
	int rc;

	if (strstr(tmpdir, "XXXXXX"))
		return 0;
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	rc = system(cmd) == 0 ? 0 : -1;
	free(cmd);
	return rc;
}

/* A fresh folder in tmpdir. The tests share the name, so the folder it
 * named before is no test's any more: it goes. */
static void
new_folder(void)
{
	assert_int_equal(remove_folder(), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(tmpdir));
}

static void
put(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	FILE *f;
	char *slash = strrchr(p, '/');

	*slash = '\0';
	mkdir(p, 0700);
	*slash = '/';
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static char *
render_found(const struct tmpl_set *set, const char *kind, const char *queue, const char *lang)
{
	const struct tmpl *t = tmpl_set_find(set, kind, queue, lang);
	struct tmpl_ctx *c = tmpl_ctx_new();
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;

	assert_non_null(t);
	tmpl_ctx_set(c, "id", "7");
	if (tmpl_set_render(set, t, c, &out, &e) < 0)
		fail_msg("%s", e.msg);
	tmpl_ctx_free(&c);
	return buf_detach(&out, NULL);
}

static void
test_folder(void **state)
{
	struct tmpl_set *set = NULL;
	struct err e = ERR_INIT;
	char *s;

	(void)state;
	new_folder();
	put("ack.en.txt", "Subject: ack {{id}}\n\nen\n{{> sig}}\n");
	put("ack.de.txt", "Subject: ack {{id}}\n\nde\n{{> sig}}\n");
	put("_sig.txt", "-- \nsig\n");
	put("_sig.de.txt", "-- \nGruss\n");
	put("DE/ack.de.txt", "Subject: DE {{id}}\n\nqueue de\n{{> sig}}\n");
	put("DE/_sig.txt", "-- \nDE sig\n");
	assert_int_equal(tmpl_set_load(tmpdir, NULL, &set, &e), 0);
	assert_int_equal(tmpl_set_count(set), 6);

	s = render_found(set, "ack", NULL, "en");
	assert_string_equal(s, "Subject: ack 7\n\nen\n-- \nsig\n");
	free(s);
	s = render_found(set, "ack", NULL, "de");
	assert_string_equal(s, "Subject: ack 7\n\nde\n-- \nGruss\n");
	free(s);
	/* Unknown language: English. Region and case do not matter. */
	s = render_found(set, "ack", NULL, "xx");
	assert_string_equal(s, "Subject: ack 7\n\nen\n-- \nsig\n");
	free(s);
	s = render_found(set, "ack", "FR", "DE-at");
	assert_string_equal(s, "Subject: ack 7\n\nde\n-- \nGruss\n");
	free(s);
	/* The queue's folder overrides, its partials first (language one
	 * before the general one in the top folder). */
	s = render_found(set, "ack", "DE", "de");
	assert_string_equal(s, "Subject: DE 7\n\nqueue de\n-- \nGruss\n");
	free(s);
	s = render_found(set, "ack", "DE", "en");
	assert_string_equal(s, "Subject: ack 7\n\nen\n-- \nsig\n");
	free(s);
	assert_null(tmpl_set_find(set, "partner", NULL, "en"));
	tmpl_set_free(&set);
	assert_null(set);
}

/* tmpl_set_uses: names in variables, sections and inverted sections, in
 * the partials a template includes (as rendering finds them), not in text
 * or comments. */
static void
test_uses(void **state)
{
	struct tmpl_set *set = NULL;
	struct err e = ERR_INIT;
	const struct tmpl *t;

	static const char *const files[] = { "ack.en.txt", "ack.de.txt", "ack.fr.txt",
					     "partner.en.txt", "_sig.txt", "_sig.fr.txt" };

	(void)state;
	/* A folder of its own: the other tests share theirs. */
	new_folder();
	put("ack.en.txt", "Subject: {{subject}}\n\n{{! body quoted }}body {{#id}}x{{/id}}\n"
	    "{{^lang}}-{{/lang}}\n{{> sig}}\n");
	put("ack.de.txt", "Subject: x\n\nno partial\n");
	put("partner.en.txt", "Subject: x\n\n{{#items}}{{quoted}}{{/items}}\n");
	put("_sig.txt", "-- \n{{desk}}\n");
	put("_sig.fr.txt", "-- \n{{body}}\n");
	put("ack.fr.txt", "Subject: x\n\n{{> sig}}\n");
	assert_int_equal(tmpl_set_load(tmpdir, NULL, &set, &e), 0);
	t = tmpl_set_find(set, "ack", NULL, "en");
	assert_true(tmpl_set_uses(set, t, "subject"));
	assert_true(tmpl_set_uses(set, t, "id"));
	assert_true(tmpl_set_uses(set, t, "lang"));
	assert_true(tmpl_set_uses(set, t, "desk"));    /* in the partial */
	assert_false(tmpl_set_uses(set, t, "body"));   /* text and comment only */
	assert_false(tmpl_set_uses(set, t, "quoted"));
	assert_false(tmpl_set_uses(set, tmpl_set_find(set, "ack", NULL, "de"), "desk"));
	assert_true(tmpl_set_uses(set, tmpl_set_find(set, "partner", NULL, "en"), "quoted"));
	/* The French ack's partial is the French signature. */
	t = tmpl_set_find(set, "ack", NULL, "fr");
	assert_true(tmpl_set_uses(set, t, "body"));
	assert_false(tmpl_set_uses(set, t, "desk"));
	tmpl_set_free(&set);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *f = xasprintf("%s/%s", tmpdir, files[i]);

		unlink(f);
		free(f);
	}
	rmdir(tmpdir);
}

static void
test_folder_lint(void **state)
{
	struct tmpl_set *set = NULL;
	struct err e = ERR_INIT;
	struct buf problems = BUF_INIT;
	static const char *const known[] = { "id", NULL };
	char *want;
	int n;

	(void)state;
	put("reply.en.txt", "Subject: {{id}}\nDate: now\nbroken line\n\n{{> nosuch}}{{idd}}\n");
	put("partner.en.txt", "X-Foo: bar\nbody without a blank line\n");
	put("notice.en.txt", "Subject: x\n\n{{#a}}\n");
	assert_int_equal(tmpl_set_check(tmpdir, known, &problems, &e), 8);
	want = xasprintf("%s/notice.en.txt:3: section 'a' is never closed (expected '{{/a}}')\n"
			 "%s/partner.en.txt:2: expected a header line 'Name: value' (or an "
			 "empty line before the body)\n"
			 "%s/partner.en.txt:1: no Subject header\n"
			 "%s/partner.en.txt:3: no empty line between the header lines and the "
			 "body\n"
			 "%s/reply.en.txt:2: header 'Date' is set by secdesk, not by templates\n"
			 "%s/reply.en.txt:3: expected a header line 'Name: value' (or an empty "
			 "line before the body)\n"
			 "%s/reply.en.txt:5: no partial 'nosuch' (expected a file _nosuch.txt)\n"
			 "%s/reply.en.txt:5: unknown variable 'idd'\n",
			 tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
	assert_string_equal(buf_cstr(&problems), want);
	/* Loading keeps the folder: each broken template is passed by, with
	 * its first problem, and the others work. */
	assert_int_equal(tmpl_set_load(tmpdir, known, &set, &e), 0);
	assert_non_null(set);
	assert_string_equal(tmpl_set_problems(set, &n), want);
	assert_int_equal(n, 8);
	{
		const struct tmpl *broken = NULL, *t;

		t = tmpl_set_find_checked(set, "notice", NULL, "en", &broken);
		assert_null(t);
		assert_non_null(broken);
		assert_non_null(strstr(tmpl_problem(broken),
				       "notice.en.txt:3: section 'a' is never closed"));
		t = tmpl_set_find_checked(set, "reply", NULL, "de", &broken);
		assert_null(t);
		assert_non_null(strstr(tmpl_problem(broken), "reply.en.txt:2: header 'Date'"));
		t = tmpl_set_find_checked(set, "ack", NULL, "de", &broken);
		assert_non_null(t);
		assert_null(broken);
		assert_null(tmpl_problem(t));
	}
	buf_release(&problems);
	free(want);
	tmpl_set_free(&set);
}

/* A broken template affects only the mail that uses it: the fallback
 * order passes it by (and says which one it passed), a template whose
 * partial is broken (directly or through another partial) is broken too,
 * and a folder that cannot be read stays an error. */
static void
test_broken_fallback(void **state)
{
	struct tmpl_set *set = NULL;
	struct err e = ERR_INIT;
	const struct tmpl *t, *broken;
	static const char *const known[] = { "id", NULL };
	char *s;
	int n;

	(void)state;
	new_folder();
	put("ack.en.txt", "Subject: ack {{id}}\n\nen\n{{> sig}}\n");
	put("ack.de.txt", "Subject: {{id}\n\nde\n");                   /* syntax */
	put("ack.fr.txt", "Subject: x\n\n{{subjet}}\n");                 /* unknown name */
	put("ack.it.txt", "Subject: x\n\nit\n{{> sig}}\n");              /* partial broken */
	put("ack.pl.txt", "Subject: x\n\npl\n{{> outer}}\n");            /* through another */
	put("ack.nl.txt", "Subject: x {{id}}\n\nnl\n{{> sig}}\n");       /* works */
	put("_sig.txt", "-- \nsig\n");
	put("_sig.it.txt", "-- \n{{#id}}\n");
	put("_outer.pl.txt", "{{> inner}}\n");
	put("_inner.pl.txt", "{{nosuch}}\n");
	put("_inner.txt", "fine\n");
	put("DE/ack.de.txt", "From: x\nSubject: x\n\nDE\n");           /* reserved header */
	assert_int_equal(tmpl_set_load(tmpdir, known, &set, &e), 0);
	(void)tmpl_set_problems(set, &n);
	assert_int_equal(n, 5);

	t = tmpl_set_find_checked(set, "ack", "DE", "de", &broken);
	assert_non_null(t);
	assert_string_equal(tmpl_lang(t), "en");
	assert_non_null(strstr(tmpl_problem(broken), "DE/ack.de.txt:1: header 'From'"));
	t = tmpl_set_find_checked(set, "ack", NULL, "de", &broken);
	assert_non_null(strstr(tmpl_problem(broken), "ack.de.txt:1: '{{' without a closing"));
	t = tmpl_set_find_checked(set, "ack", NULL, "fr", &broken);
	assert_non_null(strstr(tmpl_problem(broken), "ack.fr.txt:3: unknown variable 'subjet'"));
	t = tmpl_set_find_checked(set, "ack", NULL, "it", &broken);
	assert_string_equal(tmpl_lang(t), "en");
	assert_non_null(strstr(tmpl_problem(broken), "_sig.it.txt:2: section 'id' is never"));
	assert_non_null(strstr(tmpl_problem(broken), "the partial 'sig' of "));
	/* _outer.pl includes _inner.pl, which is broken: a partial of a
	 * partial. */
	t = tmpl_set_find_checked(set, "ack", NULL, "pl", &broken);
	assert_string_equal(tmpl_lang(t), "en");
	assert_non_null(broken);
	assert_non_null(strstr(tmpl_problem(broken), "_inner.pl.txt:1: unknown variable"));
	t = tmpl_set_find_checked(set, "ack", NULL, "nl", &broken);
	assert_string_equal(tmpl_lang(t), "nl");
	assert_null(broken);
	assert_true(tmpl_set_has(set, "ack", "nl"));
	assert_true(tmpl_set_has(set, "ack", "en"));
	assert_false(tmpl_set_has(set, "ack", "de"));
	assert_false(tmpl_set_has(set, "ack", "it"));
	assert_false(tmpl_set_has(set, "reply", "en"));
	s = render_found(set, "ack", NULL, "it");
	assert_string_equal(s, "Subject: ack 7\n\nen\n-- \nsig\n");
	free(s);

	/* English broken too: nothing works, the first broken one is told. */
	put("ack.en.txt", "Subject: ack\n\n{{> nosuch}}\n");
	tmpl_set_free(&set);
	assert_int_equal(tmpl_set_load(tmpdir, known, &set, &e), 0);
	assert_null(tmpl_set_find_checked(set, "ack", NULL, "de", &broken));
	assert_non_null(strstr(tmpl_problem(broken), "ack.de.txt"));
	assert_null(tmpl_set_find_checked(set, "ack", NULL, "en", &broken));
	assert_non_null(strstr(tmpl_problem(broken), "ack.en.txt:3: no partial 'nosuch'"));
	assert_non_null(tmpl_set_find(set, "ack", NULL, "nl"));
	tmpl_set_free(&set);

	/* No folder: a configuration error, as before. */
	assert_int_equal(tmpl_set_load("/nonexistent/templates", known, &set, &e), -1);
	assert_int_equal(e.code, EXIT_CONFIG);
	assert_null(set);
}

/* Values bound without a copy (owned, borrowed) render as copies do, and
 * the renderer says where a value first went in the body. */
static void
test_mark_and_bindings(void **state)
{
	struct tmpl_set *set = NULL;
	struct tmpl_ctx *c = tmpl_ctx_new(), *it;
	struct err e = ERR_INIT;
	struct buf out = BUF_INIT;
	char lent[] = "lent";
	size_t at;
	static const char *const files[] = { "partner.en.txt", "ack.en.txt", "_sig.txt" };

	(void)state;
	new_folder();
	put("partner.en.txt", "Subject: {{q}} {{x}}\n\nbefore {{x}}\n{{q}}|{{q}}\n{{> sig}}\n");
	put("ack.en.txt", "Subject: {{q}}\n\nno quote here {{x}}\n");
	put("_sig.txt", "-- {{q}}\n");
	assert_int_equal(tmpl_set_load(tmpdir, NULL, &set, &e), 0);

	/* Rebinding frees what it should, whatever the kind of the old value
	 * (the ASan and valgrind runs check it). */
	tmpl_ctx_set(c, "q", "copied");
	tmpl_ctx_set_borrowed(c, "q", lent);
	tmpl_ctx_set_owned(c, "q", xstrdup("Q\nQ"), 3);
	tmpl_ctx_set_borrowed(c, "x", "first");
	tmpl_ctx_set_borrowed(c, "x", lent);
	it = tmpl_ctx_add(c, "list");
	tmpl_ctx_set_borrowed(it, "y", lent);
	tmpl_ctx_set_borrowed(c, "list", lent);
	tmpl_ctx_add(c, "list");
	tmpl_ctx_set_owned(c, "list", xstrdup("o"), 1);
	assert_string_equal(tmpl_ctx_get(c, "q"), "Q\nQ");
	assert_ptr_equal(tmpl_ctx_get(c, "x"), lent);

	assert_int_equal(tmpl_set_render_mark(set, tmpl_set_find(set, "partner", NULL, NULL), c,
					      "q", &at, &out, &e), 0);
	assert_string_equal(out.data, "Subject: Q Q lent\n\nbefore lent\nQ\nQ|Q\nQ\n-- Q\nQ\n");
	/* The first in the body, not the one in the Subject. */
	assert_int_equal(at, strlen("Subject: Q Q lent\n\nbefore lent\n"));
	buf_reset(&out);
	assert_int_equal(tmpl_set_render_mark(set, tmpl_set_find(set, "partner", NULL, NULL), c,
					      "nosuch", &at, &out, &e), 0);
	assert_true(at == SIZE_MAX);
	buf_reset(&out);
	/* Only in the header part: not in the body. */
	assert_int_equal(tmpl_set_render_mark(set, tmpl_set_find(set, "ack", NULL, NULL), c, "q",
					      &at, &out, &e), 0);
	assert_string_equal(out.data, "Subject: Q Q\n\nno quote here lent\n");
	assert_true(at == SIZE_MAX);
	buf_reset(&out);
	/* Without a mark it renders the same. */
	assert_int_equal(tmpl_set_render(set, tmpl_set_find(set, "ack", NULL, NULL), c, &out, &e),
			 0);
	assert_string_equal(out.data, "Subject: Q Q\n\nno quote here lent\n");
	buf_release(&out);
	tmpl_ctx_free(&c);
	tmpl_set_free(&set);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *f = xasprintf("%s/%s", tmpdir, files[i]);

		unlink(f);
		free(f);
	}
	rmdir(tmpdir);
}

/* ---- the shipped templates ---- */

static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *p < 0xc2))
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* Every kind in every detected language (lang_codes) exists in templates/
 * and renders: the language's own file (no fallback, nothing broken),
 * every tag replaced, valid UTF-8, a Subject, the values where they
 * belong, with and without the requester's name. */
static void
test_shipped_languages(void **state)
{
	static const char *const kinds[] = { "ack", "reply", "partner" };
	const char *top = getenv("TOP");
	char *dir = xasprintf("%s/templates", top && *top ? top : ".");
	struct tmpl_set *set = NULL;
	struct err e = ERR_INIT;
	int nproblems = -1;

	(void)state;
	assert_int_equal(tmpl_set_load(dir, outbound_template_vars, &set, &e), 0);
	(void)tmpl_set_problems(set, &nproblems);
	assert_int_equal(nproblems, 0);
	for (size_t i = 0; lang_codes[i]; i++) {
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			const struct tmpl *broken = NULL;
			const struct tmpl *t = tmpl_set_find_checked(set, kinds[k], NULL,
								     lang_codes[i], &broken);

			assert_non_null(t);
			assert_null(broken);
			assert_string_equal(tmpl_lang(t), lang_codes[i]);
			for (int named = 0; named < 2; named++) {
				struct tmpl_ctx *c = tmpl_ctx_new();
				struct buf out = BUF_INIT;
				const char *o;

				for (size_t v = 0; outbound_template_vars[v]; v++)
					tmpl_ctx_set(c, outbound_template_vars[v], "V");
				tmpl_ctx_set(c, "id", "4711");
				tmpl_ctx_set(c, "ref", "[ICPerMed #4711]");
				tmpl_ctx_set(c, "requester_name", named ? "Ana Nowak" : "");
				tmpl_ctx_set(c, "text", "THE STAFF TEXT");
				tmpl_ctx_set(c, "quoted", "> THE QUOTE");
				tmpl_ctx_set(c, "desk_name", "ICPerMed Secretariat");
				/* Set by replies only: the quote below the signature, and
				 * the acting staff member's signature when configured. */
				tmpl_ctx_set(c, "quote_below", "");
				tmpl_ctx_set(c, "staff_name", "");
				tmpl_ctx_set(c, "staff_signature", "");
				if (tmpl_set_render(set, t, c, &out, &e) < 0)
					fail_msg("%s: %s", tmpl_file(t), e.msg);
				o = buf_cstr(&out);
				if (strstr(o, "{{") || strstr(o, "}}") || !utf8_valid(o) ||
				    strncmp(o, "Subject: ", 9) != 0 || !strstr(o, "\n\n") ||
				    !strstr(o, "[ICPerMed #4711]") ||
				    (strcmp(kinds[k], "reply") != 0 && !strstr(o, "4711\n") &&
				     !strstr(o, "#4711")) ||
				    (strcmp(kinds[k], "reply") == 0 &&
				     (!strstr(o, "THE STAFF TEXT") || !strstr(o, "> THE QUOTE"))) ||
				    (strcmp(kinds[k], "partner") == 0 && !strstr(o, "> THE QUOTE")) ||
				    (strcmp(kinds[k], "partner") != 0 &&
				     (strstr(o, "Ana Nowak") != NULL) != named) ||
				    !strstr(o, "-- \nICPerMed Secretariat\n"))
					fail_msg("%s (%s): %s", tmpl_file(t), named ? "named" : "no name", o);
				/* With the quote below it, the signature has no "-- ": mail
				 * clients would hide the quote with the signature. */
				tmpl_ctx_set(c, "quote_below", "yes");
				buf_reset(&out);
				if (tmpl_set_render(set, t, c, &out, &e) < 0 ||
				    strstr(buf_cstr(&out), "\n-- \n") ||
				    !strstr(buf_cstr(&out), "\nICPerMed Secretariat\n"))
					fail_msg("%s: '-- ' above the quote", tmpl_file(t));
				buf_release(&out);
				tmpl_ctx_free(&c);
			}
		}
	}
	tmpl_set_free(&set);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_folder),
		cmocka_unit_test(test_folder_lint),
		cmocka_unit_test(test_broken_fallback),
		cmocka_unit_test(test_shipped_languages),
		cmocka_unit_test(test_uses),
		cmocka_unit_test(test_mark_and_bindings),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	if (remove_folder() < 0)
		rc = 1;
	return rc;
}

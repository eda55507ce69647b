/* secdesk templates check: lints the template folder (file:line), and names
 * the languages the desk detects that have no template of their own. */
#include "compat.h"

#include "buf.h"
#include "cli.h"
#include "lang.h"
#include "outbound.h"
#include "tmpl.h"

int cmd_templates(int argc, char **argv, struct cli_ctx *ctx);

/* The detected languages without a working KIND.LANG.txt, into out
 * (English, the fallback, is a problem of its own when missing). */
static int
missing_languages(const struct tmpl_set *set, const char *kind, struct buf *out)
{
	int n = 0;

	for (size_t i = 0; lang_codes[i]; i++)
		if (strcmp(lang_codes[i], "en") != 0 && !tmpl_set_has(set, kind, lang_codes[i])) {
			buf_addf(out, "%s%s", n ? ", " : "", lang_codes[i]);
			n++;
		}
	return n;
}

/* Languages are a note, not a problem: their mail is sent in English. */
static void
report_languages(const struct tmpl_set *set, const char *dir)
{
	static const char *const kinds[] = { "ack", "reply", "partner" };

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct buf langs = BUF_INIT;

		if (missing_languages(set, kinds[k], &langs) > 0)
			cli_error("%s: no %s template for the detected language(s) %s: they get "
				  "English (%s.en.txt)", dir, kinds[k], buf_cstr(&langs), kinds[k]);
		buf_release(&langs);
	}
}

int
cmd_templates(int argc, char **argv, struct cli_ctx *ctx)
{
	struct tmpl_set *set = NULL;
	struct err e = ERR_INIT;
	const char *dir = ctx->cfg->templates.dir;
	int n;

	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return cli_usage(argv[0]);
	if (tmpl_set_load(dir, outbound_template_vars, &set, &e) < 0)
		return cli_fail(&e);
	for (const char *p = tmpl_set_problems(set, &n); *p;) {
		const char *eol = strchr(p, '\n');
		int l = eol ? (int)(eol - p) : (int)strlen(p);

		cli_error("%.*s", l, p);
		p += l + (eol ? 1 : 0);
	}
	report_languages(set, dir);
	tmpl_set_free(&set);
	if (n > 0) {
		cli_error("%d problem%s in the templates: the mail that uses a broken template is "
			  "sent with the English one, or held in the outbox until it is fixed",
			  n, n == 1 ? "" : "s");
		return EXIT_CONFIG;
	}
	if (ctx->verbosity >= 0)
		printf("templates in %s: no problems\n", dir);
	return EXIT_OK;
}

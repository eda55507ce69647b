/* secdesk templates check: lints the template folder (file:line). */
#include "compat.h"

#include "buf.h"
#include "cli.h"
#include "outbound.h"
#include "tmpl.h"

int cmd_templates(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_templates(int argc, char **argv, struct cli_ctx *ctx)
{
	struct buf problems = BUF_INIT;
	struct err e = ERR_INIT;
	int n;

	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return cli_usage(argv[0]);
	n = tmpl_set_check(ctx->cfg->templates.dir, outbound_template_vars, &problems, &e);
	if (n < 0 || (n == 0 && e.code)) {
		buf_release(&problems);
		return cli_fail(&e);
	}
	for (const char *p = buf_cstr(&problems); *p;) {
		const char *eol = strchr(p, '\n');
		int l = eol ? (int)(eol - p) : (int)strlen(p);

		cli_error("%.*s", l, p);
		p += l + (eol ? 1 : 0);
	}
	buf_release(&problems);
	if (n > 0) {
		cli_error("%d problem%s in the templates", n, n == 1 ? "" : "s");
		return EXIT_CONFIG;
	}
	if (ctx->verbosity >= 0)
		printf("templates in %s: no problems\n", ctx->cfg->templates.dir);
	return EXIT_OK;
}

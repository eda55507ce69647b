/* secdesk db init | check */
#include "compat.h"

#include "cli.h"
#include "store.h"

int cmd_db(int argc, char **argv, struct cli_ctx *ctx);

int
cmd_db(int argc, char **argv, struct cli_ctx *ctx)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	int rc = EXIT_OK;

	if (argc != 2)
		return cli_usage(argv[0]);
	if (strcmp(argv[1], "init") == 0) {
		if (store_open(ctx->cfg->store.path, STORE_CREATE, &s, &e) < 0)
			return cli_fail(&e);
		printf("store %s: schema version %d\n", ctx->cfg->store.path,
		       store_file_version(s));
	} else if (strcmp(argv[1], "check") == 0) {
		if (store_open(ctx->cfg->store.path, 0, &s, &e) < 0)
			return cli_fail(&e);
		if (store_check(s, &e) < 0)
			rc = cli_fail(&e);
		else
			printf("store %s: ok, schema version %d\n", ctx->cfg->store.path,
			       store_file_version(s));
	} else {
		return cli_usage(argv[0]);
	}
	store_close(&s);
	return rc;
}

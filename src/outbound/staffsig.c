/* How the acting member of staff signs a reply ([staff "USER"] in the
 * configuration, outbound_int.h): their name and signature as template
 * variables, which the signature partial prefers to the desk's. */
#include "compat.h"

#include <errno.h>

#include "fdio.h"
#include "outbound_int.h"
#include "xalloc.h"

/* A signature file is a few lines: more is a mistake, not a signature. */
#define SIGNATURE_MAX (16 * 1024)

static int
read_signature(const struct config_staff *st, char **out, struct err *e)
{
	struct buf b;

	buf_init(&b, SIGNATURE_MAX);
	if (file_read_all(st->signature_file, &b) < 0) {
		int en = errno;

		buf_release(&b);
		return err_set(e, EXIT_CONFIG, "[staff \"%s\"] signature_file: cannot read '%s': %s",
			       st->user, st->signature_file,
			       en == EFBIG ? "longer than 16 KiB" : strerror(en));
	}
	/* Its last line end is the template's to give. */
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.len--;
	*out = xstrndup(b.data ? b.data : "", b.len);
	buf_release(&b);
	return 0;
}

int
staff_vars(const struct config *cfg, const char *who, struct tmpl_ctx *ctx, struct err *e)
{
	const struct config_staff *st = config_staff_find(cfg, who);
	char *sig = NULL;

	if (!st)
		return 0;
	if (st->signature_file && read_signature(st, &sig, e) < 0)
		return -1;
	if (st->name)
		tmpl_ctx_set(ctx, "staff_name", st->name);
	if (sig || st->signature)
		tmpl_ctx_set(ctx, "staff_signature", sig ? sig : st->signature);
	free(sig);
	return 0;
}

/* The table of transports and the calls that dispatch to them. */
#include "compat.h"

#include "send.h"
#include "xalloc.h"

struct transport {
	const struct transport_ops *ops;
	void *state;
};

static const struct transport_ops *const transports[] = {
	&send_dir_ops,
	&send_sendmail_ops,
	&send_smtp_ops,
	&send_smtps_ops,
};

const struct transport_ops *
send_find(const char *url)
{
	for (size_t i = 0; i < ARRAY_SIZE(transports); i++) {
		size_t l = strlen(transports[i]->prefix);

		if (strncmp(url, transports[i]->prefix, l) == 0)
			return transports[i];
	}
	return NULL;
}

int
send_open(const struct config *cfg, struct transport **out, struct err *e)
{
	const char *url = cfg->send.conn.url ? cfg->send.conn.url : "";
	const struct transport_ops *ops = send_find(url);
	void *state = NULL;

	*out = NULL;
	if (!ops)
		return err_set(e, EXIT_CONFIG,
			       "[send] url '%s': unknown transport (expected smtp://, smtps://, "
			       "sendmail:PATH or dir:PATH)", url);
	if (ops->open(cfg, url + strlen(ops->prefix), &state, e) < 0)
		return -1;
	*out = xcalloc(1, sizeof(**out));
	(*out)->ops = ops;
	(*out)->state = state;
	return 0;
}

enum send_status
send_deliver(struct transport *t, const struct send_mail *m, struct err *e)
{
	return t->ops->deliver(t->state, m, e);
}

bool
send_resend_replaces(const struct transport *t)
{
	return t->ops->resend_replaces;
}

int
send_sync(struct transport *t, struct err *e)
{
	return t->ops->sync ? t->ops->sync(t->state, e) : 0;
}

void
send_close(struct transport **tp)
{
	struct transport *t = *tp;

	if (!t)
		return;
	t->ops->close(t->state);
	free(t);
	*tp = NULL;
}

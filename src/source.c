/* The table of mail sources, by URL scheme. */
#include "compat.h"

#include "source.h"

extern const struct source_ops source_maildir_ops;
extern const struct source_ops source_imaps_ops;
extern const struct source_ops source_imap_ops;
extern const struct source_ops source_pop3s_ops;
extern const struct source_ops source_pop3_ops;
extern const struct source_ops source_mbox_ops;

static const struct source_ops *const sources[] = {
	&source_maildir_ops,
	&source_imaps_ops,
	&source_imap_ops,
	&source_pop3s_ops,
	&source_pop3_ops,
	&source_mbox_ops,
};

const struct source_ops *
source_find(const char *url)
{
	const char *colon = strchr(url, ':');
	size_t n;

	if (!colon)
		return NULL;
	n = (size_t)(colon - url);
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++)
		if (strlen(sources[i]->scheme) == n && strncmp(sources[i]->scheme, url, n) == 0)
			return sources[i];
	return NULL;
}

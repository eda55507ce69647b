/* Address fields through libetpan (addresses.h). */
#include "compat.h"

#include <ctype.h>
#include <libetpan/libetpan.h>

#include "addresses.h"
#include "ascii.h"
#include "charset.h"
#include "rfc2047.h"
#include "xalloc.h"

void
addr_fields_init(struct addr_fields *af)
{
	buf_init(&af->block, ADDR_FIELDS_MAX + 16);
}

void
addr_fields_release(struct addr_fields *af)
{
	buf_release(&af->block);
}

bool
addr_is_field(const char *name, size_t nlen)
{
	return ascii_eq_ci(name, nlen, "from") || ascii_eq_ci(name, nlen, "sender") ||
	       ascii_eq_ci(name, nlen, "reply-to") || ascii_eq_ci(name, nlen, "to") ||
	       ascii_eq_ci(name, nlen, "cc");
}

void
addr_fields_add(struct addr_fields *af, const char *name, size_t nlen, const char *v, size_t vlen)
{
	if (!addr_is_field(name, nlen) || af->block.len + nlen + vlen + 4 > ADDR_FIELDS_MAX)
		return;
	buf_add(&af->block, name, nlen);
	buf_addstr(&af->block, ": ");
	buf_add(&af->block, v, vlen);
	buf_addstr(&af->block, "\r\n");
}

static void
set_address(struct address *a, const char *name, const char *addr)
{
	free(a->name);
	free(a->addr);
	a->name = rfc2047_decode(name ? name : "", name ? strlen(name) : 0);
	a->addr = charset_clean(addr ? addr : "", addr ? strlen(addr) : 0);
	/* An address holds no spaces or line breaks. */
	for (char *s = a->addr; *s; s++)
		if (*s == '\n' || *s == '\t')
			*s = ' ';
}

static void
address_release(struct address *a)
{
	free(a->name);
	free(a->addr);
}

static void
add_mailbox(struct address **arr, size_t *n, const struct mailimf_mailbox *mb)
{
	struct address *a;

	*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
	a = &(*arr)[(*n)++];
	a->name = NULL;
	a->addr = NULL;
	set_address(a, mb->mb_display_name, mb->mb_addr_spec);
}

static void
add_mailbox_list(struct address **arr, size_t *n, const struct mailimf_mailbox_list *l)
{
	for (clistiter *it = l ? clist_begin(l->mb_list) : NULL; it; it = clist_next(it))
		add_mailbox(arr, n, clist_content(it));
}

/* The mailboxes of an address list, those of groups included. */
static void
add_address_list(struct address **arr, size_t *n, const struct mailimf_address_list *l)
{
	for (clistiter *it = l ? clist_begin(l->ad_list) : NULL; it; it = clist_next(it)) {
		struct mailimf_address *ad = clist_content(it);

		if (ad->ad_type == MAILIMF_ADDRESS_MAILBOX)
			add_mailbox(arr, n, ad->ad_data.ad_mailbox);
		else if (ad->ad_data.ad_group)
			add_mailbox_list(arr, n, ad->ad_data.ad_group->grp_mb_list);
	}
}

static void
set_first_mailbox(struct address *a, const struct mailimf_mailbox_list *l)
{
	if (!*a->addr && l && clist_begin(l->mb_list)) {
		struct mailimf_mailbox *mb = clist_content(clist_begin(l->mb_list));

		set_address(a, mb->mb_display_name, mb->mb_addr_spec);
	}
}

/* Reply-To: the first mailbox of its list, groups included. */
static void
set_first_address(struct address *a, const struct mailimf_address_list *l)
{
	struct address *tmp = NULL;
	size_t n = 0;

	add_address_list(&tmp, &n, l);
	if (n && !*a->addr) {
		address_release(a);
		*a = tmp[0];
		tmp[0].name = tmp[0].addr = NULL;
	}
	for (size_t i = 0; i < n; i++)
		address_release(&tmp[i]);
	free(tmp);
}

static void
read_field(struct message *m, const struct mailimf_field *fl)
{
	switch (fl->fld_type) {
	case MAILIMF_FIELD_FROM:
		set_first_mailbox(&m->from, fl->fld_data.fld_from->frm_mb_list);
		break;
	case MAILIMF_FIELD_SENDER:
		if (fl->fld_data.fld_sender->snd_mb && !*m->sender.addr)
			set_address(&m->sender, fl->fld_data.fld_sender->snd_mb->mb_display_name,
				    fl->fld_data.fld_sender->snd_mb->mb_addr_spec);
		break;
	case MAILIMF_FIELD_TO:
		add_address_list(&m->to, &m->nto, fl->fld_data.fld_to->to_addr_list);
		break;
	case MAILIMF_FIELD_CC:
		add_address_list(&m->cc, &m->ncc, fl->fld_data.fld_cc->cc_addr_list);
		break;
	case MAILIMF_FIELD_REPLY_TO:
		set_first_address(&m->reply_to, fl->fld_data.fld_reply_to->rt_addr_list);
		break;
	default:
		break;
	}
}

/* A From that libetpan could not read ("Name <addr" or "addr (Name)" or
 * junk): the bracketed address, else the first word with an @, else
 * nothing; the rest as the name. */
static void
from_fallback(struct address *a, const char *v)
{
	const char *lt = strrchr(v, '<');
	char *name = NULL, *addr = NULL;

	if (lt) {
		size_t n = strcspn(lt + 1, ">");

		addr = xstrndup(lt + 1, n);
		name = xstrndup(v, (size_t)(lt - v));
	} else {
		const char *at = strchr(v, '@');

		if (at) {
			const char *s = at, *e = at;

			while (s > v && !isspace((unsigned char)s[-1]) && s[-1] != ',' && s[-1] != ';')
				s--;
			while (*e && !isspace((unsigned char)*e) && *e != ',' && *e != ';')
				e++;
			addr = xstrndup(s, (size_t)(e - s));
			name = xstrdup("");
		}
	}
	if (addr) {
		/* Trim the name of spaces and quotes. */
		char *s = name, *e = name + strlen(name);

		while (*s == ' ' || *s == '"' || *s == '\t')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '"' || e[-1] == '\t'))
			e--;
		*e = '\0';
		for (char *q = addr; *q; q++)
			if (isspace((unsigned char)*q))
				*q = '\0';
		set_address(a, s, addr);
	}
	free(name);
	free(addr);
}

bool
addr_fields_read(struct addr_fields *af, struct message *m, const char *raw_from)
{
	struct mailimf_fields *f = NULL;
	size_t idx = 0;

	if (af->block.len == 0)
		return false;
	buf_addstr(&af->block, "\r\n");
	if (mailimf_fields_parse(af->block.data, af->block.len, &idx, &f) != MAILIMF_NO_ERROR)
		f = NULL;
	for (clistiter *it = f ? clist_begin(f->fld_list) : NULL; it; it = clist_next(it))
		read_field(m, clist_content(it));
	if (f)
		mailimf_fields_free(f);
	/* libetpan accepts some junk as an address ("a b <c@d" gives
	 * "ab<c@d"): such a From is read again leniently. */
	if (*m->from.addr && strpbrk(m->from.addr, "<> ,;")) {
		free(m->from.addr);
		m->from.addr = xstrdup("");
	}
	if (*m->from.addr || !raw_from)
		return false;
	from_fallback(&m->from, raw_from);
	return *m->from.addr != '\0';
}

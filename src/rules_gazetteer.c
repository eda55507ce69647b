/* rules_gazetteer.c - the members' institutions as data: the *.gazetteer
 * files of the rules folder, one entry a line,
 *
 *	MEMBER KIND VALUE
 *
 * MEMBER a declared queue; KIND domain (an institution's mail domain and
 * its subdomains), tld (a country's domain suffix), webmail (a free mail
 * domain: never evidence; MEMBER "-"), name (an institution's or
 * funder's name, any case) or acronym (its acronym, this case); VALUE the
 * rest of the line. The rules read them through the fields
 * from.institution, from.country, subject.institution and
 * body.institution (see secdesk-rules(5)). */
#include "compat.h"

#include "buf.h"
#include "rules_int.h"
#include "xalloc.h"

enum gaz_kind { GAZ_DOMAIN, GAZ_TLD, GAZ_WEBMAIL };

struct gaz_domain {
	char *domain; /* lowercase */
	const char *member; /* a queue's id (owned by the ruleset), NULL for webmail */
	enum gaz_kind kind;
};

struct gaz_member {
	const char *member;
	struct buf names;    /* the pattern's alternatives, caseless */
	struct buf acronyms; /* ... and case-sensitive */
	pcre2_code *re;
};

struct gazetteer {
	struct gaz_domain *domains;
	size_t ndomains;
	struct gaz_member *members;
	size_t nmembers;
};

static void
quote_into(struct buf *b, const char *s, size_t len)
{
	if (b->len)
		buf_addch(b, '|');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9')))
			buf_addch(b, '\\');
		buf_addch(b, (char)c);
	}
}

static struct gaz_member *
gaz_member(struct gazetteer *g, const char *member)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (g->members[i].member == member)
			return &g->members[i];
	g->members = xreallocarray(g->members, g->nmembers + 1, sizeof(*g->members));
	memset(&g->members[g->nmembers], 0, sizeof(*g->members));
	g->members[g->nmembers].member = member;
	buf_init(&g->members[g->nmembers].names, 1024 * 1024);
	buf_init(&g->members[g->nmembers].acronyms, 1024 * 1024);
	return &g->members[g->nmembers++];
}

/* The next blank-separated word of *p (moved past it), its length in *len. */
static const char *
next_word(const char **p, size_t *len)
{
	const char *s = *p + strspn(*p, " \t");

	*len = strcspn(s, " \t");
	*p = s + *len;
	return s;
}

static int
parse_line(const struct ruleset *rs, struct gazetteer *g, const char *line, size_t n,
	   const char *path, int lineno, struct strlist *errs)
{
	char *copy = xstrndup(line, n), *hash = strchr(copy, '#');
	const char *p = copy, *member_w, *kind_w, *value;
	size_t mlen, klen, vlen;
	const char *member = NULL;
	int rc = 0;

	if (hash)
		*hash = '\0';
	member_w = next_word(&p, &mlen);
	if (mlen == 0)
		goto out;
	kind_w = next_word(&p, &klen);
	value = p + strspn(p, " \t");
	vlen = strlen(value);
	while (vlen && strchr(" \t\r", value[vlen - 1]))
		vlen--;
	if (klen == 0 || vlen == 0) {
		strlist_add_owned(errs, xasprintf("%s:%d:1: expected MEMBER KIND VALUE (kind domain, "
						  "tld, webmail, name or acronym)",
						  path, lineno));
		rc = -1;
		goto out;
	}
	if (!(mlen == 1 && member_w[0] == '-')) {
		char *id = xstrndup(member_w, mlen);
		const struct queue *q = rules_queue(rs, id);

		free(id);
		if (!q) {
			strlist_add_owned(errs, xasprintf("%s:%d:1: unknown member '%.*s' (expected a "
							  "declared queue, or - for webmail)",
							  path, lineno, (int)mlen, member_w));
			rc = -1;
			goto out;
		}
		member = q->id;
	}
#define KIND_IS(w) (klen == strlen(w) && strncmp(kind_w, w, klen) == 0)
	if (KIND_IS("domain") || KIND_IS("tld") || KIND_IS("webmail")) {
		struct gaz_domain *d;

		g->domains = xreallocarray(g->domains, g->ndomains + 1, sizeof(*g->domains));
		d = &g->domains[g->ndomains++];
		d->domain = xstrndup(value, vlen);
		for (char *c = d->domain; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		d->kind = KIND_IS("domain") ? GAZ_DOMAIN : KIND_IS("tld") ? GAZ_TLD : GAZ_WEBMAIL;
		d->member = d->kind == GAZ_WEBMAIL ? NULL : member;
	} else if ((KIND_IS("name") || KIND_IS("acronym")) && member) {
		struct gaz_member *m = gaz_member(g, member);

		quote_into(KIND_IS("name") ? &m->names : &m->acronyms, value, vlen);
	} else {
		strlist_add_owned(errs, xasprintf("%s:%d:%d: unknown kind '%.*s' (expected domain, "
						  "tld, webmail, name or acronym%s)",
						  path, lineno, (int)(kind_w - copy) + 1, (int)klen,
						  kind_w, member ? "" : "; a name needs a member"));
		rc = -1;
	}
#undef KIND_IS
out:
	free(copy);
	return rc;
}

static void
compile_members(struct gazetteer *g, struct strlist *errs, const char *path)
{
	for (size_t i = 0; i < g->nmembers; i++) {
		struct gaz_member *m = &g->members[i];
		char *src = xasprintf("(?<!\\w)(?:%s%s%s%s%s)(?!\\w)", m->names.len ? "(?i:" : "",
				      m->names.len ? buf_cstr(&m->names) : "", m->names.len ? ")" : "",
				      m->names.len && m->acronyms.len ? "|" : "",
				      m->acronyms.len ? buf_cstr(&m->acronyms) : "");
		int errcode;
		PCRE2_SIZE off;

		m->re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
				      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode, &off,
				      NULL);
		if (!m->re) {
			char msg[160];

			pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, sizeof(msg));
			strlist_add_owned(errs, xasprintf("%s: the names of '%s': %s", path, m->member,
							  msg));
		} else {
			pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE);
		}
		free(src);
		buf_release(&m->names);
		buf_release(&m->acronyms);
	}
}

static void
parse_gazetteer(const struct ruleset *rs, struct gazetteer *g, const char *path, const char *data,
		size_t len, struct strlist *errs)
{
	int lineno = 0;

	for (size_t at = 0; at < len;) {
		const char *nl = memchr(data + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - data - at) : len - at;

		lineno++;
		parse_line(rs, g, data + at, n, path, lineno, errs);
		at += n + 1;
	}
}

void
rules_gazetteer_add(struct ruleset *rs, const char *path, const char *data, size_t len,
		    struct strlist *errs)
{
	if (!rs->gaz)
		rs->gaz = xcalloc(1, sizeof(*rs->gaz));
	parse_gazetteer(rs, rs->gaz, path, data, len, errs);
}

static int
domain_cmp(const void *a, const void *b)
{
	const struct gaz_domain *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c ? c : (int)x->kind - (int)y->kind;
}

void
rules_gazetteer_finish(struct ruleset *rs, struct strlist *errs)
{
	if (!rs->gaz)
		return;
	if (rs->gaz->ndomains)
		qsort(rs->gaz->domains, rs->gaz->ndomains, sizeof(*rs->gaz->domains), domain_cmp);
	compile_members(rs->gaz, errs, "gazetteer");
}

void
rules_gazetteer_free(struct gazetteer *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->ndomains; i++)
		free(g->domains[i].domain);
	free(g->domains);
	for (size_t i = 0; i < g->nmembers; i++) {
		pcre2_code_free(g->members[i].re);
		buf_release(&g->members[i].names);
		buf_release(&g->members[i].acronyms);
	}
	free(g->members);
	free(g);
}

/* The first entry of exactly domain d (sorted: an institution's before a
 * webmail's before a country's), NULL for none. */
static const struct gaz_domain *
domain_find(const struct gazetteer *g, const char *d)
{
	size_t lo = 0, hi = g->ndomains;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(g->domains[mid].domain, d) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->ndomains && strcmp(g->domains[lo].domain, d) == 0 ? &g->domains[lo] : NULL;
}

/* The entry of domain or of its closest parent, NULL for none. */
static const struct gaz_domain *
domain_entry(const struct gazetteer *g, const char *domain)
{
	for (const char *d = domain; *d;) {
		const struct gaz_domain *hit = domain_find(g, d);
		const char *dot;

		if (hit)
			return hit;
		dot = strchr(d, '.');
		if (!dot)
			break;
		d = dot + 1;
	}
	return NULL;
}

const char *
rules_gazetteer_domain(const struct ruleset *rs, const char *domain, bool country)
{
	const struct gaz_domain *d;

	if (!rs->gaz || !*domain)
		return NULL;
	d = domain_entry(rs->gaz, domain);
	if (!d || d->kind == GAZ_WEBMAIL)
		return NULL;
	return (d->kind == GAZ_TLD) == country ? d->member : NULL;
}

size_t
rules_gazetteer_text(const struct ruleset *rs, const char *s, size_t len, const char **out,
		     size_t max)
{
	pcre2_match_data *md;
	size_t n = 0;

	if (!rs->gaz || !rs->gaz->nmembers)
		return 0;
	md = pcre2_match_data_create(1, NULL);
	for (size_t i = 0; i < rs->gaz->nmembers && n < max; i++) {
		const struct gaz_member *m = &rs->gaz->members[i];

		if (m->re && pcre2_match(m->re, (PCRE2_SPTR)s, len, 0, 0, md, rs->mctx) >= 0)
			out[n++] = m->member;
	}
	pcre2_match_data_free(md);
	return n;
}

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

#include <strings.h>

#include "buf.h"
#include "rules_int.h"
#include "utf8.h"
#include "xalloc.h"

enum gaz_kind { GAZ_DOMAIN, GAZ_TLD, GAZ_WEBMAIL };

struct gaz_domain {
	size_t domain; /* lowercase, at this offset in the gazetteer's text */
	const char *member; /* a queue's id (owned by the ruleset), NULL for webmail */
	enum gaz_kind kind;
};

/* A name or an acronym, found as whole words: names folded (ASCII and
 * two-byte Latin letters lowercased) and compared folded, acronyms as
 * they are. Indexed by the hash of their first word, so that a text is
 * read once, whatever the number of names. */
struct gaz_name {
	char *text;
	size_t len;
	const char *member;
	bool caseless;
};

struct gaz_key {
	uint32_t hash; /* of the first word (folded for a name) */
	uint32_t name;
};

#define GAZ_BITS 65536
/* The bits of the sketch of a name's first word (word_sketch()). */
#define GAZ_SKETCH_BITS 32768

struct gazetteer {
	struct gaz_domain *domains;
	size_t ndomains, capdomains;
	struct buf text; /* the domains, each after the other with its NUL */
	/* the domains by hash (open addressing): index + 1, 0 for none; for
	 * a domain listed more than once, its entry of the first kind
	 * (enum gaz_kind order), the first listed of that kind */
	uint32_t *slots;
	size_t nslots;
	struct gaz_name *names;
	size_t nnames;
	struct gaz_key *keys; /* one per name, sorted by hash */
	uint64_t key_bits[GAZ_BITS / 64]; /* bit hash % GAZ_BITS of every key: a
					     quick no for most words of a text */
	/* bit word_sketch() of every name's first word: a no for most words
	 * of a text before their hash is taken */
	uint64_t sketch_bits[GAZ_SKETCH_BITS / 64];
	bool no_sketch; /* every word hashed (the reference for the tests) */
	const struct queue *last_member; /* while reading: the last line's */
};

/* A byte of a word: ASCII letters, digits and '_' (as \w: a name is then
 * found only where the prefilter's word boundaries allow), and every byte
 * of a multibyte character. */
static inline bool
word_byte(unsigned char c)
{
	return (unsigned)((c | 0x20) - 'a') < 26u || (unsigned)(c - '0') < 10u || c == '_' ||
	       c >= 0x80;
}

/* A byte of a word as the sketch sees it: ASCII without its case, every
 * byte beyond ASCII alike (folding keeps a letter beyond ASCII there). */
static inline unsigned
sketch_byte(unsigned char c)
{
	return c >= 0x80 ? 0 : (c | 0x20) & 31u;
}

/* Of the word of wlen bytes (1 or more) at w: its length, first and last
 * byte; the same for a word and its fold. */
static inline unsigned
word_sketch(const unsigned char *w, size_t wlen)
{
	return (unsigned)(wlen < 31 ? wlen : 31) | sketch_byte(w[0]) << 5 |
	       sketch_byte(w[wlen - 1]) << 10;
}

static inline void
fold_step(const unsigned char *s, size_t len, size_t *i, unsigned char out[2], size_t *n)
{
	unsigned char c = s[*i];

	if (c < 0x80) {
		out[0] = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
		*n = 1;
		(*i)++;
		return;
	}
	if (utf8_decode(s + *i, len - *i, NULL) == 2) {
		out[0] = c;
		out[1] = s[*i + 1];
		rules_latin_fold(&out[0], &out[1]);
		*n = 2;
		*i += 2;
		return;
	}
	out[0] = c;
	*n = 1;
	(*i)++;
}

#define GAZ_HASH_INIT 2166136261u

/* The hash (FNV-1a) of the word at s (len bytes readable), folded or as it
 * is; *wlen gets its bytes. */
static uint32_t
first_word_hash(const char *s, size_t len, bool fold, size_t *wlen)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t h = GAZ_HASH_INIT;
	size_t i = 0;

	while (i < len && word_byte(u[i])) {
		unsigned char b[2];
		size_t n = 1;

		if (u[i] < 0x80) {
			/* ASCII, most of the text: no fold_step() */
			unsigned char c = u[i++];

			h = (h ^ (fold && c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
			continue;
		}
		if (fold)
			fold_step(u, len, &i, b, &n);
		else
			b[0] = u[i++];
		for (size_t k = 0; k < n; k++)
			h = (h ^ b[k]) * 16777619u;
	}
	*wlen = i;
	return h;
}

static void
name_add(struct gazetteer *g, const char *member, const char *value, size_t vlen, bool caseless)
{
	struct gaz_name *nm;

	g->names = xreallocarray(g->names, g->nnames + 1, sizeof(*g->names));
	nm = &g->names[g->nnames++];
	nm->caseless = caseless;
	nm->member = member;
	nm->text = xstrndup(value, vlen);
	nm->len = vlen;
	if (caseless) {
		unsigned char *u = (unsigned char *)nm->text;

		for (size_t i = 0; i < vlen;) {
			unsigned char b[2];
			size_t at = i, n;

			fold_step(u, vlen, &i, b, &n);
			memcpy(u + at, b, n);
		}
	}
}

/* One line of a gazetteer file, cut into its three parts (not copied). */
struct gaz_line {
	const char *member, *kind, *value;
	size_t mlen, klen, vlen;
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated word of line[*at .. n-1] (*at moved past it). */
static const char *
next_word(const char *line, size_t n, size_t *at, size_t *len)
{
	size_t i = *at, start;

	while (i < n && blank(line[i]))
		i++;
	start = i;
	while (i < n && !blank(line[i]))
		i++;
	*at = i;
	*len = i - start;
	return line + start;
}

/* Cuts line (n bytes, up to a '#') into l; false for a line of nothing. */
static bool
split_line(const char *line, size_t n, struct gaz_line *l)
{
	const char *hash = memchr(line, '#', n);
	size_t at = 0;

	if (hash)
		n = (size_t)(hash - line);
	l->member = next_word(line, n, &at, &l->mlen);
	if (l->mlen == 0)
		return false;
	l->kind = next_word(line, n, &at, &l->klen);
	while (at < n && blank(line[at]))
		at++;
	l->value = line + at;
	l->vlen = n - at;
	while (l->vlen && blank(l->value[l->vlen - 1]))
		l->vlen--;
	return true;
}

static bool
kind_is(const struct gaz_line *l, const char *kind)
{
	return l->klen == strlen(kind) && memcmp(l->kind, kind, l->klen) == 0;
}

static void
domain_add(struct gazetteer *g, const struct gaz_line *l, const char *member)
{
	struct gaz_domain *d;

	if (g->ndomains == g->capdomains) {
		g->capdomains = g->capdomains ? 2 * g->capdomains : 256;
		g->domains = xreallocarray(g->domains, g->capdomains, sizeof(*g->domains));
	}
	d = &g->domains[g->ndomains++];
	/* one text for all (thousands of domains, not as many mallocs) */
	d->domain = g->text.len;
	buf_add(&g->text, l->value, l->vlen);
	buf_addch(&g->text, '\0');
	for (char *c = g->text.data + d->domain; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	d->kind = kind_is(l, "domain") ? GAZ_DOMAIN : kind_is(l, "tld") ? GAZ_TLD : GAZ_WEBMAIL;
	d->member = d->kind == GAZ_WEBMAIL ? NULL : member;
}

/* The queue id of the line's member (NULL for "-"); -1 when none is declared. */
static int
line_member(const struct ruleset *rs, struct gazetteer *g, const struct gaz_line *l,
	    const char **member)
{
	char id[64];
	const struct queue *q;

	*member = NULL;
	if (l->mlen == 1 && l->member[0] == '-')
		return 0;
	if (l->mlen >= sizeof(id))
		return -1;
	memcpy(id, l->member, l->mlen);
	id[l->mlen] = '\0';
	/* the lines of one member follow each other: its queue is looked up once */
	q = g->last_member && strcasecmp(g->last_member->id, id) == 0 ? g->last_member
								       : rules_queue(rs, id);
	if (!q)
		return -1;
	g->last_member = q;
	*member = q->id;
	return 0;
}

static int
parse_line(const struct ruleset *rs, struct gazetteer *g, const char *line, size_t n,
	   const char *path, int lineno, struct strlist *errs)
{
	struct gaz_line l;
	const char *member;

	if (!split_line(line, n, &l))
		return 0;
	if (l.klen == 0 || l.vlen == 0) {
		strlist_add_owned(errs, xasprintf("%s:%d:1: expected MEMBER KIND VALUE (kind domain, "
						  "tld, webmail, name or acronym)",
						  path, lineno));
		return -1;
	}
	if (line_member(rs, g, &l, &member) < 0) {
		strlist_add_owned(errs, xasprintf("%s:%d:1: unknown member '%.*s' (expected a "
						  "declared queue, or - for webmail)",
						  path, lineno, (int)l.mlen, l.member));
		return -1;
	}
	if (kind_is(&l, "domain") || kind_is(&l, "tld") || kind_is(&l, "webmail")) {
		domain_add(g, &l, member);
	} else if ((kind_is(&l, "name") || kind_is(&l, "acronym")) && member) {
		name_add(g, member, l.value, l.vlen, kind_is(&l, "name"));
	} else {
		strlist_add_owned(errs, xasprintf("%s:%d:%d: unknown kind '%.*s' (expected domain, "
						  "tld, webmail, name or acronym%s)",
						  path, lineno, (int)(l.kind - line) + 1, (int)l.klen,
						  l.kind, member ? "" : "; a name needs a member"));
		return -1;
	}
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct gaz_key *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static void
index_names(struct gazetteer *g)
{
	free(g->keys);
	g->keys = xcalloc(g->nnames + 1, sizeof(*g->keys));
	for (size_t i = 0; i < g->nnames; i++) {
		size_t wl;

		/* every name by its folded first word (a name is stored folded;
		 * an acronym is compared as it is once found) */
		unsigned sk;

		g->keys[i].hash = first_word_hash(g->names[i].text, g->names[i].len, true, &wl);
		g->keys[i].name = (uint32_t)i;
		g->key_bits[g->keys[i].hash % GAZ_BITS / 64] |= 1ull << (g->keys[i].hash % 64);
		if (wl == 0)
			continue;
		sk = word_sketch((const unsigned char *)g->names[i].text, wl);
		g->sketch_bits[sk / 64] |= 1ull << (sk % 64);
	}
	qsort(g->keys, g->nnames, sizeof(*g->keys), key_cmp);
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
	if (!rs->gaz) {
		rs->gaz = xcalloc(1, sizeof(*rs->gaz));
		buf_init(&rs->gaz->text, SIZE_MAX / 4);
	}
	parse_gazetteer(rs, rs->gaz, path, data, len, errs);
}

static uint32_t
domain_hash(const char *d)
{
	uint32_t h = GAZ_HASH_INIT;

	for (; *d; d++)
		h = (h ^ (unsigned char)*d) * 16777619u;
	return h;
}

/* The slot of domain d: its entry's, or the empty one where it would go. */
static size_t
domain_slot(const struct gazetteer *g, const char *d)
{
	size_t mask = g->nslots - 1, i = domain_hash(d) & mask;

	while (g->slots[i] && strcmp(g->text.data + g->domains[g->slots[i] - 1].domain, d) != 0)
		i = (i + 1) & mask;
	return i;
}

/* The hash table of the domains (half full at most). */
static void
index_domains(struct gazetteer *g)
{
	free(g->slots);
	g->nslots = 16;
	while (g->nslots < 2 * g->ndomains)
		g->nslots *= 2;
	g->slots = xcalloc(g->nslots, sizeof(*g->slots));
	for (size_t i = 0; i < g->ndomains; i++) {
		size_t k = domain_slot(g, g->text.data + g->domains[i].domain);

		if (!g->slots[k] || g->domains[i].kind < g->domains[g->slots[k] - 1].kind)
			g->slots[k] = (uint32_t)(i + 1);
	}
}

void
rules_gazetteer_finish(struct ruleset *rs, struct strlist *errs)
{
	if (!rs->gaz)
		return;
	(void)errs;
	index_domains(rs->gaz);
	index_names(rs->gaz);
}

void
rules_gazetteer_free(struct gazetteer *g)
{
	if (!g)
		return;
	buf_release(&g->text);
	free(g->domains);
	free(g->slots);
	for (size_t i = 0; i < g->nnames; i++)
		free(g->names[i].text);
	free(g->names);
	free(g->keys);
	free(g);
}

int
rules_gazetteer_lits(const struct ruleset *rs, unsigned hay, struct litset *lits)
{
	const struct gazetteer *g = rs->gaz;

	if (!g || !g->nnames)
		return -1;
	for (size_t i = 0; i < g->nnames; i++) {
		const struct gaz_name *nm = &g->names[i];
		unsigned char *lower;

		if (nm->len < 3) {
			litset_release(lits);
			return -1;
		}
		if (nm->caseless) {
			litset_push(lits, nm->text, NULL, nm->len, LIT_WB_LEFT | LIT_WB_RIGHT, hay);
			continue;
		}
		/* an acronym: confirmed as written, indexed folded */
		lower = (unsigned char *)xstrndup(nm->text, nm->len);
		for (size_t k = 0; k < nm->len;) {
			unsigned char b[2];
			size_t at = k, nb;

			fold_step(lower, nm->len, &k, b, &nb);
			memcpy(lower + at, b, nb);
		}
		litset_push(lits, (const char *)lower, nm->text, nm->len, LIT_WB_LEFT | LIT_WB_RIGHT,
			    hay);
		free(lower);
	}
	return 0;
}

void
rules_gazetteer_sketch_disable(struct gazetteer *g)
{
	if (g)
		g->no_sketch = true;
}

/* The entry of exactly domain d, NULL for none. */
static const struct gaz_domain *
domain_find(const struct gazetteer *g, const char *d)
{
	size_t k = domain_slot(g, d);

	return g->slots[k] ? &g->domains[g->slots[k] - 1] : NULL;
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

/* Whether name is at s (len bytes readable), followed by no word byte. */
static bool
name_at(const struct gaz_name *name, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;

	if (!name->caseless) {
		if (len < name->len || memcmp(s, name->text, name->len) != 0)
			return false;
		return len == name->len || !word_byte(u[name->len]);
	}
	while (k < name->len && i < len) {
		unsigned char b[2];
		size_t n;

		fold_step(u, len, &i, b, &n);
		if (k + n > name->len || (unsigned char)name->text[k] != b[0] ||
		    (n == 2 && (unsigned char)name->text[k + 1] != b[1]))
			return false;
		k += n;
	}
	return k == name->len && (i == len || !word_byte(u[i]));
}

/* Adds to out (each once, at most max) the members of the names of the
 * given first-word hash that start at s. */
static void
names_at(const struct gazetteer *g, const char *s, size_t len, uint32_t hash, const char **out,
	 size_t *n, size_t max)
{
	size_t lo = 0, hi = g->nnames;

	if (!(g->key_bits[hash % GAZ_BITS / 64] & (1ull << (hash % 64))))
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->keys[mid].hash < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < g->nnames && g->keys[lo].hash == hash; lo++) {
		const struct gaz_name *name = &g->names[g->keys[lo].name];
		size_t k;

		if (!name_at(name, s, len))
			continue;
		for (k = 0; k < *n && out[k] != name->member; k++)
			;
		if (k == *n && *n < max)
			out[(*n)++] = name->member;
	}
}

size_t
rules_gazetteer_text(const struct ruleset *rs, const char *s, size_t len, const char **out,
		     size_t max)
{
	const struct gazetteer *g = rs->gaz;
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	if (!g || !g->nnames)
		return 0;
	/* word to word: a word whose sketch is some name's first word's is
	 * hashed (folded) and looked up; without the sketch (no_sketch),
	 * every word */
	for (size_t i = 0; i < len;) {
		size_t start = i, wl;
		unsigned sk;

		if (!word_byte(u[i])) {
			i++;
			continue;
		}
		while (i < len && word_byte(u[i]))
			i++;
		sk = word_sketch(u + start, i - start);
		if (g->no_sketch || (g->sketch_bits[sk / 64] & (1ull << (sk % 64))))
			names_at(g, s + start, len - start,
				 first_word_hash(s + start, i - start, true, &wl), out, &n, max);
	}
	return n;
}

/* The body's lines where a writer names an institution: the opening (who
 * writes, from where) and the closing (the signature), not what is
 * quoted from another mail. */
#define GAZ_BODY_HEAD 2048
#define GAZ_BODY_TAIL 2048

/* Adds to out (each once, at most max) the members that the line at s
 * (len bytes) names, unless it is quoted. */
static size_t
line_names(const struct ruleset *rs, const char *s, size_t len, const char **out, size_t n,
	   size_t max)
{
	const char *found[64];
	size_t lead = strspn(s, " \t"), k;

	if (lead < len && s[lead] == '>')
		return n;
	k = rules_gazetteer_text(rs, s, len, found, ARRAY_SIZE(found));
	for (size_t i = 0; i < k; i++) {
		size_t j;

		for (j = 0; j < n && out[j] != found[i]; j++)
			;
		if (j == n && n < max)
			out[n++] = found[i];
	}
	return n;
}

size_t
rules_gazetteer_body(const struct ruleset *rs, const char *s, size_t len, const char **out,
		     size_t max)
{
	size_t n = 0, at = 0, tail = len > GAZ_BODY_TAIL ? len - GAZ_BODY_TAIL : 0;

	if (!rs->gaz || !rs->gaz->nnames)
		return 0;
	while (at < len) {
		const char *nl;
		size_t line;

		/* past the opening: on at the line that reaches into the
		 * closing (the lines between are not read at all) */
		if (at >= GAZ_BODY_HEAD && at < tail) {
			const char *before = memrchr(s + at, '\n', tail - at);

			at = before ? (size_t)(before - s) + 1 : at;
		}
		nl = memchr(s + at, '\n', len - at);
		line = nl ? (size_t)(nl - s - at) + 1 : len - at;
		if (at < GAZ_BODY_HEAD || at + line > tail)
			n = line_names(rs, s + at, line, out, n, max);
		at += line;
	}
	return n;
}

/* The template engine: a Mustache subset (tmpl.h) and the template folder. */
#include "compat.h"

#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>

#include "tmpl.h"
#include "xalloc.h"

/* ---- values ---- */

struct tmpl_entry {
	char *name;
	char *value;              /* NULL for a list */
	size_t vlen;              /* strlen(value) */
	bool borrowed;            /* value belongs to the caller */
	struct tmpl_ctx **items;
	size_t nitems;
};

struct tmpl_ctx {
	struct tmpl_entry *e;
	size_t n;
	size_t cap;
};

struct tmpl_ctx *
tmpl_ctx_new(void)
{
	return xcalloc(1, sizeof(struct tmpl_ctx));
}

void
tmpl_ctx_free(struct tmpl_ctx **cp)
{
	struct tmpl_ctx *c = *cp;

	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].name);
		if (!c->e[i].borrowed)
			free(c->e[i].value);
		for (size_t j = 0; j < c->e[i].nitems; j++)
			tmpl_ctx_free(&c->e[i].items[j]);
		free(c->e[i].items);
	}
	free(c->e);
	free(c);
	*cp = NULL;
}

static struct tmpl_entry *
ctx_entry(struct tmpl_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].name, name) == 0)
			return &c->e[i];
	/* A mail's context has some twenty values: grown in steps, not one
	 * reallocation per value. */
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 24;
		c->e = xreallocarray(c->e, c->cap, sizeof(*c->e));
	}
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
	c->e[c->n].name = xstrdup(name);
	return &c->e[c->n++];
}

const char *
tmpl_ctx_get(const struct tmpl_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].name, name) == 0)
			return c->e[i].value;
	return NULL;
}

/* The entry for name, emptied of its list and value, for a new value. */
static struct tmpl_entry *
ctx_entry_clear(struct tmpl_ctx *c, const char *name)
{
	struct tmpl_entry *en = ctx_entry(c, name);

	for (size_t j = 0; j < en->nitems; j++)
		tmpl_ctx_free(&en->items[j]);
	free(en->items);
	en->items = NULL;
	en->nitems = 0;
	if (!en->borrowed)
		free(en->value);
	en->value = NULL;
	en->borrowed = false;
	return en;
}

void
tmpl_ctx_set(struct tmpl_ctx *c, const char *name, const char *value)
{
	struct tmpl_entry *en = ctx_entry_clear(c, name);

	en->vlen = value ? strlen(value) : 0;
	en->value = xmalloc(en->vlen + 1);
	memcpy(en->value, value ? value : "", en->vlen);
	en->value[en->vlen] = '\0';
}

void
tmpl_ctx_set_owned(struct tmpl_ctx *c, const char *name, char *value, size_t len)
{
	struct tmpl_entry *en = ctx_entry_clear(c, name);

	en->value = value;
	en->vlen = len;
}

void
tmpl_ctx_set_borrowed(struct tmpl_ctx *c, const char *name, const char *value)
{
	struct tmpl_entry *en = ctx_entry_clear(c, name);

	en->value = (char *)(uintptr_t)(value ? value : "");
	en->vlen = strlen(en->value);
	en->borrowed = true;
}

struct tmpl_ctx *
tmpl_ctx_add(struct tmpl_ctx *c, const char *name)
{
	struct tmpl_entry *en = ctx_entry(c, name);

	if (!en->borrowed)
		free(en->value);
	en->value = NULL;
	en->borrowed = false;
	en->items = xreallocarray(en->items, en->nitems + 1, sizeof(*en->items));
	en->items[en->nitems] = tmpl_ctx_new();
	return en->items[en->nitems++];
}

/* ---- parsing ---- */

enum node_type { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL };

struct node {
	enum node_type type;
	char *s;       /* the text, or the name */
	size_t len;    /* of the text */
	int line;
	struct node *kids;
	size_t nkids;
};

struct tmpl {
	char *file;
	char *key;     /* "ack.en", "DE/ack.de", "_signature" */
	char *queue;   /* "" at the top */
	char *lang;    /* "" when the name has none */
	char *text;    /* the source, kept for linting */
	size_t text_len;
	/* Its first problem ("file:line: what"), NULL when it has none: a
	 * template with a problem is never rendered (tmpl_set_find passes
	 * it by). */
	char *problem;
	struct node root;
};

static void
node_release(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_release(&n->kids[i]);
	free(n->kids);
	free(n->s);
}

static struct node *
node_add(struct node *parent, enum node_type type, const char *s, size_t len, int line)
{
	struct node *n;

	parent->kids = xreallocarray(parent->kids, parent->nkids + 1, sizeof(*parent->kids));
	n = &parent->kids[parent->nkids++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->s = xstrndup(s, len);
	n->len = len;
	n->line = line;
	return n;
}

static int
line_at(const char *text, const char *p)
{
	int line = 1;

	for (const char *q = text; q < p; q++)
		if (*q == '\n')
			line++;
	return line;
}

static bool
name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The stack of open sections while parsing: indexes into the tree are
 * unstable (realloc), so the path is kept as child indexes from the root. */
struct pstate {
	const char *file;
	const char *text;
	struct node *root;
	size_t path[TMPL_MAX_DEPTH];
	int depth;
};

static struct node *
pcur(struct pstate *ps)
{
	struct node *n = ps->root;

	for (int i = 0; i < ps->depth; i++)
		n = &n->kids[ps->path[i]];
	return n;
}

/* One {{tag}} as read: where it stands (the whole line when it stands
 * alone on it), its sigil ('#', '^', '/', '!', '>', '{' or 0 for a
 * variable) and its name, trimmed. */
struct tag {
	const char *start, *after;
	const char *name, *name_end;
	char sigil;
	int line;
};

/* Reads the tag whose "{{" is at p; -1 with e set when it is malformed. */
static int
read_tag(const struct pstate *ps, const char *p, struct tag *tg, struct err *e)
{
	const char *close = "}}", *end;

	tg->start = p;
	tg->line = line_at(ps->text, p);
	tg->sigil = p[2];
	tg->name = p + 2;
	if (tg->sigil == '{') {
		close = "}}}";
		tg->name++;
	} else if (strchr("&#^/!>=", tg->sigil) && tg->sigil) {
		tg->name++;
	} else {
		tg->sigil = 0;
	}
	end = strstr(tg->name, close);
	if (!end)
		return err_set(e, EXIT_CONFIG, "%s:%d: '{{' without a closing '%s'", ps->file,
			       tg->line, close);
	/* A comment ends at its first '}}': one that names a tag would leave
	 * the rest of itself in the mail. */
	if (tg->sigil == '!' && memmem(tg->name, (size_t)(end - tg->name), "{{", 2))
		return err_set(e, EXIT_CONFIG, "%s:%d: a comment must not hold '{{' (it ends at "
			       "the first '}}')", ps->file, tg->line);
	if (tg->sigil != '!' && memchr(tg->name, '\n', (size_t)(end - tg->name)))
		return err_set(e, EXIT_CONFIG, "%s:%d: a tag must not span lines", ps->file,
			       tg->line);
	tg->after = end + strlen(close);
	if (tg->sigil == '=')
		return err_set(e, EXIT_CONFIG, "%s:%d: changing the delimiters is not supported",
			       ps->file, tg->line);
	tg->name_end = end;
	while (tg->name < tg->name_end && is_blank(*tg->name))
		tg->name++;
	while (tg->name_end > tg->name && is_blank(tg->name_end[-1]))
		tg->name_end--;
	if (tg->sigil != '!' && !name_ok(tg->name, (size_t)(tg->name_end - tg->name)))
		return err_set(e, EXIT_CONFIG, "%s:%d: '%.*s' is not a name (letters, digits, "
			       "'_', '.', '-')", ps->file, tg->line,
			       (int)(tg->name_end - tg->name), tg->name);
	return 0;
}

/* Standalone: a section, comment or partial tag alone on its line (text
 * from seg on not yet taken) takes the line. */
static void
take_standalone_line(const char *text, const char *seg, struct tag *tg)
{
	const char *ls = tg->start, *q = tg->after;

	if (!tg->sigil || !strchr("#^/!>", tg->sigil))
		return;
	while (ls > seg && is_blank(ls[-1]))
		ls--;
	while (is_blank(*q))
		q++;
	if ((ls == text || ls[-1] == '\n') && ls >= seg &&
	    (*q == '\n' || *q == '\0' || (q[0] == '\r' && q[1] == '\n'))) {
		tg->start = ls;
		tg->after = *q == '\r' ? q + 2 : *q == '\n' ? q + 1 : q;
	}
}

/* The tag into the tree: a section opened or closed, a partial, a
 * variable; a comment adds nothing. */
static int
add_tag_node(struct pstate *ps, const struct tag *tg, struct err *e)
{
	struct node *cur = pcur(ps);
	const char *name = tg->name;
	size_t len = (size_t)(tg->name_end - tg->name);

	switch (tg->sigil) {
	case '!':
		break;
	case '#':
	case '^':
		if (ps->depth >= TMPL_MAX_DEPTH)
			return err_set(e, EXIT_CONFIG, "%s:%d: sections nested too deeply", ps->file,
				       tg->line);
		node_add(cur, tg->sigil == '#' ? N_SECTION : N_INVERTED, name, len, tg->line);
		ps->path[ps->depth++] = cur->nkids - 1;
		break;
	case '/':
		if (ps->depth == 0)
			return err_set(e, EXIT_CONFIG, "%s:%d: '{{/%.*s}}' closes no section",
				       ps->file, tg->line, (int)len, name);
		if (strlen(cur->s) != len || strncmp(cur->s, name, len) != 0)
			return err_set(e, EXIT_CONFIG, "%s:%d: '{{/%.*s}}' where '{{/%s}}' "
				       "(opened on line %d) was expected", ps->file, tg->line,
				       (int)len, name, cur->s, cur->line);
		ps->depth--;
		break;
	case '>':
		node_add(cur, N_PARTIAL, name, len, tg->line);
		break;
	default:
		node_add(cur, N_VAR, name, len, tg->line);
		break;
	}
	return 0;
}

static int
parse_into(struct pstate *ps, struct err *e)
{
	const char *text = ps->text, *p = text, *seg = text;

	while ((p = strstr(p, "{{"))) {
		struct tag tg = { 0 };

		if (read_tag(ps, p, &tg, e) < 0)
			return -1;
		take_standalone_line(text, seg, &tg);
		if (tg.start > seg)
			node_add(pcur(ps), N_TEXT, seg, (size_t)(tg.start - seg), line_at(text, seg));
		seg = tg.after;
		p = tg.after;
		if (add_tag_node(ps, &tg, e) < 0)
			return -1;
	}
	if (*seg)
		node_add(pcur(ps), N_TEXT, seg, strlen(seg), line_at(text, seg));
	if (ps->depth > 0) {
		struct node *cur = pcur(ps);

		return err_set(e, EXIT_CONFIG, "%s:%d: section '%s' is never closed "
			       "(expected '{{/%s}}')", ps->file, cur->line, cur->s, cur->s);
	}
	return 0;
}

int
tmpl_parse(const char *file, const char *text, size_t len, struct tmpl **out, struct err *e)
{
	struct tmpl *t;
	struct pstate ps;

	*out = NULL;
	if (len > TMPL_MAX_SIZE)
		return err_set(e, EXIT_CONFIG, "%s: larger than %d bytes", file, TMPL_MAX_SIZE);
	if (memchr(text, '\0', len))
		return err_set(e, EXIT_CONFIG, "%s:%d: a NUL byte", file,
			       line_at(text, (const char *)memchr(text, '\0', len)));
	t = xcalloc(1, sizeof(*t));
	t->file = xstrdup(file);
	t->key = xstrdup("");
	t->queue = xstrdup("");
	t->lang = xstrdup("");
	t->text = xstrndup(text, len);
	t->text_len = len;
	memset(&ps, 0, sizeof(ps));
	ps.file = file;
	ps.text = t->text;
	ps.root = &t->root;
	if (parse_into(&ps, e) < 0) {
		tmpl_free(&t);
		return -1;
	}
	*out = t;
	return 0;
}

void
tmpl_free(struct tmpl **tp)
{
	struct tmpl *t = *tp;

	if (!t)
		return;
	node_release(&t->root);
	free(t->file);
	free(t->key);
	free(t->queue);
	free(t->lang);
	free(t->text);
	free(t->problem);
	free(t);
	*tp = NULL;
}

const char *
tmpl_file(const struct tmpl *t)
{
	return t->file;
}

const char *
tmpl_problem(const struct tmpl *t)
{
	return t->problem;
}

const char *
tmpl_lang(const struct tmpl *t)
{
	return *t->lang ? t->lang : "en";
}

static void
walk(const struct node *n, void (*fn)(void *, const char *, bool, int), void *arg)
{
	for (size_t i = 0; i < n->nkids; i++) {
		const struct node *k = &n->kids[i];

		if (k->type != N_TEXT)
			fn(arg, k->s, k->type == N_PARTIAL, k->line);
		walk(k, fn, arg);
	}
}

void
tmpl_walk(const struct tmpl *t, void (*fn)(void *, const char *, bool, int), void *arg)
{
	walk(&t->root, fn, arg);
}

/* ---- rendering ---- */

struct rstate {
	struct buf *out;
	tmpl_partial_fn partial;
	void *arg;
	const struct tmpl_ctx *stack[TMPL_MAX_DEPTH * 2 + 1];
	int nstack;
	int depth;
	bool in_header;  /* no empty line written yet */
	/* The variable whose first value in the body is looked for, and
	 * where it went in out (SIZE_MAX: not yet). */
	const char *mark;
	size_t mark_at;
	struct err *e;
};

static const struct tmpl_entry *
lookup(const struct rstate *rs, const char *name)
{
	for (int i = rs->nstack - 1; i >= 0; i--) {
		const struct tmpl_ctx *c = rs->stack[i];

		for (size_t j = 0; j < c->n; j++)
			if (strcmp(c->e[j].name, name) == 0)
				return &c->e[j];
	}
	return NULL;
}

static int
emit(struct rstate *rs, const char *s, size_t n, bool value)
{
	size_t start = rs->out->len;

	if (buf_grow(rs->out, n) < 0)
		return err_set(rs->e, EXIT_DATAERR, "rendered mail larger than %zu bytes",
			       rs->out->max);
	if (!(value && rs->in_header)) {
		buf_add(rs->out, s, n);
	} else {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			/* A value in the header part can never break a line. */
			if ((c < 0x20 || c == 0x7f) && c != '\t')
				c = ' ';
			buf_addch(rs->out, c);
		}
	}
	if (rs->in_header) {
		const char *d = rs->out->data;

		for (size_t i = start; i < rs->out->len; i++)
			if (d[i] == '\n' && (i == 0 || d[i - 1] == '\n' ||
					     (d[i - 1] == '\r' && (i == 1 || d[i - 2] == '\n')))) {
				rs->in_header = false;
				break;
			}
	}
	return 0;
}

static int render_nodes(struct rstate *rs, const struct tmpl *t, const struct node *n);

static bool
truthy(const struct tmpl_entry *en)
{
	if (!en)
		return false;
	if (!en->value)
		return en->nitems > 0;
	return *en->value != '\0';
}

static int
render_node(struct rstate *rs, const struct tmpl *t, const struct node *k)
{
	const struct tmpl_entry *en;

	switch (k->type) {
	case N_TEXT:
		return emit(rs, k->s, k->len, false);
	case N_VAR:
		en = lookup(rs, k->s);
		if (!en || !en->value)
			return 0;
		if (rs->mark && rs->mark_at == SIZE_MAX && !rs->in_header &&
		    strcmp(k->s, rs->mark) == 0)
			rs->mark_at = rs->out->len;
		return emit(rs, en->value, en->vlen, true);
	case N_SECTION:
		en = lookup(rs, k->s);
		if (!truthy(en))
			return 0;
		if (en->value)
			return render_nodes(rs, t, k);
		for (size_t i = 0; i < en->nitems; i++) {
			int rc;

			rs->stack[rs->nstack++] = en->items[i];
			rc = render_nodes(rs, t, k);
			rs->nstack--;
			if (rc < 0)
				return -1;
		}
		return 0;
	case N_INVERTED:
		en = lookup(rs, k->s);
		return truthy(en) ? 0 : render_nodes(rs, t, k);
	case N_PARTIAL: {
		const struct tmpl *p = rs->partial ? rs->partial(rs->arg, t, k->s) : NULL;

		if (!p)
			return err_set(rs->e, EXIT_CONFIG, "%s:%d: no partial '%s'", t->file,
				       k->line, k->s);
		if (p->problem)
			return err_set(rs->e, EXIT_CONFIG, "%s", p->problem);
		return render_nodes(rs, p, &p->root);
	}
	}
	return 0;
}

static int
render_nodes(struct rstate *rs, const struct tmpl *t, const struct node *n)
{
	if (++rs->depth > TMPL_MAX_DEPTH * 2 || rs->nstack >= (int)ARRAY_SIZE(rs->stack)) {
		rs->depth--;
		return err_set(rs->e, EXIT_CONFIG, "%s:%d: sections or partials nested too deeply",
			       t->file, n->line);
	}
	for (size_t i = 0; i < n->nkids; i++)
		if (render_node(rs, t, &n->kids[i]) < 0) {
			rs->depth--;
			return -1;
		}
	rs->depth--;
	return 0;
}

static int
render(const struct tmpl *t, const struct tmpl_ctx *c, tmpl_partial_fn partial, void *arg,
       const char *mark, size_t *mark_at, struct buf *out, struct err *e)
{
	struct rstate rs;
	int rc;

	memset(&rs, 0, sizeof(rs));
	rs.out = out;
	if (!out->max || out->max > TMPL_MAX_OUTPUT)
		out->max = TMPL_MAX_OUTPUT;
	rs.partial = partial;
	rs.arg = arg;
	rs.stack[rs.nstack++] = c;
	rs.in_header = true;
	rs.mark = mark;
	rs.mark_at = SIZE_MAX;
	rs.e = e;
	rc = render_nodes(&rs, t, &t->root);
	if (mark_at)
		*mark_at = rs.mark_at;
	return rc;
}

int
tmpl_render(const struct tmpl *t, const struct tmpl_ctx *c, tmpl_partial_fn partial,
	    void *arg, struct buf *out, struct err *e)
{
	return render(t, c, partial, arg, NULL, NULL, out, e);
}

/* ---- the folder ---- */

struct tmpl_set {
	char *dir;
	struct tmpl **t;   /* broken ones too, with their problem */
	size_t n;
	struct buf problems; /* every problem, one "file:line: what" a line */
	int nproblems;
};

static const struct tmpl *
set_get(const struct tmpl_set *set, const char *queue, const char *key)
{
	for (size_t i = 0; i < set->n; i++) {
		const char *k = set->t[i]->key;
		size_t ql = queue && *queue ? strlen(queue) : 0;

		if (ql) {
			if (strncmp(k, queue, ql) == 0 && k[ql] == '/' && strcmp(k + ql + 1, key) == 0)
				return set->t[i];
		} else if (strcmp(k, key) == 0) {
			return set->t[i];
		}
	}
	return NULL;
}

static const struct tmpl *
find_partial(void *arg, const struct tmpl *from, const char *name)
{
	const struct tmpl_set *set = arg;
	char key[256];
	const struct tmpl *p = NULL;

	if (*from->lang) {
		snprintf(key, sizeof(key), "_%s.%s", name, from->lang);
		p = set_get(set, from->queue, key);
		if (!p)
			p = set_get(set, NULL, key);
	}
	snprintf(key, sizeof(key), "_%s", name);
	if (!p)
		p = set_get(set, from->queue, key);
	if (!p)
		p = set_get(set, NULL, key);
	return p;
}

/* The template of key in queue, else at the top, that has no problem;
 * the first one with a problem passed by goes to *broken (when not set
 * yet). */
static const struct tmpl *
find_working(const struct tmpl_set *set, const char *queue, const char *key,
	     const struct tmpl **broken)
{
	const struct tmpl *in_queue = queue && *queue ? set_get(set, queue, key) : NULL;
	const struct tmpl *top = set_get(set, NULL, key);

	for (int i = 0; i < 2; i++) {
		const struct tmpl *t = i == 0 ? in_queue : top;

		if (!t)
			continue;
		if (!t->problem)
			return t;
		if (!*broken)
			*broken = t;
	}
	return NULL;
}

const struct tmpl *
tmpl_set_find_checked(const struct tmpl_set *set, const char *kind, const char *queue,
		      const char *lang, const struct tmpl **broken)
{
	char key[256], l[8] = "";
	const struct tmpl *t = NULL, *own_broken = NULL;

	if (!broken)
		broken = &own_broken;
	*broken = NULL;
	/* "pt-BR" and "PT" both mean pt. */
	if (lang && *lang) {
		size_t i;

		for (i = 0; i < 2 && lang[i] && i + 1 < sizeof(l); i++)
			l[i] = (char)((lang[i] >= 'A' && lang[i] <= 'Z') ? lang[i] + 32 : lang[i]);
		l[i] = '\0';
	}
	if (*l && strcmp(l, "en") != 0) {
		snprintf(key, sizeof(key), "%s.%s", kind, l);
		t = find_working(set, queue, key, broken);
	}
	if (!t) {
		snprintf(key, sizeof(key), "%s.en", kind);
		t = find_working(set, queue, key, broken);
	}
	return t;
}

const struct tmpl *
tmpl_set_find(const struct tmpl_set *set, const char *kind, const char *queue,
	      const char *lang)
{
	return tmpl_set_find_checked(set, kind, queue, lang, NULL);
}

bool
tmpl_set_has(const struct tmpl_set *set, const char *kind, const char *lang)
{
	char key[256];
	const struct tmpl *t;

	snprintf(key, sizeof(key), "%s.%s", kind, lang);
	t = set_get(set, NULL, key);
	return t && !t->problem;
}

int
tmpl_set_render(const struct tmpl_set *set, const struct tmpl *t, const struct tmpl_ctx *c,
		struct buf *out, struct err *e)
{
	return render(t, c, find_partial, (void *)set, NULL, NULL, out, e);
}

int
tmpl_set_render_mark(const struct tmpl_set *set, const struct tmpl *t,
		     const struct tmpl_ctx *c, const char *mark, size_t *mark_at,
		     struct buf *out, struct err *e)
{
	return render(t, c, find_partial, (void *)set, mark, mark_at, out, e);
}

static bool
node_uses_name(const struct tmpl_set *set, const struct tmpl *t, const struct node *n,
	       const char *name, int depth)
{
	if (depth > TMPL_MAX_DEPTH)
		return true; /* render refuses it anyway: say yes, to be safe */
	for (size_t i = 0; i < n->nkids; i++) {
		const struct node *k = &n->kids[i];

		if (k->type == N_PARTIAL) {
			const struct tmpl *p = find_partial((void *)set, t, k->s);

			if (p && node_uses_name(set, p, &p->root, name, depth + 1))
				return true;
		} else if (k->type != N_TEXT && strcmp(k->s, name) == 0) {
			return true;
		}
		if (node_uses_name(set, t, k, name, depth + 1))
			return true;
	}
	return false;
}

bool
tmpl_set_uses(const struct tmpl_set *set, const struct tmpl *t, const char *name)
{
	return node_uses_name(set, t, &t->root, name, 0);
}

size_t
tmpl_set_count(const struct tmpl_set *set)
{
	return set->n;
}

void
tmpl_set_free(struct tmpl_set **sp)
{
	struct tmpl_set *set = *sp;

	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		tmpl_free(&set->t[i]);
	free(set->t);
	free(set->dir);
	buf_release(&set->problems);
	free(set);
	*sp = NULL;
}

static char *
slurp(const char *path, size_t *len, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (!f) {
		err_set(e, EXIT_CONFIG, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, TMPL_MAX_SIZE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			fclose(f);
			buf_release(&b);
			err_set(e, EXIT_CONFIG, "%s: larger than %d bytes", path, TMPL_MAX_SIZE);
			return NULL;
		}
	if (ferror(f)) {
		err_set(e, EXIT_CONFIG, "%s: %s", path, strerror(errno));
		fclose(f);
		buf_release(&b);
		return NULL;
	}
	fclose(f);
	return buf_detach(&b, len);
}

/* Records a problem of the set: a line of set->problems, and t's first
 * problem when it is about template t (NULL: about the folder). */
static void
problem(struct tmpl_set *set, struct tmpl *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
problem(struct tmpl_set *set, struct tmpl *t, const char *fmt, ...)
{
	va_list ap;
	size_t start = set->problems.len;

	va_start(ap, fmt);
	buf_vaddf(&set->problems, fmt, ap);
	va_end(ap);
	if (t && !t->problem)
		t->problem = xstrndup(set->problems.data + start, set->problems.len - start);
	buf_addch(&set->problems, '\n');
	set->nproblems++;
}

/* Headers secdesk writes itself: a template must not set them. */
static const char *const reserved_headers[] = {
	"From", "To", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
	"X-Auto-Response-Suppress", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Return-Path", "Sender", "Bcc", NULL,
};

static void
check_headers(struct tmpl_set *set, struct tmpl *t)
{
	const char *p = t->text;
	int line = 1;
	bool subject = false, blank = false;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		size_t nl;

		if (l && p[l - 1] == '\r')
			l--;
		if (l == 0) {
			blank = true;
			break;
		}
		nl = 0;
		while (nl < l && p[nl] != ':' && p[nl] > ' ' && p[nl] < 0x7f)
			nl++;
		if (is_blank(p[0])) {
			if (line == 1)
				problem(set, t, "%s:%d: a continuation line before any header",
					t->file, line);
		} else if (p[0] == '{' && p[1] == '{' && p[2] == '!') {
			/* A comment, perhaps over several lines. */
			const char *end = strstr(p, "}}");

			if (end) {
				for (const char *q = p; q < end; q++)
					if (*q == '\n')
						line++;
				eol = strchr(end, '\n');
			}
		} else if (nl == 0 || nl >= l || p[nl] != ':') {
			problem(set, t, "%s:%d: expected a header line 'Name: value' "
				"(or an empty line before the body)", t->file, line);
		} else {
			if (nl == 7 && strncasecmp(p, "Subject", 7) == 0)
				subject = true;
			for (int i = 0; reserved_headers[i]; i++)
				if (strlen(reserved_headers[i]) == nl &&
				    strncasecmp(p, reserved_headers[i], nl) == 0)
					problem(set, t, "%s:%d: header '%.*s' is set by secdesk, "
						"not by templates", t->file, line, (int)nl, p);
		}
		line++;
		if (!eol)
			break;
		p = eol + 1;
	}
	if (!subject)
		problem(set, t, "%s:1: no Subject header", t->file);
	if (!blank)
		problem(set, t, "%s:%d: no empty line between the header lines and the body",
			t->file, line);
}

struct lint {
	struct tmpl_set *set;
	struct tmpl *t;
	const char *const *known;
	bool changed; /* a template found broken by its partial */
};

static void
lint_name(void *arg, const char *name, bool is_partial, int line)
{
	struct lint *l = arg;

	if (is_partial) {
		if (!find_partial(l->set, l->t, name))
			problem(l->set, l->t, "%s:%d: no partial '%s' (expected a file _%s.txt)",
				l->t->file, line, name, name);
		return;
	}
	if (!l->known)
		return;
	for (int i = 0; l->known[i]; i++)
		if (strcmp(l->known[i], name) == 0)
			return;
	problem(l->set, l->t, "%s:%d: unknown variable '%s'", l->t->file, line, name);
}

/* A template that includes a broken partial is broken too: its problem is
 * the partial's, which templates check lists already. */
static void
lint_partial_broken(void *arg, const char *name, bool is_partial, int line)
{
	struct lint *l = arg;
	const struct tmpl *p;

	if (!is_partial || l->t->problem)
		return;
	p = find_partial(l->set, l->t, name);
	if (p && p->problem) {
		l->t->problem = xasprintf("%s (the partial '%s' of %s:%d)", p->problem, name,
					  l->t->file, line);
		l->changed = true;
	}
}

/* A template of set under queue, named base (KIND.LANG.txt, _NAME.txt),
 * parsed from text, or broken with problem (then text is ""). */
static struct tmpl *
set_add(struct tmpl_set *set, const char *path, const char *queue, const char *base,
	struct tmpl *t)
{
	const char *first = strchr(base, '.'), *dot = strrchr(base, '.');

	if (!t) {
		t = xcalloc(1, sizeof(*t));
		t->file = xstrdup(path);
		t->text = xstrdup("");
	} else {
		free(t->key);
		free(t->queue);
		free(t->lang);
	}
	t->key = *queue ? xasprintf("%s/%.*s", queue, (int)(strlen(base) - 4), base)
			: xstrndup(base, strlen(base) - 4);
	t->queue = xstrdup(queue);
	/* The language is the last dot part of kind.LANG / _name.LANG. */
	if (first && first < dot)
		t->lang = xstrndup(first + 1, (size_t)(dot - first - 1));
	else
		t->lang = xstrdup("");
	set->t = xreallocarray(set->t, set->n + 1, sizeof(*set->t));
	set->t[set->n++] = t;
	return t;
}

/* Adds dir/name (a template file) to set under queue; one that cannot be
 * read or parsed is added as broken. */
static void
add_file(struct tmpl_set *set, const char *path, const char *queue, const char *base)
{
	struct err e = ERR_INIT;
	struct tmpl *t = NULL;
	size_t len;
	char *text = slurp(path, &len, &e);

	if (text && tmpl_parse(path, text, len, &t, &e) == 0) {
		set_add(set, path, queue, base, t);
	} else {
		t = set_add(set, path, queue, base, NULL);
		problem(set, t, "%s", e.msg);
	}
	free(text);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir's entries, sorted (so errors come in a stable order). */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, *n + 1, sizeof(*names));
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static bool
is_template_name(const char *name)
{
	size_t l = strlen(name);

	return l > 4 && strcmp(name + l - 4, ".txt") == 0;
}

static void
load_dir(struct tmpl_set *set, const char *dir, const char *queue)
{
	size_t n;
	char **names = list_dir(dir, &n);

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;

		if (stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && !*queue)
				load_dir(set, path, names[i]);
			else if (S_ISREG(st.st_mode) && is_template_name(names[i]))
				add_file(set, path, queue, names[i]);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

int
tmpl_set_load(const char *dir, const char *const *known, struct tmpl_set **out,
	      struct err *e)
{
	struct tmpl_set *set;
	struct stat st;
	struct lint l = { .known = known };

	*out = NULL;
	if (stat(dir, &st) < 0)
		return err_set(e, EXIT_CONFIG, "templates folder '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, EXIT_CONFIG, "templates folder '%s': not a folder", dir);
	set = xcalloc(1, sizeof(*set));
	set->dir = xstrdup(dir);
	buf_init(&set->problems, 0);
	load_dir(set, dir, "");
	l.set = set;
	for (size_t i = 0; i < set->n; i++) {
		struct tmpl *t = set->t[i];
		const char *base = strrchr(t->key, '/');

		if (t->problem)
			continue; /* not parsed */
		base = base ? base + 1 : t->key;
		if (base[0] != '_')
			check_headers(set, t);
		l.t = t;
		tmpl_walk(t, lint_name, &l);
	}
	/* Partials include partials: until nothing changes. */
	do {
		l.changed = false;
		for (size_t i = 0; i < set->n; i++) {
			l.t = set->t[i];
			tmpl_walk(l.t, lint_partial_broken, &l);
		}
	} while (l.changed);
	if (!set_get(set, NULL, "ack.en"))
		problem(set, NULL, "%s: no acknowledgement template (expected ack.en.txt)", dir);
	*out = set;
	return 0;
}

const char *
tmpl_set_problems(const struct tmpl_set *set, int *count)
{
	if (count)
		*count = set->nproblems;
	return buf_cstr(&set->problems);
}

int
tmpl_set_check(const char *dir, const char *const *known, struct buf *problems,
	       struct err *e)
{
	struct tmpl_set *set = NULL;
	int n;

	if (tmpl_set_load(dir, known, &set, e) < 0)
		return -1;
	buf_addstr(problems, tmpl_set_problems(set, &n));
	tmpl_set_free(&set);
	return n;
}

/* rules_match.c - applying the rules to a message: the literal prefilter,
 * the tests (PCRE2 under match limits) and the actions.
 *
 * Cost must not grow with the number of rules: each rule's patterns are
 * reduced at load to words a match cannot do without, indexed by their first
 * trigram. A message's text is hashed into a trigram bitmap once; only the
 * rules whose words all trigrams appear in it (and those without words) are
 * tried with PCRE2. */
#include "compat.h"

#include <strings.h>

#include "buf.h"
#include "lang.h"
#include "rules_int.h"
#include "xalloc.h"

void
rule_outcome_init(struct rule_outcome *o)
{
	memset(o, 0, sizeof(*o));
}

void
rule_outcome_release(struct rule_outcome *o)
{
	free(o->queue);
	free(o->category);
	free(o->priority);
	free(o->language);
	free(o->assignee);
	free(o->no_ack_reason);
	strlist_release(&o->tags);
	strlist_release(&o->errors);
	rule_outcome_init(o);
}

/* ---------- literal extraction ---------- */

static int lits_alt(const char *p, size_t *i, bool ci, struct strlist *out, int depth);

static size_t
lits_score(const struct strlist *l)
{
	size_t min = SIZE_MAX;

	if (l->n == 0)
		return 0;
	for (size_t k = 0; k < l->n; k++)
		if (strlen(l->items[k]) < min)
			min = strlen(l->items[k]);
	return min;
}

static void
lits_move(struct strlist *to, struct strlist *from)
{
	strlist_release(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
}

/* Skips a quantifier at p[*i]; returns 1 when it allows zero repeats, 0 for
 * one or more, -1 when there is none. */
static int
skip_quant(const char *p, size_t *i)
{
	int zero;

	switch (p[*i]) {
	case '?':
	case '*':
		zero = 1;
		(*i)++;
		break;
	case '+':
		zero = 0;
		(*i)++;
		break;
	case '{':
		if (p[*i + 1] < '0' || p[*i + 1] > '9')
			return -1;
		zero = p[*i + 1] == '0' && (p[*i + 2] == ',' || p[*i + 2] == '}');
		while (p[*i] && p[*i] != '}')
			(*i)++;
		if (p[*i])
			(*i)++;
		break;
	default:
		return -1;
	}
	if (p[*i] == '?' || p[*i] == '+')
		(*i)++;
	return zero;
}

static void
flush_run(struct buf *run, struct strlist *best, size_t *bestscore)
{
	if (run->len >= 3 && run->len > *bestscore) {
		strlist_release(best);
		strlist_add(best, buf_cstr(run));
		*bestscore = run->len;
	}
	buf_reset(run);
}

/* One branch of an alternation: the best set of required words of its
 * items. 0 with out filled (maybe empty), -2 when the pattern is beyond this
 * reading (then no prefilter at all). */
static int
lits_seq(const char *p, size_t *i, bool ci, struct strlist *out, int depth)
{
	struct buf run = BUF_INIT;
	size_t bestscore = 0;
	int rc = 0;

	while (p[*i] && p[*i] != '|' && p[*i] != ')') {
		unsigned char c = (unsigned char)p[*i];

		if (c == '\\') {
			unsigned char n = (unsigned char)p[*i + 1];

			if (!n || strchr("pPxkgNocQEuUlLC", n)) {
				rc = -2;
				goto out;
			}
			if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9')) {
				*i += 2;
				flush_run(&run, out, &bestscore);
				(void)skip_quant(p, i);
				continue;
			}
			c = n;
			(*i)++;
		} else if (c == '[') {
			flush_run(&run, out, &bestscore);
			(*i)++;
			if (p[*i] == '^')
				(*i)++;
			if (p[*i] == ']')
				(*i)++;
			while (p[*i] && p[*i] != ']') {
				if (p[*i] == '\\' && p[*i + 1])
					(*i)++;
				else if (p[*i] == '[' && p[*i + 1] == ':') {
					const char *e = strstr(p + *i, ":]");

					if (e)
						*i = (size_t)(e - p) + 1;
				}
				(*i)++;
			}
			if (!p[*i]) {
				rc = -2;
				goto out;
			}
			(*i)++;
			(void)skip_quant(p, i);
			continue;
		} else if (c == '(') {
			struct strlist sub = STRLIST_INIT;
			int q, src;

			flush_run(&run, out, &bestscore);
			(*i)++;
			if (p[*i] == '?') {
				if (p[*i + 1] == ':')
					*i += 2;
				else if ((p[*i + 1] == '<' && p[*i + 2] != '=' && p[*i + 2] != '!') ||
					 (p[*i + 1] == 'P' && p[*i + 2] == '<')) {
					while (p[*i] && p[*i] != '>')
						(*i)++;
					if (p[*i])
						(*i)++;
				} else {
					rc = -2;
					goto out;
				}
			}
			if (depth > 20) {
				rc = -2;
				goto out;
			}
			src = lits_alt(p, i, ci, &sub, depth + 1);
			if (src == -2 || p[*i] != ')') {
				strlist_release(&sub);
				rc = -2;
				goto out;
			}
			(*i)++;
			q = skip_quant(p, i);
			if (q != 1 && src == 0 && lits_score(&sub) >= 3 &&
			    lits_score(&sub) > bestscore) {
				bestscore = lits_score(&sub);
				lits_move(out, &sub);
			}
			strlist_release(&sub);
			continue;
		} else if (c == '.' || c == '^' || c == '$') {
			flush_run(&run, out, &bestscore);
			(*i)++;
			(void)skip_quant(p, i);
			continue;
		} else if (c == '*' || c == '+' || c == '?') {
			rc = -2;
			goto out;
		} else if (c >= 0x80) {
			/* Unicode case folding is PCRE2's business: words stop here. */
			flush_run(&run, out, &bestscore);
			(*i)++;
			while (((unsigned char)p[*i] & 0xc0) == 0x80)
				(*i)++;
			(void)skip_quant(p, i);
			continue;
		}
		(*i)++;
		{
			size_t save = *i;
			int q = skip_quant(p, i);

			if (q == 1) {
				flush_run(&run, out, &bestscore);
				continue;
			}
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			buf_addch(&run, c);
			if (q == 0)
				flush_run(&run, out, &bestscore);
			(void)save;
		}
	}
	flush_run(&run, out, &bestscore);
out:
	buf_release(&run);
	(void)ci;
	return rc;
}

/* Alternatives up to ')' or the end: the union of the branches' sets; 0
 * when every branch has one, -1 when one has none, -2 beyond reading. */
static int
lits_alt(const char *p, size_t *i, bool ci, struct strlist *out, int depth)
{
	int rc = 0;

	for (;;) {
		struct strlist br = STRLIST_INIT;
		int src = lits_seq(p, i, ci, &br, depth);

		if (src == -2) {
			strlist_release(&br);
			return -2;
		}
		if (br.n == 0)
			rc = -1;
		for (size_t k = 0; k < br.n; k++)
			if (!strlist_contains(out, br.items[k]))
				strlist_add(out, br.items[k]);
		strlist_release(&br);
		if (p[*i] != '|')
			break;
		(*i)++;
	}
	if (rc < 0)
		strlist_release(out);
	return rc;
}

void
rules_literals(const char *pattern, bool caseless, struct strlist *lits)
{
	size_t i = 0;
	struct strlist out = STRLIST_INIT;

	if (lits_alt(pattern, &i, caseless, &out, 0) == 0 && pattern[i] == '\0' && out.n) {
		for (size_t k = 0; k < out.n; k++)
			strlist_add(lits, out.items[k]);
	}
	strlist_release(&out);
}

/* Fields whose text goes into the prefilter's haystack. */
static bool
field_in_haystack(enum field f)
{
	return (f & ~FIELD_PART_MASK) < F_ADDR_LAST || f == F_SUBJECT || f == F_BODY ||
	       f == F_TEXT || f == F_HEADER || f == F_ATT_NAME || f == F_ATT_TYPE;
}

/* 0 with lits filled, -1 when the node needs no particular word. */
static int
node_lits(const struct node *n, struct strlist *lits)
{
	switch (n->kind) {
	case N_TEST:
		if (n->test->op == OP_EXISTS || n->test->op == OP_EMPTY || !n->test->lits.n ||
		    !field_in_haystack(n->test->field))
			return -1;
		for (size_t k = 0; k < n->test->lits.n; k++)
			strlist_add(lits, n->test->lits.items[k]);
		return 0;
	case N_NOT:
		return -1;
	case N_ALL: {
		struct strlist best = STRLIST_INIT;
		size_t bestscore = 0;

		for (size_t i = 0; i < n->nkids; i++) {
			struct strlist l = STRLIST_INIT;

			if (node_lits(n->kids[i], &l) == 0 && lits_score(&l) > bestscore) {
				bestscore = lits_score(&l);
				lits_move(&best, &l);
			}
			strlist_release(&l);
		}
		if (!best.n)
			return -1;
		lits_move(lits, &best);
		return 0;
	}
	case N_ANY:
		for (size_t i = 0; i < n->nkids; i++)
			if (node_lits(n->kids[i], lits) < 0) {
				strlist_release(lits);
				return -1;
			}
		return 0;
	}
	return -1;
}

void
rules_prefilter_rule(struct rule *r)
{
	strlist_release(&r->lits);
	if (r->cond && node_lits(r->cond, &r->lits) < 0)
		strlist_release(&r->lits);
}

static inline uint32_t
tri_hash(unsigned char a, unsigned char b, unsigned char c)
{
	uint32_t x = (uint32_t)a | (uint32_t)b << 8 | (uint32_t)c << 16;

	return (x * 2654435761u) >> (32 - PREFILTER_BITS);
}

void
rules_prefilter_build(struct ruleset *rs)
{
	size_t total = 0;
	uint32_t *fill;

	rs->bucket_start = xcalloc(PREFILTER_SIZE + 1, sizeof(*rs->bucket_start));
	rs->nalways = 0;
	for (size_t r = 0; r < rs->nrules; r++) {
		if (!rs->rules[r].lits.n)
			rs->nalways++;
		for (size_t k = 0; k < rs->rules[r].lits.n; k++) {
			const unsigned char *w = (const unsigned char *)rs->rules[r].lits.items[k];

			rs->bucket_start[tri_hash(w[0], w[1], w[2]) + 1]++;
			total++;
		}
	}
	for (size_t h = 0; h < PREFILTER_SIZE; h++)
		rs->bucket_start[h + 1] += rs->bucket_start[h];
	rs->bucket_ent = xcalloc(total ? total : 1, sizeof(*rs->bucket_ent));
	fill = xcalloc(PREFILTER_SIZE, sizeof(*fill));
	for (size_t r = 0; r < rs->nrules; r++)
		for (size_t k = 0; k < rs->rules[r].lits.n; k++) {
			const unsigned char *w = (const unsigned char *)rs->rules[r].lits.items[k];
			uint32_t h = tri_hash(w[0], w[1], w[2]);
			struct prefilter_ent *ent = &rs->bucket_ent[rs->bucket_start[h] + fill[h]++];

			ent->rule = (uint32_t)r;
			ent->lit = (uint32_t)k;
		}
	free(fill);
}

/* ---------- one message ---------- */

struct addrv {
	const char *addr;
	const char *name;
	const char *local;
	size_t local_len;
	char *domain; /* lowercased copy */
};

struct value {
	const char *s;
	size_t len;
};

struct ctx {
	const struct ruleset *rs;
	const struct message *m;
	const struct ticket *t;
	rule_trace_fn fn;
	void *arg;
	struct addrv from, sender, reply_to, *to, *cc;
	size_t body_len;
	char *text; /* subject "\n" body, made when a test asks */
	size_t text_len;
	const char *lang; /* detected, "" when unsure */
	pcre2_match_data *md;
	struct value *vals;
	size_t nvals, capvals;
	struct strlist caps; /* name, value, name, value... of the current rule */
	unsigned char *bitmap;
	unsigned char *cand; /* one byte per rule */
	char *error;         /* why the current rule was skipped */
};

static void
addrv_make(struct addrv *v, const struct address *a)
{
	const char *at;

	v->addr = a->addr ? a->addr : "";
	v->name = a->name ? a->name : "";
	at = strrchr(v->addr, '@');
	v->local = v->addr;
	v->local_len = at ? (size_t)(at - v->addr) : strlen(v->addr);
	v->domain = xstrdup(at ? at + 1 : "");
	for (char *d = v->domain; *d; d++)
		if (*d >= 'A' && *d <= 'Z')
			*d = (char)(*d - 'A' + 'a');
}

static void
val_add(struct ctx *c, const char *s, size_t len)
{
	if (!s)
		return;
	if (c->nvals == c->capvals) {
		c->capvals = c->capvals ? c->capvals * 2 : 16;
		c->vals = xreallocarray(c->vals, c->capvals, sizeof(*c->vals));
	}
	c->vals[c->nvals].s = s;
	c->vals[c->nvals].len = len;
	c->nvals++;
}

static void
val_addr(struct ctx *c, const struct addrv *a, unsigned part)
{
	switch (part) {
	case PART_ADDR:
		val_add(c, a->addr, strlen(a->addr));
		break;
	case PART_NAME:
		val_add(c, a->name, strlen(a->name));
		break;
	case PART_LOCAL:
		val_add(c, a->local, a->local_len);
		break;
	default:
		val_add(c, a->domain, strlen(a->domain));
		break;
	}
}

static const char *
tstr(const char *s)
{
	return s ? s : "";
}

/* The values a test looks at, into c->vals. A field that does not exist
 * (no ticket, no such header) has no value. */
static void
field_values(struct ctx *c, const struct test *t)
{
	const struct message *m = c->m;
	unsigned part = t->field & FIELD_PART_MASK;

	c->nvals = 0;
	switch ((enum field)(t->field & ~FIELD_PART_MASK)) {
	case F_FROM:
		if (*m->from.addr || *m->from.name)
			val_addr(c, &c->from, part);
		break;
	case F_SENDER:
		if (m->sender.addr && *m->sender.addr)
			val_addr(c, &c->sender, part);
		break;
	case F_REPLY_TO:
		if (m->reply_to.addr && *m->reply_to.addr)
			val_addr(c, &c->reply_to, part);
		break;
	case F_TO:
	case F_RCPT:
		for (size_t i = 0; i < m->nto; i++)
			val_addr(c, &c->to[i], part);
		if ((t->field & ~FIELD_PART_MASK) == F_TO)
			break;
		/* fall through */
	case F_CC:
		for (size_t i = 0; i < m->ncc; i++)
			val_addr(c, &c->cc[i], part);
		break;
	case F_SUBJECT:
		val_add(c, m->subject, strlen(m->subject));
		break;
	case F_BODY:
		val_add(c, m->body ? m->body : "", c->body_len);
		break;
	case F_TEXT:
		if (!c->text) {
			c->text = xasprintf("%s\n%.*s", m->subject, (int)c->body_len,
					    m->body ? m->body : "");
			c->text_len = strlen(c->text);
		}
		val_add(c, c->text, c->text_len);
		break;
	case F_HEADER:
		for (size_t i = 0; i < m->nheaders; i++)
			if (strcasecmp(m->headers[i].name, t->header) == 0)
				val_add(c, m->headers[i].value, strlen(m->headers[i].value));
		break;
	case F_ATT_NAME:
		for (size_t i = 0; i < m->natts; i++)
			val_add(c, m->atts[i].filename, strlen(m->atts[i].filename));
		break;
	case F_ATT_TYPE:
		for (size_t i = 0; i < m->natts; i++)
			val_add(c, m->atts[i].content_type, strlen(m->atts[i].content_type));
		break;
	case F_LANGUAGE:
		val_add(c, c->lang, strlen(c->lang));
		break;
	case F_FLAGS: {
		static const struct {
			unsigned f;
			const char *name;
		} fl[] = {
			{ MSG_PARSE_ERROR, "parse-error" }, { MSG_BOUNCE, "bounce" },
			{ MSG_AUTOREPLY, "autoreply" },     { MSG_LIST, "list" },
			{ MSG_OVERSIZE, "oversize" },	    { MSG_TRUNCATED, "truncated" },
			{ MSG_SPAM, "spam" },		    { MSG_POISON, "poison" },
		};
		for (size_t i = 0; i < ARRAY_SIZE(fl); i++)
			if (m->flags & fl[i].f)
				val_add(c, fl[i].name, strlen(fl[i].name));
		break;
	}
	case F_MESSAGE_ID:
		val_add(c, m->message_id, strlen(m->message_id));
		break;
	default:
		if (!c->t)
			break;
		switch ((enum field)t->field) {
		case F_T_QUEUE:
			val_add(c, tstr(c->t->queue), strlen(tstr(c->t->queue)));
			break;
		case F_T_STATUS:
			val_add(c, tstr(c->t->status), strlen(tstr(c->t->status)));
			break;
		case F_T_CATEGORY:
			val_add(c, tstr(c->t->category), strlen(tstr(c->t->category)));
			break;
		case F_T_PRIORITY:
			val_add(c, tstr(c->t->priority), strlen(tstr(c->t->priority)));
			break;
		case F_T_LANGUAGE:
			val_add(c, tstr(c->t->language), strlen(tstr(c->t->language)));
			break;
		case F_T_ASSIGNEE:
			val_add(c, tstr(c->t->assignee), strlen(tstr(c->t->assignee)));
			break;
		case F_T_REQUESTER:
			val_add(c, tstr(c->t->requester), strlen(tstr(c->t->requester)));
			break;
		case F_T_TAGS:
			for (size_t i = 0; i < c->t->tags.n; i++)
				val_add(c, c->t->tags.items[i], strlen(c->t->tags.items[i]));
			break;
		default:
			break;
		}
		break;
	}
}

static void
trace(struct ctx *c, const struct rule *r, enum rule_trace_kind k, const char *text,
      bool matched, const char *value, const char *note)
{
	struct rule_trace_event ev;

	if (!c->fn)
		return;
	ev.kind = k;
	ev.file = r->file;
	ev.line = r->line;
	ev.rule = r->name;
	ev.text = text;
	ev.matched = matched;
	ev.value = value;
	ev.note = note;
	c->fn(c->arg, &ev);
}

static const char *
pcre2_err_str(int rc, char *buf, size_t n)
{
	pcre2_get_error_message(rc, (PCRE2_UCHAR *)buf, n);
	return buf;
}

/* 1 matched, 0 not, -1 the rule must be skipped (c->error says why). */
static int
eval_test(struct ctx *c, const struct rule *r, const struct test *t)
{
	char *seen = NULL;
	int res = 0;

	field_values(c, t);
	if (t->op == OP_EXISTS || t->op == OP_EMPTY) {
		bool any = false;

		for (size_t i = 0; i < c->nvals; i++)
			if (t->field == F_HEADER || c->vals[i].len)
				any = true;
		res = (t->op == OP_EXISTS) == any;
		trace(c, r, RULE_TRACE_TEST, t->text, res, NULL, NULL);
		return res;
	}
	for (size_t i = 0; i < c->nvals && !res; i++) {
		int rc = pcre2_match(t->re, (PCRE2_SPTR)c->vals[i].s, c->vals[i].len, 0, 0, c->md,
				     c->rs->mctx);

		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0) {
			char msg[160];

			free(c->error);
			c->error = xasprintf("%s:%d: rule '%s' skipped for this message: %s in '%s'",
					     r->file, t->re ? r->line : 0, r->name,
					     pcre2_err_str(rc, msg, sizeof(msg)), t->text);
			trace(c, r, RULE_TRACE_TEST, t->text, false, NULL, c->error);
			return -1;
		}
		{
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);

			res = 1;
			seen = xstrndup(c->vals[i].s + ov[0], ov[1] - ov[0]);
			for (size_t k = 0; k < t->capnames.n; k++) {
				int g = t->capnums[k];
				const char *v = "";
				size_t vlen = 0;

				if (g < rc && ov[2 * g] != PCRE2_UNSET) {
					v = c->vals[i].s + ov[2 * g];
					vlen = ov[2 * g + 1] - ov[2 * g];
				}
				strlist_add(&c->caps, t->capnames.items[k]);
				strlist_add_owned(&c->caps, xstrndup(v, vlen));
			}
		}
	}
	trace(c, r, RULE_TRACE_TEST, t->text, res, seen, NULL);
	free(seen);
	return res;
}

static int
eval_node(struct ctx *c, const struct rule *r, const struct node *n)
{
	int v;

	switch (n->kind) {
	case N_TEST:
		return eval_test(c, r, n->test);
	case N_NOT:
		v = eval_node(c, r, n->kids[0]);
		return v < 0 ? v : !v;
	case N_ALL:
		for (size_t i = 0; i < n->nkids; i++) {
			v = eval_node(c, r, n->kids[i]);
			if (v <= 0)
				return v;
		}
		return 1;
	case N_ANY:
		for (size_t i = 0; i < n->nkids; i++) {
			v = eval_node(c, r, n->kids[i]);
			if (v != 0)
				return v;
		}
		return 0;
	}
	return 0;
}

/* s with ${name} replaced by the rule's captures (the last one of a name). */
static char *
expand(const struct ctx *c, const char *s)
{
	struct buf b = BUF_INIT;

	while (*s) {
		const char *end;

		if (s[0] == '$' && s[1] == '{' && (end = strchr(s + 2, '}'))) {
			size_t n = (size_t)(end - s - 2);
			const char *v = "";

			for (size_t i = 0; i + 1 < c->caps.n; i += 2)
				if (strlen(c->caps.items[i]) == n &&
				    memcmp(c->caps.items[i], s + 2, n) == 0)
					v = c->caps.items[i + 1];
			buf_addstr(&b, v);
			s = end + 1;
			continue;
		}
		buf_addch(&b, *s++);
	}
	return buf_detach(&b, NULL);
}

/* Sets *slot when still unset: the first rule to decide a field wins. */
static const char *
set_once(char **slot, const char *v, const char *rule, char **note)
{
	if (*slot) {
		*note = xasprintf("kept '%s' from an earlier rule", *slot);
		return NULL;
	}
	(void)rule;
	*slot = xstrdup(v);
	return *slot;
}

static void
run_actions(struct ctx *c, const struct rule *r, struct rule_outcome *out)
{
	for (size_t i = 0; i < r->nacts && !out->stopped; i++) {
		const struct action *a = &r->acts[i];
		char *arg = a->args.n ? expand(c, a->args.items[0]) : NULL;
		char *note = NULL;

		switch (a->kind) {
		case A_ROUTE: {
			const struct queue *q = rules_queue(c->rs, arg);

			if (!q) {
				note = xasprintf("no queue '%s': route ignored", arg);
				strlist_add_owned(&out->errors,
						  xasprintf("%s:%d: rule '%s': %s", r->file, a->line,
							    r->name, note));
			} else {
				set_once(&out->queue, q->id, r->name, &note);
			}
			break;
		}
		case A_CATEGORY:
			set_once(&out->category, arg, r->name, &note);
			break;
		case A_PRIORITY:
			if (strcmp(arg, "low") && strcmp(arg, "normal") && strcmp(arg, "high") &&
			    strcmp(arg, "urgent"))
				note = xasprintf("no priority '%s': ignored", arg);
			else
				set_once(&out->priority, arg, r->name, &note);
			break;
		case A_LANGUAGE:
			for (char *p = arg; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			if (strlen(arg) != 2)
				note = xasprintf("no language '%s': ignored", arg);
			else
				set_once(&out->language, arg, r->name, &note);
			break;
		case A_ASSIGN:
			set_once(&out->assignee, arg, r->name, &note);
			break;
		case A_TAG:
			for (size_t k = 0; k < a->args.n; k++) {
				char *tag = k == 0 ? xstrdup(arg) : expand(c, a->args.items[k]);

				if (*tag && !strlist_contains(&out->tags, tag))
					strlist_add(&out->tags, tag);
				free(tag);
			}
			break;
		case A_NOACK:
			if (!out->no_ack) {
				out->no_ack = true;
				out->no_ack_reason = arg && *arg
							     ? xasprintf("rule '%s': %s", r->name, arg)
							     : xasprintf("rule '%s'", r->name);
			} else {
				note = xstrdup("already suppressed");
			}
			break;
		case A_SPAM:
			out->spam = true;
			if (!out->no_ack) {
				out->no_ack = true;
				out->no_ack_reason = xasprintf("rule '%s': spam", r->name);
			}
			break;
		case A_STOP:
			out->stopped = true;
			break;
		}
		trace(c, r, RULE_TRACE_ACTION, a->text, true, arg, note);
		free(arg);
		free(note);
	}
}

static void
lower_into(struct buf *b, const char *s, size_t len)
{
	if (buf_grow(b, len + 1) < 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		b->data[b->len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	b->data[b->len++] = '\n';
	b->data[b->len] = '\0';
}

static void
lower_addr(struct buf *b, const struct address *a)
{
	if (a->addr)
		lower_into(b, a->addr, strlen(a->addr));
	if (a->name)
		lower_into(b, a->name, strlen(a->name));
}

/* Marks in c->cand the rules that may match: the words of each must appear
 * (all their trigrams) in the message's lowercased text. */
static void
prefilter(struct ctx *c)
{
	const struct ruleset *rs = c->rs;
	const struct message *m = c->m;
	struct buf hay = BUF_INIT;
	uint32_t *seen;
	size_t nseen = 0;

	lower_into(&hay, m->subject, strlen(m->subject));
	lower_into(&hay, m->body ? m->body : "", c->body_len);
	lower_addr(&hay, &m->from);
	lower_addr(&hay, &m->sender);
	lower_addr(&hay, &m->reply_to);
	for (size_t i = 0; i < m->nto; i++)
		lower_addr(&hay, &m->to[i]);
	for (size_t i = 0; i < m->ncc; i++)
		lower_addr(&hay, &m->cc[i]);
	for (size_t i = 0; i < m->nheaders; i++)
		lower_into(&hay, m->headers[i].value, strlen(m->headers[i].value));
	for (size_t i = 0; i < m->natts; i++) {
		lower_into(&hay, m->atts[i].filename, strlen(m->atts[i].filename));
		lower_into(&hay, m->atts[i].content_type, strlen(m->atts[i].content_type));
	}
	seen = xmalloc((hay.len + 1) * sizeof(*seen));
	for (size_t i = 0; i + 2 < hay.len; i++) {
		uint32_t h = tri_hash((unsigned char)hay.data[i], (unsigned char)hay.data[i + 1],
				      (unsigned char)hay.data[i + 2]);

		if (!(c->bitmap[h >> 3] & (1u << (h & 7)))) {
			c->bitmap[h >> 3] |= (unsigned char)(1u << (h & 7));
			seen[nseen++] = h;
		}
	}
	for (size_t s = 0; s < nseen; s++) {
		uint32_t h = seen[s];

		for (uint32_t e = rs->bucket_start[h]; e < rs->bucket_start[h + 1]; e++) {
			const struct prefilter_ent *ent = &rs->bucket_ent[e];
			const unsigned char *w;
			bool all = true;

			if (c->cand[ent->rule])
				continue;
			w = (const unsigned char *)rs->rules[ent->rule].lits.items[ent->lit];
			for (size_t k = 1; w[k + 1] && all; k++) {
				uint32_t h2 = tri_hash(w[k], w[k + 1], w[k + 2]);

				if (!w[k + 2])
					break;
				all = c->bitmap[h2 >> 3] & (1u << (h2 & 7));
			}
			/* The trigrams can all be there apart ("gen" and "ent" of
			 * "genomics" and "patients" for "gent"): confirm the word
			 * itself, which costs far less than a PCRE2 scan. */
			if (all && memmem(hay.data, hay.len, w, strlen((const char *)w)))
				c->cand[ent->rule] = 1;
		}
	}
	free(seen);
	buf_release(&hay);
}

int
rules_apply_trace(const struct ruleset *rs, const struct message *m, const struct ticket *t,
		  struct rule_outcome *out, rule_trace_fn fn, void *arg, struct err *e)
{
	struct ctx c;
	const char *lang;

	(void)e;
	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.m = m;
	c.t = t;
	c.fn = fn;
	c.arg = arg;
	addrv_make(&c.from, &m->from);
	addrv_make(&c.sender, &m->sender);
	addrv_make(&c.reply_to, &m->reply_to);
	c.to = xcalloc(m->nto + 1, sizeof(*c.to));
	c.cc = xcalloc(m->ncc + 1, sizeof(*c.cc));
	for (size_t i = 0; i < m->nto; i++)
		addrv_make(&c.to[i], &m->to[i]);
	for (size_t i = 0; i < m->ncc; i++)
		addrv_make(&c.cc[i], &m->cc[i]);
	c.body_len = m->body ? strlen(m->body) : 0;
	if (c.body_len > RULES_BODY_MAX) {
		c.body_len = RULES_BODY_MAX;
		while (c.body_len > 0 && ((unsigned char)m->body[c.body_len] & 0xc0) == 0x80)
			c.body_len--;
	}
	{
		/* The subject counts too: a short mail may say all in it. */
		char *sample = xasprintf("%s\n%.*s", m->subject, (int)(c.body_len < LANG_MAX_SCAN
									      ? c.body_len
									      : LANG_MAX_SCAN),
					 m->body ? m->body : "");

		lang = lang_detect(sample, strlen(sample), NULL);
		free(sample);
	}
	c.lang = lang ? lang : "";
	c.md = pcre2_match_data_create(rs->max_ovector, NULL);
	c.bitmap = xcalloc(PREFILTER_SIZE / 8, 1);
	c.cand = xcalloc(rs->nrules + 1, 1);
	prefilter(&c);

	for (size_t i = 0; i < rs->nrules && !out->stopped; i++) {
		const struct rule *r = &rs->rules[i];
		int v;

		if (r->lits.n && !c.cand[i]) {
			trace(&c, r, RULE_TRACE_SKIP, NULL, false, NULL,
			      "none of the words it needs is in the message");
			continue;
		}
		trace(&c, r, RULE_TRACE_RULE, NULL, false, NULL, NULL);
		strlist_release(&c.caps);
		v = r->cond ? eval_node(&c, r, r->cond) : 1;
		if (v < 0) {
			strlist_add(&out->errors, c.error);
			trace(&c, r, RULE_TRACE_ERROR, NULL, false, NULL, c.error);
			continue;
		}
		trace(&c, r, RULE_TRACE_END, NULL, v, NULL, NULL);
		if (v)
			run_actions(&c, r, out);
	}
	if (!out->language && *c.lang)
		out->language = xstrdup(c.lang);

	strlist_release(&c.caps);
	free(c.error);
	free(c.bitmap);
	free(c.cand);
	free(c.vals);
	free(c.text);
	pcre2_match_data_free(c.md);
	free(c.from.domain);
	free(c.sender.domain);
	free(c.reply_to.domain);
	for (size_t i = 0; i < m->nto; i++)
		free(c.to[i].domain);
	for (size_t i = 0; i < m->ncc; i++)
		free(c.cc[i].domain);
	free(c.to);
	free(c.cc);
	return 0;
}

int
rules_apply(const struct ruleset *rs, const struct message *m, const struct ticket *t,
	    struct rule_outcome *out, struct err *e)
{
	return rules_apply_trace(rs, m, t, out, NULL, NULL, e);
}

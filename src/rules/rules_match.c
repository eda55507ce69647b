/* rules_match.c - applying the rules to a message: the rules the
 * prefilter lets through (prefilter.c) and those without words, in order;
 * their tests (PCRE2 under match limits, JIT-compiled once a ruleset has
 * classified RULES_JIT_AFTER mails) and their actions; then the weighing
 * (rules_score.c). */
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
	rule_scores_release(o);
	rule_outcome_init(o);
}

/* ---------- one message ---------- */

/* An address as the tests see it, made when a test first asks (most rules
 * read the sender's address only). */
struct addrv {
	const struct address *src;
	bool made;
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
	/* to and cc of a mail with few recipients, and the first values of a
	 * test: no malloc for each mail */
	struct addrv to_few[4], cc_few[4];
	struct value vals_few[16];
	size_t body_len;
	size_t subject_len;
	const char *text; /* subject "\n" body, made when a test asks */
	size_t text_len;
	/* in one block (room_take(), kept from one message to the next): the
	 * candidates, the room of the text and the prefilter's room */
	char *text_mem;
	struct prefilter_run pf; /* its cand, cands and room in the block */
	const char *lang; /* detected, "" when unsure */
	pcre2_match_data *md;
	struct value *vals;
	size_t nvals, capvals;
	struct strlist caps; /* name, value, name, value... of the current rule */
	char *error;         /* why the current rule was skipped */
	const struct test *sure; /* the current rule's test known to match */
};

static void
addrv_make(struct addrv *v)
{
	const struct address *a = v->src;
	const char *at;

	v->made = true;
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
		struct value *more = xreallocarray(c->vals == c->vals_few ? NULL : c->vals,
						   c->capvals * 2, sizeof(*c->vals));

		if (c->vals == c->vals_few)
			memcpy(more, c->vals_few, sizeof(c->vals_few));
		c->vals = more;
		c->capvals *= 2;
	}
	c->vals[c->nvals].s = s;
	c->vals[c->nvals].len = len;
	c->nvals++;
}

static void
val_addr(struct ctx *c, struct addrv *a, unsigned part)
{
	if (!a->made)
		addrv_make(a);
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

/* subject (slen bytes) "\n" the first blen bytes of body into t, and its
 * length. */
static char *
join_text(char *t, const char *subject, size_t slen, const char *body, size_t blen,
	  size_t *len_r)
{
	memcpy(t, subject, slen);
	t[slen] = '\n';
	if (blen)
		memcpy(t + slen + 1, body, blen);
	t[slen + 1 + blen] = '\0';
	*len_r = slen + 1 + blen;
	return t;
}

/* The gazetteer's members for the sender's domain or named in the text. */
static void
gazetteer_values(struct ctx *c, enum field f)
{
	const char *found[64];
	size_t n;

	if (f == F_FROM_INSTITUTION || f == F_FROM_COUNTRY) {
		const char *member;

		if (!c->from.made)
			addrv_make(&c->from);
		member = rules_gazetteer_domain(c->rs, c->from.domain, f == F_FROM_COUNTRY);
		if (member)
			val_add(c, member, strlen(member));
		return;
	}
	if (f == F_SUBJECT_INSTITUTION)
		n = rules_gazetteer_text(c->rs, c->m->subject, c->subject_len, found,
					 ARRAY_SIZE(found));
	else
		n = rules_gazetteer_body(c->rs, c->m->body ? c->m->body : "", c->body_len, found,
					 ARRAY_SIZE(found));
	for (size_t i = 0; i < n; i++)
		val_add(c, found[i], strlen(found[i]));
}

/* The message's flags by name (enum message_flag), for "flags has". */
static void
flag_values(struct ctx *c)
{
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
		if (c->m->flags & fl[i].f)
			val_add(c, fl[i].name, strlen(fl[i].name));
}

/* A ticket field's values (ticket.queue...); none without a ticket. */
static void
ticket_values(struct ctx *c, enum field f)
{
	const struct ticket *t = c->t;
	const char *v = NULL;

	if (!t)
		return;
	switch (f) {
	case F_T_QUEUE:
		v = t->queue;
		break;
	case F_T_STATUS:
		v = t->status;
		break;
	case F_T_CATEGORY:
		v = t->category;
		break;
	case F_T_PRIORITY:
		v = t->priority;
		break;
	case F_T_LANGUAGE:
		v = t->language;
		break;
	case F_T_ASSIGNEE:
		v = t->assignee;
		break;
	case F_T_REQUESTER:
		v = t->requester;
		break;
	case F_T_TAGS:
		for (size_t i = 0; i < t->tags.n; i++)
			val_add(c, t->tags.items[i], strlen(t->tags.items[i]));
		return;
	default:
		return;
	}
	val_add(c, tstr(v), strlen(tstr(v)));
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
		val_add(c, m->subject, c->subject_len);
		break;
	case F_BODY:
		val_add(c, m->body ? m->body : "", c->body_len);
		break;
	case F_TEXT:
		if (!c->text)
			c->text = join_text(c->text_mem, m->subject, c->subject_len, m->body,
					    c->body_len, &c->text_len);
		val_add(c, c->text, c->text_len);
		break;
	case F_HEADER:
		for (size_t i = 0; i < m->nheaders; i++)
			if (rules_same_name(m->headers[i].name, t->header))
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
	case F_FLAGS:
		flag_values(c);
		break;
	case F_MESSAGE_ID:
		val_add(c, m->message_id, strlen(m->message_id));
		break;
	case F_FROM_INSTITUTION:
	case F_FROM_COUNTRY:
	case F_SUBJECT_INSTITUTION:
	case F_BODY_INSTITUTION:
		gazetteer_values(c, t->field);
		break;
	default:
		ticket_values(c, (enum field)t->field);
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

/* ASCII letters alike but for case. */
static bool
ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned)((x | 0x20) - 'a') >= 26u))
			return false;
	}
	return true;
}

/* A plain IS (struct test): the length of the word the value v is (as
 * ^(?:word)$ matches: all of it, or all but a final newline), -1 for none. */
static long
plain_is(const struct test *t, const struct value *v)
{
	for (size_t k = 0; k < t->plain.n; k++) {
		const char *w = t->plain.items[k];
		size_t n = strlen(w);

		if ((v->len == n || (v->len == n + 1 && v->s[n] == '\n')) && ascii_caseeq(v->s, w, n))
			return (long)n;
	}
	return -1;
}

/* 1 matched, 0 not, -1 the rule must be skipped (c->error says why). */
static int
eval_test(struct ctx *c, const struct rule *r, const struct test *t)
{
	const pcre2_code *re;
	char *seen = NULL;
	int res = 0;

	if (t == c->sure)
		return 1;
	field_values(c, t);
	if (t->plain.n) {
		long n = -1;

		for (size_t i = 0; i < c->nvals && n < 0; i++)
			if ((n = plain_is(t, &c->vals[i])) >= 0 && c->fn)
				seen = xstrndup(c->vals[i].s, (size_t)n);
		trace(c, r, RULE_TRACE_TEST, t->text, n >= 0, seen, NULL);
		free(seen);
		return n >= 0;
	}
	if (t->op == OP_EXISTS || t->op == OP_EMPTY) {
		bool any = false;

		for (size_t i = 0; i < c->nvals; i++)
			if (t->field == F_HEADER || c->vals[i].len)
				any = true;
		res = (t->op == OP_EXISTS) == any;
		trace(c, r, RULE_TRACE_TEST, t->text, res, NULL, NULL);
		return res;
	}
	/* a test that captures reads every value: each match's captures count
	 * (score ${name} scores them all) */
	re = atomic_load_explicit(&t->jit, memory_order_acquire);
	if (!re)
		re = t->re;
	for (size_t i = 0; i < c->nvals && (!res || t->capnames.n); i++) {
		int rc = pcre2_match(re, (PCRE2_SPTR)c->vals[i].s, c->vals[i].len, 0, 0, c->md,
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
			/* what matched is for the trace only */
			if (c->fn) {
				free(seen);
				seen = xstrndup(c->vals[i].s + ov[0], ov[1] - ov[0]);
			}
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
expand_captures(const struct ctx *c, const char *s)
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

static char *
expand(const struct ctx *c, const char *s)
{
	return strstr(s, "${") ? expand_captures(c, s) : xstrdup(s);
}

/* An action's argument as it applies: the argument itself when it names no
 * capture (*owned NULL), else its expansion (*owned, to free). */
static const char *
action_arg(const struct ctx *c, const char *s, char **owned)
{
	*owned = strstr(s, "${") ? expand_captures(c, s) : NULL;
	return *owned ? *owned : s;
}

/* Sets *slot when still unset: the first rule to decide a field wins. */
static const char *
set_once(char **slot, const char *v, const char *rule, char **note)
{
	if (*slot) {
		/* the note is for the trace only */
		if (note)
			*note = xasprintf("kept '%s' from an earlier rule", *slot);
		return NULL;
	}
	(void)rule;
	*slot = xstrdup(v);
	return *slot;
}

/* score: a target that is one capture, ${name}, scores every value the
 * rule captured under that name (each once); else the expanded target. */
static char *
score_action(const struct ctx *c, const struct rule *r, const struct action *a,
	     const char *target, struct rule_outcome *out)
{
	const char *t = a->args.items[0];
	size_t n = strlen(t);
	struct strlist done = STRLIST_INIT;
	char *note = NULL;

	if (n < 4 || strncmp(t, "${", 2) != 0 || strchr(t, '}') != t + n - 1)
		return rules_score_add(c->rs, out, target, a->args.items[1], r->name);
	for (size_t i = 0; i + 1 < c->caps.n; i += 2) {
		const char *v = c->caps.items[i + 1];

		if (strlen(c->caps.items[i]) != n - 3 || memcmp(c->caps.items[i], t + 2, n - 3) != 0 ||
		    strlist_contains(&done, v))
			continue;
		strlist_add(&done, v);
		free(note);
		note = rules_score_add(c->rs, out, v, a->args.items[1], r->name);
	}
	if (!done.n)
		note = rules_score_add(c->rs, out, target, a->args.items[1], r->name);
	strlist_release(&done);
	return note;
}

/* A value from mail that an action cannot take: dropped, named in the
 * trace (*note) and in out->errors, so that the ticket is flagged. */
static void __attribute__((format(printf, 5, 6)))
drop_value(const struct rule *r, const struct action *a, struct rule_outcome *out,
	   char **note, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(*note);
	*note = buf_detach(&b, NULL);
	strlist_add_owned(&out->errors, xasprintf("%s:%d: rule '%s': %s", r->file, a->line,
						  r->name, *note));
}

static bool
priority_ok(const char *v)
{
	return !strcmp(v, "low") || !strcmp(v, "normal") || !strcmp(v, "high") ||
	       !strcmp(v, "urgent");
}

/* Two ASCII letters (ISO 639-1), lowercased in place. */
static bool
language_ok(char *v)
{
	for (char *p = v; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return strlen(v) == 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z';
}

/* The tag action: each of its words (arg the first, expanded), those
 * that are no word dropped with a note. */
static void
add_tags(struct ctx *c, const struct rule *r, const struct action *a, const char *arg,
	 struct rule_outcome *out, char **note)
{
	for (size_t k = 0; k < a->args.n; k++) {
		char *tag = k == 0 ? xstrdup(arg) : expand(c, a->args.items[k]);

		/* An empty capture gives no tag, as no capture would. */
		if (*tag && !ticket_word_valid(tag))
			drop_value(r, a, out, note, "tag '%s' dropped: not one word without commas",
				   tag);
		else if (*tag && !strlist_contains(&out->tags, tag))
			strlist_add(&out->tags, tag);
		free(tag);
	}
}

/* No acknowledgement, for the reason why (taken). */
static void
suppress_ack(struct rule_outcome *out, char *why)
{
	out->no_ack = true;
	out->no_ack_reason = why;
}

/* Values are checked here, once the captures are in: a rule's literal
 * values were checked when it was loaded, but ${name} brings text from mail. */
static void
run_actions(struct ctx *c, const struct rule *r, struct rule_outcome *out)
{
	for (size_t i = 0; i < r->nacts && !out->stopped; i++) {
		const struct action *a = &r->acts[i];
		char *owned = NULL, *note = NULL;
		const char *arg = a->args.n ? action_arg(c, a->args.items[0], &owned) : NULL;

		switch (a->kind) {
		case A_ROUTE: {
			const struct queue *q = rules_queue(c->rs, arg);

			if (!q)
				drop_value(r, a, out, &note, "no queue '%s': route dropped", arg);
			else
				set_once(&out->queue, q->id, r->name, c->fn ? &note : NULL);
			break;
		}
		case A_CATEGORY:
			if (!ticket_word_valid(arg))
				drop_value(r, a, out, &note, "category '%s' dropped: not one word "
					   "without commas", arg);
			else
				set_once(&out->category, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_PRIORITY:
			if (!priority_ok(arg))
				drop_value(r, a, out, &note, "priority '%s' dropped: not low, normal, "
					   "high or urgent", arg);
			else
				set_once(&out->priority, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_LANGUAGE:
			/* lowercased in place, as the trace then shows it */
			if (!owned)
				arg = owned = xstrdup(arg);
			if (!language_ok(owned))
				drop_value(r, a, out, &note, "language '%s' dropped: not an ISO 639-1 "
					   "code", arg);
			else
				set_once(&out->language, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_ASSIGN:
			if (!ticket_word_valid(arg))
				drop_value(r, a, out, &note, "assignee '%s' dropped: not one word "
					   "without commas", arg);
			else
				set_once(&out->assignee, arg, r->name, c->fn ? &note : NULL);
			break;
		case A_TAG:
			add_tags(c, r, a, arg, out, &note);
			break;
		case A_NOACK:
			if (!out->no_ack)
				suppress_ack(out, arg && *arg ? xasprintf("rule '%s': %s", r->name, arg)
							      : xasprintf("rule '%s'", r->name));
			else
				note = xstrdup("already suppressed");
			break;
		case A_SPAM:
			out->spam = true;
			if (!out->no_ack)
				suppress_ack(out, xasprintf("rule '%s': spam", r->name));
			break;
		case A_STOP:
			out->stopped = true;
			break;
		case A_SCORE:
			note = score_action(c, r, a, arg, out);
			break;
		}
		trace(c, r, RULE_TRACE_ACTION, a->text, true, arg, note);
		free(owned);
		free(note);
	}
}

/* The room of the text (field_values()) in that block. */
static size_t
text_room(const struct ctx *c)
{
	return c->subject_len + 1 + c->body_len + 1;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The candidates in rule order: a few as a rule, sorted in place; many
 * (thousands of rules) by qsort. */
static void
cands_sort(uint32_t *v, size_t n)
{
	if (n > 32) {
		qsort(v, n, sizeof(*v), u32_cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void
node_jit(struct node *n)
{
	pcre2_code *copy;

	for (size_t i = 0; i < n->nkids; i++)
		node_jit(n->kids[i]);
	if (!n->test || !n->test->re || atomic_load(&n->test->jit))
		return;
	copy = pcre2_code_copy(n->test->re);
	if (!copy)
		return;
	/* a copy, published whole: another thread may be matching re now */
	if (pcre2_jit_compile(copy, PCRE2_JIT_COMPLETE) == 0)
		atomic_store_explicit(&n->test->jit, copy, memory_order_release);
	else
		pcre2_code_free(copy);
}

/* Compiles every pattern's JIT copy and publishes it (test.jit); called
 * once, by the rules_apply() that reaches RULES_JIT_AFTER. Other threads
 * go on matching with the interpreter meanwhile. */
static void
rules_jit(const struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].cond)
			node_jit(rs->rules[i].cond);
}

/* Evaluates one rule and runs its actions when it matches; sure: the
 * prefilter saw a word that proves its sure test matches (PREFILTER_SURE),
 * which is then not run. */
static void
try_rule(struct ctx *c, const struct rule *r, struct rule_outcome *out, bool sure)
{
	int v;

	trace(c, r, RULE_TRACE_RULE, NULL, false, NULL, NULL);
	strlist_release(&c->caps);
	c->sure = sure ? r->sure : NULL;
	v = r->cond ? eval_node(c, r, r->cond) : 1;
	if (v < 0) {
		strlist_add(&out->errors, c->error);
		trace(c, r, RULE_TRACE_ERROR, NULL, false, NULL, c->error);
		return;
	}
	trace(c, r, RULE_TRACE_END, NULL, v, NULL, NULL);
	if (v)
		run_actions(c, r, out);
}

static size_t
align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Lays out c's block (the candidates, zeroed; the text's room and the
 * prefilter's: sizes from c->subject_len and c->body_len) and its match
 * data: rs->room's when no other thread has it (*mine), else new ones.
 * Returns the block, to free unless *mine. */
static char *
room_take(struct ctx *c, bool *mine)
{
	const struct ruleset *rs = c->rs;
	struct rules_room *rr = rs->room;
	size_t cands = align16((rs->nrules + 1) * sizeof(*c->pf.cands));
	size_t cand = align16(rs->nrules + 1);
	size_t text = align16(text_room(c));
	size_t need = cands + cand + text + prefilter_room(rs, c->subject_len, c->body_len);
	char *mem;

	*mine = rr && !atomic_exchange_explicit(&rr->busy, true, memory_order_acquire);
	if (*mine) {
		if (rr->cap < need) {
			free(rr->mem);
			rr->mem = xmalloc(need);
			rr->cap = need;
		}
		if (!rr->md)
			rr->md = pcre2_match_data_create(rs->max_ovector, NULL);
		mem = rr->mem;
		c->md = rr->md;
	} else {
		mem = xmalloc(need);
		c->md = pcre2_match_data_create(rs->max_ovector, NULL);
	}
	c->pf.cands = (uint32_t *)(void *)mem;
	c->pf.cand = (unsigned char *)mem + cands;
	memset(c->pf.cand, 0, rs->nrules + 1);
	c->text_mem = mem + cands + cand;
	c->pf.room = mem + cands + cand + text;
	return mem;
}

/* c for message m: its addresses, the lengths its tests see. */
static void
ctx_init(struct ctx *c, const struct ruleset *rs, const struct message *m,
	 const struct ticket *t)
{
	memset(c, 0, sizeof(*c));
	c->rs = rs;
	c->m = m;
	c->t = t;
	c->from.src = &m->from;
	c->sender.src = &m->sender;
	c->reply_to.src = &m->reply_to;
	c->to = m->nto <= ARRAY_SIZE(c->to_few) ? c->to_few : xcalloc(m->nto, sizeof(*c->to));
	c->cc = m->ncc <= ARRAY_SIZE(c->cc_few) ? c->cc_few : xcalloc(m->ncc, sizeof(*c->cc));
	c->vals = c->vals_few;
	c->capvals = ARRAY_SIZE(c->vals_few);
	for (size_t i = 0; i < m->nto; i++)
		c->to[i].src = &m->to[i];
	for (size_t i = 0; i < m->ncc; i++)
		c->cc[i].src = &m->cc[i];
	c->body_len = m->body ? strlen(m->body) : 0;
	if (c->body_len > RULES_BODY_MAX) {
		c->body_len = RULES_BODY_MAX;
		while (c->body_len > 0 && ((unsigned char)m->body[c->body_len] & 0xc0) == 0x80)
			c->body_len--;
	}
	c->subject_len = strlen(m->subject);
}

static void
ctx_release(struct ctx *c, char *room, bool mine)
{
	strlist_release(&c->caps);
	free(c->error);
	if (c->vals != c->vals_few)
		free(c->vals);
	if (mine) {
		atomic_store_explicit(&c->rs->room->busy, false, memory_order_release);
	} else {
		free(room);
		pcre2_match_data_free(c->md);
	}
	free(c->from.domain);
	free(c->sender.domain);
	free(c->reply_to.domain);
	for (size_t i = 0; i < c->m->nto; i++)
		free(c->to[i].domain);
	for (size_t i = 0; i < c->m->ncc; i++)
		free(c->cc[i].domain);
	if (c->to != c->to_few)
		free(c->to);
	if (c->cc != c->cc_few)
		free(c->cc);
}

/* For the trace: every rule in order, those the prefilter skips named. */
static void
try_every_rule(struct ctx *c, struct rule_outcome *out)
{
	const struct ruleset *rs = c->rs;

	for (size_t i = 0; i < rs->nrules && !out->stopped; i++) {
		if (rs->rules[i].lits.n && !c->pf.cand[i] && !c->pf.hazard) {
			trace(c, &rs->rules[i], RULE_TRACE_SKIP, NULL, false, NULL,
			      "none of the words it needs is in the message");
			continue;
		}
		try_rule(c, &rs->rules[i], out, false);
	}
}

/* Only the rules the prefilter let through and those without words, in
 * order: the cost of a message does not grow with the rules it skips. */
static void
try_candidates(struct ctx *c, struct rule_outcome *out)
{
	const struct ruleset *rs = c->rs;
	struct prefilter_run *pf = &c->pf;
	size_t a = 0, k = 0;

	if (pf->hazard) {
		/* every rule a candidate, in order, but those its language
		 * rules out */
		pf->ncands = 0;
		for (size_t i = 0; i < rs->nrules; i++)
			if (rs->rules[i].lits.n && !rules_gated(&rs->rules[i], pf->langs))
				pf->cands[pf->ncands++] = (uint32_t)i;
	}
	cands_sort(pf->cands, pf->ncands);
	while (!out->stopped && (a < rs->nalways || k < pf->ncands)) {
		uint32_t i;

		if (k == pf->ncands || (a < rs->nalways && rs->always[a] < pf->cands[k]))
			i = rs->always[a++];
		else
			i = pf->cands[k++];
		if (!rules_gated(&rs->rules[i], pf->langs))
			try_rule(c, &rs->rules[i], out, pf->cand[i] == PREFILTER_SURE);
	}
}

int
rules_apply_trace(const struct ruleset *rs, const struct message *m, const struct ticket *t,
		  struct rule_outcome *out, rule_trace_fn fn, void *arg, struct err *e)
{
	struct ctx c;
	const char *lang;
	char *room;
	bool mine;

	(void)e;
	ctx_init(&c, rs, m, t);
	c.fn = fn;
	c.arg = arg;
	if (rs->room && !rs->room->no_jit &&
	    atomic_fetch_add(&rs->room->applied, 1) + 1 == RULES_JIT_AFTER)
		rules_jit(rs);
	room = room_take(&c, &mine);
	/* The subject counts too: a short mail may say all in it. */
	lang = lang_detect_joined(m->subject, c.subject_len, m->body ? m->body : "", c.body_len,
				  NULL);
	c.lang = lang ? lang : "";
	c.pf.rs = rs;
	c.pf.m = m;
	c.pf.subject_len = c.subject_len;
	c.pf.body_len = c.body_len;
	/* the trace tries every rule the prefilter lets through */
	c.pf.langs = ~(uint64_t)0;
	if (!fn)
		prefilter_gate_language(&c.pf, c.lang);
	prefilter_candidates(&c.pf);
	if (fn)
		try_every_rule(&c, out);
	else
		try_candidates(&c, out);
	rules_score_decide(rs, out);
	if (!out->language && *c.lang)
		out->language = xstrdup(c.lang);
	ctx_release(&c, room, mine);
	return 0;
}

int
rules_apply(const struct ruleset *rs, const struct message *m, const struct ticket *t,
	    struct rule_outcome *out, struct err *e)
{
	return rules_apply_trace(rs, m, t, out, NULL, NULL, e);
}

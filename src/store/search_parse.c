/* The search language (search.h): a recursive descent over the query,
 *   query   = or
 *   or      = and { "OR" and }
 *   and     = unary { ["AND"] unary }
 *   unary   = "NOT" unary | "-" primary | primary
 *   primary = "(" or ")" | term
 *   term    = [field ":"] (word | word"*" | '"' phrase '"')
 * OR, AND and NOT are operators only in upper case, so that "or" and "not"
 * stay searchable words; an unknown field ("Re:", "http:") is text. */
#include "compat.h"

#include <ctype.h>

#include "buf.h"
#include "search.h"
#include "xalloc.h"

/* Deeper nesting is refused rather than recursed into. */
#define SEARCH_DEPTH_MAX 64

struct parser {
	const char *q;
	size_t pos;
	int64_t now;
	int depth;
	struct err *e;
};

static const struct {
	const char *name;
	enum search_kind kind;
	int which; /* enum search_text_in or enum search_attr */
} fields[] = {
	{ "from", SEARCH_TEXT, SEARCH_IN_FROM },
	{ "to", SEARCH_TEXT, SEARCH_IN_TO },
	{ "subject", SEARCH_TEXT, SEARCH_IN_SUBJECT },
	{ "body", SEARCH_TEXT, SEARCH_IN_BODY },
	{ "queue", SEARCH_FIELD, SEARCH_QUEUE },
	{ "status", SEARCH_FIELD, SEARCH_STATUS },
	{ "tag", SEARCH_FIELD, SEARCH_TAG },
	{ "category", SEARCH_FIELD, SEARCH_CATEGORY },
	{ "assignee", SEARCH_FIELD, SEARCH_ASSIGNEE },
	{ "id", SEARCH_FIELD, SEARCH_ID },
	{ "date", SEARCH_DATE, 0 },
	{ "after", SEARCH_DATE, 1 },
	{ "before", SEARCH_DATE, 2 },
};

static const char *const text_in_names[] = { "any", "from", "to", "subject", "body" };
static const char *const attr_names[] = { "queue", "status", "tag", "category", "assignee",
					  "id" };

/* The error at column at (from 1), with the query and a caret under it. */
static struct search_node *
fail_at(struct parser *p, size_t at, const char *what)
{
	size_t len = strlen(p->q), start = 0, shown;

	/* A long query is shown around the spot only. */
	if (at > 60)
		start = at - 60;
	shown = len - start > 120 ? 120 : len - start;
	err_set(p->e, EXIT_USAGE, "search: %s at column %zu:\n  %.*s\n  %*s^", what, at + 1,
		(int)shown, p->q + start, (int)(at - start), "");
	return NULL;
}

static struct search_node *
node_new(enum search_kind kind)
{
	struct search_node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	return n;
}

static struct search_node *
node_join(enum search_kind kind, struct search_node *left, struct search_node *right)
{
	struct search_node *n = node_new(kind);

	n->left = left;
	n->right = right;
	return n;
}

void
search_node_free(struct search_node *n)
{
	if (!n)
		return;
	search_node_free(n->left);
	search_node_free(n->right);
	free(n->value);
	free(n);
}

static void
skip_blanks(struct parser *p)
{
	while (p->q[p->pos] == ' ' || p->q[p->pos] == '\t' || p->q[p->pos] == '\n')
		p->pos++;
}

static bool
ends_word(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '(' || c == ')' ||
	       c == '"';
}

/* Can c begin what follows a '-' (a word, a phrase, a group)? */
static bool
starts_term(char c)
{
	return c == '(' || c == '"' || !ends_word(c);
}

/* Is the next token the operator op (a whole word)? Consumes it if so. */
static bool
take_operator(struct parser *p, const char *op)
{
	size_t n = strlen(op);

	skip_blanks(p);
	if (strncmp(p->q + p->pos, op, n) != 0 || !ends_word(p->q[p->pos + n]))
		return false;
	p->pos += n;
	return true;
}

/* The length of the bare word at pos. */
static size_t
word_length(const struct parser *p)
{
	size_t n = 0;

	while (!ends_word(p->q[p->pos + n]))
		n++;
	return n;
}

/* '"' phrase '"' at pos: its text into *out. */
static int
read_quoted(struct parser *p, char **out)
{
	size_t open = p->pos, n = 0;

	p->pos++;
	while (p->q[p->pos + n] && p->q[p->pos + n] != '"')
		n++;
	if (!p->q[p->pos + n]) {
		fail_at(p, open, "unclosed quote");
		return -1;
	}
	*out = xstrndup(p->q + p->pos, n);
	p->pos += n + 1;
	for (const char *c = *out; *c; c++)
		if (!isspace((unsigned char)*c))
			return 0;
	free(*out);
	*out = NULL;
	fail_at(p, open, "empty phrase");
	return -1;
}

static struct search_node *
text_node(enum search_text_in in, char *value, bool phrase)
{
	struct search_node *n = node_new(SEARCH_TEXT);
	size_t len = strlen(value);

	n->in = in;
	n->phrase = phrase;
	if (!phrase && len > 1 && value[len - 1] == '*') {
		value[len - 1] = '\0';
		n->prefix = true;
	}
	n->value = value;
	return n;
}

/* A word, a prefix or a phrase at pos, for the text field in. */
static struct search_node *
parse_text(struct parser *p, enum search_text_in in)
{
	size_t at = p->pos, n;
	char *value;

	if (p->q[p->pos] == '"')
		return read_quoted(p, &value) < 0 ? NULL : text_node(in, value, true);
	n = word_length(p);
	if (n == 0)
		return fail_at(p, at, in == SEARCH_IN_ANY ? "a word expected" :
				      "a word or \"phrase\" expected after the field");
	if (n == 1 && p->q[at] == '*')
		return fail_at(p, at, "'*' ends a word, it is not one");
	value = xstrndup(p->q + at, n);
	p->pos += n;
	return text_node(in, value, false);
}

static struct search_node *
parse_field(struct parser *p, enum search_attr attr)
{
	size_t at = p->pos, n;
	struct search_node *node;
	char *value;

	if (p->q[p->pos] == '"') {
		if (read_quoted(p, &value) < 0)
			return NULL;
	} else {
		if ((n = word_length(p)) == 0)
			return fail_at(p, at, "a value expected after the field");
		value = xstrndup(p->q + at, n);
		p->pos += n;
	}
	if (attr == SEARCH_ID) {
		const char *d = value + (value[0] == '#');

		if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 18) {
			free(value);
			return fail_at(p, at, "id: takes a ticket number");
		}
		memmove(value, d, strlen(d) + 1);
	}
	node = node_new(SEARCH_FIELD);
	node->attr = attr;
	node->value = value;
	return node;
}

/* Midnight (local time) of y-m-d; mktime normalises a month or day past
 * the end, which gives the start of the next period. */
static int64_t
local_midnight(int y, int m, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1 };

	return (int64_t)mktime(&tm);
}

/* N days, weeks, months or years before now, at the time of day of now. */
static int64_t
time_ago(long count, char unit, int64_t now, const struct tm *today)
{
	int64_t since_midnight;

	if (unit == 'd' || unit == 'w')
		return now - count * (unit == 'd' ? 86400 : 7 * 86400);
	since_midnight = now - local_midnight(today->tm_year + 1900, today->tm_mon + 1,
					      today->tm_mday);
	return local_midnight(today->tm_year + 1900 - (unit == 'y' ? (int)count : 0),
			      today->tm_mon + 1 - (unit == 'm' ? (int)count : 0), today->tm_mday) +
	       since_midnight;
}

/* The period [*start, *end) a date names: YYYY, YYYY-MM, YYYY-MM-DD,
 * today or yesterday; or the moment Nd/Nw/Nm/Ny ago (*start == *end, and
 * *relative set). false when s is none of those. */
static bool
date_period(const char *s, size_t n, int64_t now, int64_t *start, int64_t *end,
	    bool *relative)
{
	time_t t = (time_t)now;
	struct tm today;
	int y = 0, m = 0, d = 0, used = 0;
	long count;
	char *stop;

	localtime_r(&t, &today);
	*relative = false;
	if ((n == 5 && strncmp(s, "today", 5) == 0) || (n == 9 && strncmp(s, "yesterday", 9) == 0)) {
		int back = n == 9;

		*start = local_midnight(today.tm_year + 1900, today.tm_mon + 1, today.tm_mday - back);
		*end = local_midnight(today.tm_year + 1900, today.tm_mon + 1,
				      today.tm_mday - back + 1);
		return true;
	}
	if (n >= 2 && isdigit((unsigned char)s[0]) && strchr("dwmy", s[n - 1]) &&
	    (count = strtol(s, &stop, 10)) >= 0 && count < 10000 && stop == s + n - 1) {
		*start = *end = time_ago(count, s[n - 1], now, &today);
		*relative = true;
		return true;
	}
	if (n == 4 && sscanf(s, "%4d%n", &y, &used) == 1 && used == 4) {
		*start = local_midnight(y, 1, 1);
		*end = local_midnight(y + 1, 1, 1);
	} else if (n == 7 && sscanf(s, "%4d-%2d%n", &y, &m, &used) == 2 && used == 7 && m >= 1 &&
		   m <= 12) {
		*start = local_midnight(y, m, 1);
		*end = local_midnight(y, m + 1, 1);
	} else if (n == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && used == 10 &&
		   m >= 1 && m <= 12 && d >= 1 && d <= 31) {
		*start = local_midnight(y, m, d);
		*end = local_midnight(y, m, d + 1);
	} else {
		return false;
	}
	return y >= 1970 && y < 3000;
}

static struct search_node *
bad_date(struct parser *p, size_t at)
{
	return fail_at(p, at, "a date expected (YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday, "
			      "or Nd, Nw, Nm, Ny ago)");
}

/* date:A..B, date:A.., date:..B, date:A; after:A; before:B. A relative
 * date alone (date:7d) is since then. */
static struct search_node *
parse_date(struct parser *p, int form)
{
	size_t at = p->pos, n = word_length(p);
	const char *v = p->q + at, *dots = NULL;
	int64_t a_start = 0, a_end = 0, b_start = 0, b_end = 0;
	bool a_rel = false, b_rel = false;
	struct search_node *node;

	for (size_t i = 0; i + 1 < n && !dots; i++)
		if (v[i] == '.' && v[i + 1] == '.')
			dots = v + i;
	if (n == 0 || (dots && (form != 0 || n == 2)))
		return bad_date(p, at);
	if (!dots && !date_period(v, n, p->now, &a_start, &a_end, &a_rel))
		return bad_date(p, at);
	if (dots && dots > v &&
	    !date_period(v, (size_t)(dots - v), p->now, &a_start, &a_end, &a_rel))
		return bad_date(p, at);
	if (dots && dots + 2 < v + n &&
	    !date_period(dots + 2, (size_t)(v + n - dots - 2), p->now, &b_start, &b_end, &b_rel))
		return bad_date(p, at + (size_t)(dots + 2 - v));
	p->pos += n;
	node = node_new(SEARCH_DATE);
	if (form == 1 || (form == 0 && !dots && a_rel)) {
		node->from = a_start; /* after:A = date:A.. */
	} else if (form == 2) {
		node->until = a_start; /* before:B: up to B, not B */
	} else if (!dots) {
		node->from = a_start; /* the whole period */
		node->until = a_end;
	} else {
		node->from = a_start;
		node->until = b_end;
	}
	return node;
}

/* field ":" at pos, for a known field name; else -1 (the word is text). */
static int
field_at(const struct parser *p)
{
	const char *w = p->q + p->pos;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		size_t n = strlen(fields[i].name);

		if (strncasecmp(w, fields[i].name, n) == 0 && w[n] == ':')
			return (int)i;
	}
	return -1;
}

static struct search_node *
parse_term(struct parser *p)
{
	int f = field_at(p);

	if (f < 0)
		return parse_text(p, SEARCH_IN_ANY);
	p->pos += strlen(fields[f].name) + 1;
	switch (fields[f].kind) {
	case SEARCH_TEXT:
		return parse_text(p, (enum search_text_in)fields[f].which);
	case SEARCH_FIELD:
		return parse_field(p, (enum search_attr)fields[f].which);
	default:
		return parse_date(p, fields[f].which);
	}
}

static struct search_node *parse_or(struct parser *p);

static struct search_node *
parse_primary(struct parser *p)
{
	struct search_node *inner;
	size_t open;

	skip_blanks(p);
	if (p->q[p->pos] == ')')
		return fail_at(p, p->pos, "')' without '('");
	if (p->q[p->pos] != '(')
		return parse_term(p);
	open = p->pos++;
	if (++p->depth > SEARCH_DEPTH_MAX)
		return fail_at(p, open, "too deeply nested");
	if (!(inner = parse_or(p)))
		return NULL;
	p->depth--;
	skip_blanks(p);
	if (p->q[p->pos] != ')') {
		search_node_free(inner);
		return fail_at(p, open, "'(' without ')'");
	}
	p->pos++;
	return inner;
}

static struct search_node *
parse_unary(struct parser *p)
{
	struct search_node *inner;
	size_t at;

	skip_blanks(p);
	at = p->pos;
	if (take_operator(p, "NOT") || (p->q[p->pos] == '-' && starts_term(p->q[p->pos + 1]) &&
					 ++p->pos)) {
		if (++p->depth > SEARCH_DEPTH_MAX)
			return fail_at(p, at, "too deeply nested");
		inner = p->q[at] == '-' ? parse_primary(p) : parse_unary(p);
		p->depth--;
		return inner ? node_join(SEARCH_NOT, inner, NULL) : NULL;
	}
	if (!p->q[p->pos] || take_operator(p, "OR") || take_operator(p, "AND")) {
		p->pos = at;
		return fail_at(p, at, p->q[at] ? "a word expected before the operator" :
					 "a word expected after the operator");
	}
	return parse_primary(p);
}

static bool
at_end_of_group(struct parser *p)
{
	skip_blanks(p);
	return !p->q[p->pos] || p->q[p->pos] == ')';
}

static struct search_node *
parse_and(struct parser *p)
{
	struct search_node *left = parse_unary(p), *right;

	while (left && !at_end_of_group(p)) {
		size_t at = p->pos;

		if (take_operator(p, "OR")) {
			p->pos = at;
			break;
		}
		take_operator(p, "AND");
		if (!(right = parse_unary(p))) {
			search_node_free(left);
			return NULL;
		}
		left = node_join(SEARCH_AND, left, right);
	}
	return left;
}

static struct search_node *
parse_or(struct parser *p)
{
	struct search_node *left = parse_and(p), *right;

	while (left && take_operator(p, "OR")) {
		if (!(right = parse_and(p))) {
			search_node_free(left);
			return NULL;
		}
		left = node_join(SEARCH_OR, left, right);
	}
	return left;
}

int
search_parse(const char *query, int64_t now, struct search_node **out, struct err *e)
{
	struct parser p = { .q = query, .now = now, .e = e };

	*out = NULL;
	skip_blanks(&p);
	if (!query[p.pos])
		return err_set(e, EXIT_USAGE, "search: no words to search for");
	if (!(*out = parse_or(&p)))
		return -1;
	skip_blanks(&p);
	if (p.q[p.pos]) {
		search_node_free(*out);
		*out = NULL;
		fail_at(&p, p.pos, "')' without '('");
		return -1;
	}
	return 0;
}

static void
node_str(const struct search_node *n, struct buf *b)
{
	switch (n->kind) {
	case SEARCH_AND:
	case SEARCH_OR:
		buf_addstr(b, n->kind == SEARCH_AND ? "(and " : "(or ");
		node_str(n->left, b);
		buf_addch(b, ' ');
		node_str(n->right, b);
		buf_addch(b, ')');
		break;
	case SEARCH_NOT:
		buf_addstr(b, "(not ");
		node_str(n->left, b);
		buf_addch(b, ')');
		break;
	case SEARCH_TEXT:
		buf_addf(b, "%s:%s%s%s%s", text_in_names[n->in], n->phrase ? "\"" : "", n->value,
			 n->phrase ? "\"" : "", n->prefix ? "*" : "");
		break;
	case SEARCH_FIELD:
		buf_addf(b, "%s=%s", attr_names[n->attr], n->value);
		break;
	case SEARCH_DATE:
		buf_addf(b, "date[%lld,%lld)", (long long)n->from, (long long)n->until);
		break;
	}
}

char *
search_node_str(const struct search_node *n)
{
	struct buf b = BUF_INIT;

	node_str(n, &b);
	return buf_detach(&b, NULL);
}

bool
search_date_period(const char *s, int64_t now, int64_t *start, int64_t *end)
{
	bool relative;

	return date_period(s, strlen(s), now, start, end, &relative);
}

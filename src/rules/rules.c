/* rules.c - the rule language: lexer, parser, queue list, PCRE2 compile.
 *
 * A rules file is a list of queue declarations and rules:
 *
 *     queue DE "Germany" language de contact partner-de@icpermed.example
 *
 *     rule "Germany by name"
 *     when any
 *         subject matches /\b(germany|deutschland)\b/i
 *         from.domain is "dlr.de"
 *     then
 *         route DE
 *         stop
 *     end
 *
 * Lines matter (one test or action a line; a list may go on after a comma),
 * indentation does not. Every test is compiled to one PCRE2 pattern at
 * load (JIT), and the literal words a rule needs are kept for the
 * prefilter in rules_match.c. See rules/README for the language. */
#include "compat.h"

#include <dirent.h>
#include <strings.h>

#include "buf.h"
#include "rules_int.h"
#include "xalloc.h"

/* ---------- lexer ---------- */

enum tok_kind { T_EOF, T_NL, T_WORD, T_STRING, T_REGEX, T_COMMA };

struct tok {
	enum tok_kind kind;
	char *text;  /* WORD, STRING, REGEX body */
	char *flags; /* REGEX flags */
	int line, col;
};

struct parser {
	const char *path;
	const char *src;
	size_t len, pos;
	int line, col;
	struct tok tok;      /* current token */
	struct strlist *errs; /* every error of the file */
	bool failed;         /* the current statement failed */
	bool queues_only;    /* rules are skipped, not parsed */
	struct ruleset *rs;
	/* of the rule being parsed: the capture names its tests define */
	struct strlist capnames;
};

static const char *
tok_name(const struct tok *t)
{
	switch (t->kind) {
	case T_EOF:
		return "end of file";
	case T_NL:
		return "end of line";
	case T_COMMA:
		return "','";
	case T_STRING:
		return "a string";
	case T_REGEX:
		return "a pattern";
	case T_WORD:
		return t->text;
	}
	return "?";
}

static void
perr(struct parser *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
perr(struct parser *p, int line, int col, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (p->failed)
		return; /* one error per statement: the rest follow from it */
	p->failed = true;
	buf_addf(&b, "%s:%d:%d: ", p->path, line, col);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	strlist_add_owned(p->errs, buf_detach(&b, NULL));
}

static int
peekc(const struct parser *p, size_t ahead)
{
	return p->pos + ahead < p->len ? (unsigned char)p->src[p->pos + ahead] : -1;
}

static void
advance(struct parser *p)
{
	if (p->src[p->pos] == '\n') {
		p->line++;
		p->col = 1;
	} else if (((unsigned char)p->src[p->pos] & 0xc0) != 0x80) {
		p->col++;
	}
	p->pos++;
}

static int
is_word_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || strchr("_.:@$-+{}*'!?&=%~^|<>", c) != NULL;
}

static void
tok_clear(struct tok *t)
{
	free(t->text);
	free(t->flags);
	memset(t, 0, sizeof(*t));
}

/* A "string" (the opening quote read): \" and \\ are escapes. */
static void
lex_string(struct parser *p)
{
	struct buf b = BUF_INIT;
	int c;

	while ((c = peekc(p, 0)) != '"') {
		if (c == -1 || c == '\n') {
			perr(p, p->tok.line, p->tok.col, "unterminated string (expected '\"')");
			buf_release(&b);
			p->tok.kind = T_EOF;
			return;
		}
		if (c == '\\' && (peekc(p, 1) == '"' || peekc(p, 1) == '\\')) {
			advance(p);
			c = peekc(p, 0);
		}
		buf_addch(&b, c);
		advance(p);
	}
	advance(p);
	p->tok.kind = T_STRING;
	p->tok.text = buf_detach(&b, NULL);
}

/* A /pattern/flags (the opening slash read): \/ is a slash, any other
 * escape is kept for PCRE2. */
static void
lex_pattern(struct parser *p)
{
	struct buf b = BUF_INIT;
	int c;

	while ((c = peekc(p, 0)) != '/') {
		if (c == -1 || c == '\n') {
			perr(p, p->tok.line, p->tok.col,
			     "unterminated pattern (expected '/' before the end of the line)");
			buf_release(&b);
			p->tok.kind = T_EOF;
			return;
		}
		if (c == '\\' && peekc(p, 1) == '/') {
			advance(p);
			c = '/';
		} else if (c == '\\' && peekc(p, 1) != -1 && peekc(p, 1) != '\n') {
			buf_addch(&b, c);
			advance(p);
			c = peekc(p, 0);
		}
		buf_addch(&b, c);
		advance(p);
	}
	advance(p);
	p->tok.kind = T_REGEX;
	p->tok.text = buf_detach(&b, NULL);
	while ((c = peekc(p, 0)) != -1 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
		buf_addch(&b, c);
		advance(p);
	}
	p->tok.flags = buf_detach(&b, NULL);
}

static void
lex_word(struct parser *p)
{
	struct buf b = BUF_INIT;
	int c;

	while ((c = peekc(p, 0)) != -1 && is_word_char(c)) {
		buf_addch(&b, c);
		advance(p);
	}
	p->tok.kind = T_WORD;
	p->tok.text = buf_detach(&b, NULL);
}

/* Reads the next token into p->tok. A newline after a comma is no end of
 * line: long lists may go on over several lines. Errors become a T_EOF
 * after perr (the statement fails, recovery skips on). */
static void
lex(struct parser *p)
{
	bool after_comma = p->tok.kind == T_COMMA;
	int c;

	tok_clear(&p->tok);
again:
	while ((c = peekc(p, 0)) == ' ' || c == '\t' || c == '\r')
		advance(p);
	if (c == '#') {
		while ((c = peekc(p, 0)) != -1 && c != '\n')
			advance(p);
	}
	p->tok.line = p->line;
	p->tok.col = p->col;
	if (c == -1) {
		p->tok.kind = T_EOF;
		return;
	}
	if (c == '\n') {
		advance(p);
		if (after_comma)
			goto again;
		p->tok.kind = T_NL;
		return;
	}
	if (c == ',') {
		advance(p);
		p->tok.kind = T_COMMA;
		return;
	}
	if (c == '"' || c == '/') {
		advance(p);
		if (c == '"')
			lex_string(p);
		else
			lex_pattern(p);
		return;
	}
	if (is_word_char(c)) {
		lex_word(p);
		return;
	}
	perr(p, p->tok.line, p->tok.col, "unexpected character '%c'", c);
	advance(p);
	p->tok.kind = T_EOF;
}

static bool
tok_is(const struct parser *p, const char *word)
{
	return p->tok.kind == T_WORD && strcmp(p->tok.text, word) == 0;
}

/* Expects the end of a line (or of the file). */
static int
expect_nl(struct parser *p, const char *after)
{
	if (p->tok.kind == T_NL || p->tok.kind == T_EOF) {
		if (p->tok.kind == T_NL)
			lex(p);
		return 0;
	}
	perr(p, p->tok.line, p->tok.col, "expected end of line after %s, found %s", after,
	     tok_name(&p->tok));
	return -1;
}

static void
skip_blank(struct parser *p)
{
	while (p->tok.kind == T_NL)
		lex(p);
}

/* ---------- fields ---------- */

static const struct {
	const char *name;
	enum field f;
} fields[] = {
	{ "subject", F_SUBJECT },
	{ "body", F_BODY },
	{ "text", F_TEXT },
	{ "from", F_FROM },
	{ "sender", F_SENDER },
	{ "reply-to", F_REPLY_TO },
	{ "to", F_TO },
	{ "cc", F_CC },
	{ "recipient", F_RCPT },
	{ "attachment.name", F_ATT_NAME },
	{ "attachment.type", F_ATT_TYPE },
	{ "language", F_LANGUAGE },
	{ "flags", F_FLAGS },
	{ "message-id", F_MESSAGE_ID },
	{ "ticket.queue", F_T_QUEUE },
	{ "ticket.status", F_T_STATUS },
	{ "ticket.category", F_T_CATEGORY },
	{ "ticket.priority", F_T_PRIORITY },
	{ "ticket.language", F_T_LANGUAGE },
	{ "ticket.assignee", F_T_ASSIGNEE },
	{ "ticket.tags", F_T_TAGS },
	{ "ticket.requester", F_T_REQUESTER },
	{ "from.institution", F_FROM_INSTITUTION },
	{ "from.country", F_FROM_COUNTRY },
	{ "subject.institution", F_SUBJECT_INSTITUTION },
	{ "body.institution", F_BODY_INSTITUTION },
};

static const char *const addr_parts[] = { "", ".name", ".local", ".domain" };

const char *
rules_field_name(enum field f, char *out, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (fields[i].f == (f & ~FIELD_PART_MASK)) {
			snprintf(out, n, "%s%s", fields[i].name, addr_parts[f & FIELD_PART_MASK]);
			return out;
		}
	snprintf(out, n, "header");
	return out;
}

/* "from.domain" -> F_FROM|PART_DOMAIN; "header:X-Foo" -> F_HEADER. */
static int
field_parse(const char *w, enum field *f, char **header)
{
	*header = NULL;
	if (strncasecmp(w, "header:", 7) == 0 && w[7]) {
		*f = F_HEADER;
		*header = xstrdup(w + 7);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		size_t n = strlen(fields[i].name);

		if (strncmp(w, fields[i].name, n) != 0)
			continue;
		if (w[n] == '\0') {
			*f = fields[i].f;
			return 0;
		}
		if (fields[i].f < F_ADDR_LAST) {
			for (unsigned k = 1; k < ARRAY_SIZE(addr_parts); k++)
				if (strcmp(w + n, addr_parts[k]) == 0) {
					*f = (enum field)(fields[i].f | k);
					return 0;
				}
		}
	}
	return -1;
}

/* ---------- patterns ---------- */

/* PCRE2 source for a literal: every ASCII non-alphanumeric escaped. */
static void
quote_literal(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == ' '))
			buf_addch(b, '\\');
		buf_addch(b, c);
	}
}

static int
compile_test(struct parser *p, struct test *t, const char *pattern, uint32_t opts, int line,
	     int col)
{
	int errcode;
	PCRE2_SIZE erroff;
	uint32_t namecount = 0, entrysize = 0;
	PCRE2_SPTR table = NULL;
	char *factored = opts & PCRE2_EXTENDED ? NULL : rules_factor_alternation(pattern);

	/* a word list grouped by first letter matches where it does, faster;
	 * errors are the pattern's as written */
	if (factored)
		t->re = pcre2_compile((PCRE2_SPTR)factored, PCRE2_ZERO_TERMINATED,
				      opts | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode,
				      &erroff, NULL);
	free(factored);
	if (!t->re)
		t->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				      opts | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
				      &errcode, &erroff, NULL);
	if (!t->re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		perr(p, line, col, "bad pattern: %s (at offset %zu of the pattern)", (char *)msg,
		     (size_t)erroff);
		return -1;
	}
	pcre2_pattern_info(t->re, PCRE2_INFO_CAPTURECOUNT, &t->ncaptures);
	pcre2_pattern_info(t->re, PCRE2_INFO_NAMECOUNT, &namecount);
	pcre2_pattern_info(t->re, PCRE2_INFO_NAMEENTRYSIZE, &entrysize);
	pcre2_pattern_info(t->re, PCRE2_INFO_NAMETABLE, &table);
	for (uint32_t i = 0; i < namecount; i++) {
		PCRE2_SPTR ent = table + i * entrysize;
		int num = (ent[0] << 8) | ent[1];

		strlist_add(&t->capnames, (const char *)ent + 2);
		t->capnums = xreallocarray(t->capnums, i + 1, sizeof(*t->capnums));
		t->capnums[i] = num;
		if (!strlist_contains(&p->capnames, (const char *)ent + 2))
			strlist_add(&p->capnames, (const char *)ent + 2);
	}
	if (t->ncaptures + 1 > p->rs->max_ovector)
		p->rs->max_ovector = t->ncaptures + 1;
	return 0;
}

/* ---------- conditions ---------- */

static struct node *parse_cond(struct parser *p);

static struct node *
node_new(enum node_kind k, int line, int col)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = k;
	n->line = line;
	n->col = col;
	return n;
}

static void
node_add(struct node *n, struct node *kid)
{
	n->kids = xreallocarray(n->kids, n->nkids + 1, sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
}

void
rules_node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		rules_node_free(n->kids[i]);
	free(n->kids);
	if (n->test) {
		pcre2_code_free(n->test->re);
		pcre2_code_free(atomic_load(&n->test->jit));
		free(n->test->header);
		free(n->test->text);
		free(n->test->capnums);
		strlist_release(&n->test->capnames);
		strlist_release(&n->test->plain);
		strlist_release(&n->test->is_values);
		litset_release(&n->test->lits);
		free(n->test);
	}
	free(n);
}

/* Reads "STRING {, STRING}" into list; at least one. */
static int
parse_strings(struct parser *p, struct strlist *list, const char *what)
{
	for (;;) {
		if (p->tok.kind != T_STRING) {
			perr(p, p->tok.line, p->tok.col, "expected %s as a quoted string, found %s",
			     what, tok_name(&p->tok));
			return -1;
		}
		strlist_add(list, p->tok.text);
		lex(p);
		if (p->tok.kind != T_COMMA)
			return 0;
		lex(p);
	}
}

/* Whether each word is printable ASCII without k or s: a caseless match
 * of the whole value is then an ASCII comparison (see struct test). */
static bool
plain_words(const struct strlist *words)
{
	for (size_t i = 0; i < words->n; i++)
		for (const char *c = words->items[i]; *c; c++)
			if (*c < 0x20 || *c > 0x7e || strchr("kKsS", *c))
				return false;
	return true;
}

/* "matches /re/flags" (the current token is 'matches'): t compiled, its
 * words read. 0, or -1 with the error reported. */
static int
parse_matches(struct parser *p, struct test *t)
{
	struct buf pat = BUF_INIT;
	uint32_t opts = 0;
	int line, col, rc = -1;

	t->op = OP_MATCHES;
	lex(p);
	if (p->tok.kind != T_REGEX) {
		perr(p, p->tok.line, p->tok.col,
		     "expected a pattern between slashes after 'matches', found %s",
		     tok_name(&p->tok));
		return -1;
	}
	line = p->tok.line;
	col = p->tok.col;
	for (const char *f = p->tok.flags; *f; f++) {
		switch (*f) {
		case 'i':
			opts |= PCRE2_CASELESS;
			break;
		case 'm':
			opts |= PCRE2_MULTILINE;
			break;
		case 's':
			opts |= PCRE2_DOTALL;
			break;
		case 'x':
			opts |= PCRE2_EXTENDED;
			break;
		case 'w':
			t->words = true;
			break;
		default:
			perr(p, line, col, "unknown pattern flag '%c' (expected i, m, s, x or w)", *f);
			goto out;
		}
	}
	if (t->words)
		buf_addf(&pat, "\\b(?:%s)\\b", p->tok.text);
	else
		buf_addstr(&pat, p->tok.text);
	t->caseless = opts & PCRE2_CASELESS;
	if (compile_test(p, t, buf_cstr(&pat), opts, line, col) < 0)
		goto out;
	/* the pattern as compiled: the 'w' flag's \b count for the
	 * prefilter's word-boundary check */
	if (!(opts & PCRE2_EXTENDED)) {
		rules_literals(buf_cstr(&pat), t->caseless, &t->lits);
		rules_sure_words(buf_cstr(&pat), &t->lits);
	}
	lex(p);
	rc = 0;
out:
	buf_release(&pat);
	return rc;
}

/* "contains [any] S, ..." or "is [any] S, ..." or "is empty" (the current
 * token is 'contains' or 'is'): t compiled (a plain IS is not), its words
 * read. 0, or -1 with the error reported. */
static int
parse_words(struct parser *p, struct test *t, int col)
{
	bool is = tok_is(p, "is");
	struct buf pat = BUF_INIT;
	struct strlist words = STRLIST_INIT;
	int line, rc = -1;

	t->op = is ? OP_IS : OP_CONTAINS;
	lex(p);
	line = p->tok.line;
	if (is && tok_is(p, "empty")) {
		t->op = OP_EMPTY;
		lex(p);
		return 0;
	}
	if (tok_is(p, "any"))
		lex(p);
	if (parse_strings(p, &words, is ? "the value" : "the text to look for") < 0)
		goto out;
	buf_addstr(&pat, is ? "^(?:" : "(?:");
	for (size_t i = 0; i < words.n; i++) {
		if (!*words.items[i] && !is) {
			perr(p, line, col, "empty text after 'contains'");
			goto out;
		}
		if (i)
			buf_addch(&pat, '|');
		quote_literal(&pat, words.items[i]);
	}
	buf_addstr(&pat, is ? ")$" : ")");
	t->caseless = true;
	if (is)
		for (size_t i = 0; i < words.n; i++)
			strlist_add(&t->is_values, words.items[i]);
	if (is && plain_words(&words)) {
		t->plain = words;
		memset(&words, 0, sizeof(words));
	} else if (compile_test(p, t, buf_cstr(&pat), PCRE2_CASELESS, line, col) < 0) {
		goto out;
	}
	rules_literals(buf_cstr(&pat), true, &t->lits);
	rc = 0;
out:
	buf_release(&pat);
	strlist_release(&words);
	return rc;
}

/* FIELD (matches /re/flags | contains [any] "s", ... | is [any] "s", ... |
 * exists | is empty). The text of the test is kept for the trace. */
static struct node *
parse_test(struct parser *p)
{
	struct node *n = node_new(N_TEST, p->tok.line, p->tok.col);
	struct test *t = xcalloc(1, sizeof(*t));
	size_t start = p->pos - strlen(p->tok.text), end;

	n->test = t;
	if (field_parse(p->tok.text, &t->field, &t->header) < 0) {
		perr(p, p->tok.line, p->tok.col,
		     "unknown field '%s' (expected subject, body, text, from, to, cc, recipient, "
		     "sender, reply-to (each also .name, .local, .domain), header:NAME, "
		     "attachment.name, attachment.type, language, flags, message-id or ticket.FIELD)",
		     p->tok.text);
		goto fail;
	}
	lex(p);
	if (tok_is(p, "exists")) {
		t->op = OP_EXISTS;
		lex(p);
	} else if (tok_is(p, "matches")) {
		if (parse_matches(p, t) < 0)
			goto fail;
	} else if (tok_is(p, "contains") || tok_is(p, "is")) {
		if (parse_words(p, t, n->col) < 0)
			goto fail;
	} else {
		perr(p, p->tok.line, p->tok.col,
		     "expected matches, contains, is, is empty or exists after the field, found %s",
		     tok_name(&p->tok));
		goto fail;
	}
	end = p->tok.kind == T_NL || p->tok.kind == T_EOF
		      ? p->pos
		      : p->pos - (p->tok.text ? strlen(p->tok.text) : 1);
	t->text = xstrndup(p->src + start, end - start);
	while (*t->text && strchr(" \t\r\n", t->text[strlen(t->text) - 1]))
		t->text[strlen(t->text) - 1] = '\0';
	return n;
fail:
	rules_node_free(n);
	return NULL;
}

/* Lines of conditions up to 'end' (nested group) or 'then' (the rule's
 * group); the terminator is left as the current token. */
static int
parse_group_body(struct parser *p, struct node *g, bool top)
{
	for (;;) {
		struct node *kid;

		skip_blank(p);
		if (top && tok_is(p, "then"))
			break;
		if (tok_is(p, "end")) {
			if (top) {
				perr(p, p->tok.line, p->tok.col,
				     "expected 'then' and the actions before 'end'");
				return -1;
			}
			break;
		}
		if (p->tok.kind == T_EOF) {
			perr(p, p->tok.line, p->tok.col, "expected %s before the end of the file",
			     top ? "'then'" : "'end' closing the group");
			return -1;
		}
		kid = parse_cond(p);
		if (!kid)
			return -1;
		node_add(g, kid);
		if (expect_nl(p, "a test") < 0)
			return -1;
	}
	if (g->nkids == 0) {
		perr(p, g->line, g->col, "empty group: expected at least one test after '%s'",
		     g->kind == N_ALL ? "all" : "any");
		return -1;
	}
	return 0;
}

/* [not] (TEST | all ... end | any ... end) */
static struct node *
parse_cond(struct parser *p)
{
	struct node *n;

	if (p->tok.kind != T_WORD) {
		perr(p, p->tok.line, p->tok.col, "expected a test (FIELD matches|contains|is ...), "
		     "'all', 'any' or 'not', found %s", tok_name(&p->tok));
		return NULL;
	}
	if (tok_is(p, "not")) {
		n = node_new(N_NOT, p->tok.line, p->tok.col);
		lex(p);
		if (p->tok.kind == T_NL || p->tok.kind == T_EOF) {
			perr(p, p->tok.line, p->tok.col, "expected a test or a group after 'not'");
			rules_node_free(n);
			return NULL;
		}
		node_add(n, parse_cond(p));
		if (!n->kids[0]) {
			rules_node_free(n);
			return NULL;
		}
		return n;
	}
	if (tok_is(p, "all") || tok_is(p, "any")) {
		n = node_new(tok_is(p, "all") ? N_ALL : N_ANY, p->tok.line, p->tok.col);
		lex(p);
		if (tok_is(p, "of"))
			lex(p);
		if (expect_nl(p, n->kind == N_ALL ? "'all'" : "'any'") < 0 ||
		    parse_group_body(p, n, false) < 0) {
			rules_node_free(n);
			return NULL;
		}
		lex(p); /* the group's 'end' */
		return n;
	}
	return parse_test(p);
}

/* ---------- actions ---------- */

static const struct action_def {
	const char *name;
	enum action_kind k;
	int arg; /* 0 none, 1 one, 2 list, 3 optional, 4 two (target and points) */
} actions[] = {
	{ "route", A_ROUTE, 1 },	{ "category", A_CATEGORY, 1 }, { "priority", A_PRIORITY, 1 },
	{ "language", A_LANGUAGE, 1 }, { "tag", A_TAG, 2 },	  { "assign", A_ASSIGN, 1 },
	{ "no-ack", A_NOACK, 3 },	{ "spam", A_SPAM, 0 },	       { "stop", A_STOP, 0 },
	{ "score", A_SCORE, 4 },
};

#define ACTION_LIST \
	"route, score, category, priority, language, tag, assign, no-ack, spam or stop"

/* ${name} in s must be a capture of the rule's tests. */
static int
check_refs(struct parser *p, const char *s, int line, int col)
{
	const char *q = s;

	while ((q = strstr(q, "${"))) {
		const char *end = strchr(q, '}');
		char *name;
		bool ok;

		if (!end) {
			perr(p, line, col, "expected '}' closing '${' in '%s'", s);
			return -1;
		}
		name = xstrndup(q + 2, (size_t)(end - q - 2));
		ok = strlist_contains(&p->capnames, name);
		if (!ok)
			perr(p, line, col,
			     "unknown capture '${%s}' (expected the name of a (?<name>...) group "
			     "of this rule's patterns)",
			     name);
		free(name);
		if (!ok)
			return -1;
		q = end + 1;
	}
	return 0;
}

static bool
priority_valid(const char *s)
{
	return strcmp(s, "low") == 0 || strcmp(s, "normal") == 0 || strcmp(s, "high") == 0 ||
	       strcmp(s, "urgent") == 0;
}

/* `score TARGET N`: a declared queue or category:WORD, and whole points. */
static int
check_score(struct parser *p, const struct action *a)
{
	const char *t;
	int n;

	if (a->args.n < 2) {
		perr(p, a->line, a->col,
		     "expected a queue or category:NAME and points after 'score' (e.g. score DE 4)");
		return -1;
	}
	if (p->tok.kind != T_NL && p->tok.kind != T_EOF) {
		perr(p, p->tok.line, p->tok.col, "'score' takes a target and points, found %s",
		     tok_name(&p->tok));
		return -1;
	}
	t = a->args.items[0];
	if (!strstr(t, "${")) {
		if (strncmp(t, "category:", 9) == 0 ? t[9] == '\0' : !rules_queue(p->rs, t)) {
			perr(p, a->line, a->col + 6,
			     "unknown score target '%s' (expected a declared queue or category:NAME)",
			     t);
			return -1;
		}
	}
	if (!rules_score_points(a->args.items[1], &n)) {
		perr(p, a->line, a->col,
		     "bad points '%s' for 'score' (expected a whole number from -%d to %d)",
		     a->args.items[1], RULES_SCORE_MAX, RULES_SCORE_MAX);
		return -1;
	}
	return 0;
}

/* The action's arguments up to the end of the line, as many as def takes:
 * words or strings, a list separated by commas for a list. */
static int
parse_action_args(struct parser *p, const struct action_def *def, struct action *a)
{
	if (def->arg == 0 && p->tok.kind != T_NL && p->tok.kind != T_EOF) {
		perr(p, p->tok.line, p->tok.col, "'%s' takes no argument, found %s", def->name,
		     tok_name(&p->tok));
		return -1;
	}
	while (def->arg != 0 && p->tok.kind != T_NL && p->tok.kind != T_EOF) {
		if (p->tok.kind != T_WORD && p->tok.kind != T_STRING) {
			perr(p, p->tok.line, p->tok.col, "expected a word or a string after '%s', found %s",
			     def->name, tok_name(&p->tok));
			return -1;
		}
		if (check_refs(p, p->tok.text, p->tok.line, p->tok.col) < 0)
			return -1;
		strlist_add(&a->args, p->tok.text);
		lex(p);
		if (def->arg == 4 && a->args.n < 2)
			continue;
		if (def->arg != 2 || p->tok.kind != T_COMMA)
			break;
		lex(p);
	}
	if (def->arg == 4 && check_score(p, a) < 0)
		return -1;
	if ((def->arg == 1 || def->arg == 2) && a->args.n == 0) {
		perr(p, p->tok.line, p->tok.col, "expected %s after '%s'",
		     a->kind == A_ROUTE ? "a queue" : a->kind == A_TAG ? "a tag" : "a value",
		     def->name);
		return -1;
	}
	return 0;
}

/* A value known when the rules are read (no ${...} in it) must be one
 * its action takes: a declared queue, a priority, a language code, one
 * word for a category, an assignee or each tag. */
static int
check_action_values(struct parser *p, const struct action *a)
{
	if (a->kind != A_SCORE && a->args.n && !strstr(a->args.items[0], "${")) {
		const char *v = a->args.items[0];

		if (a->kind == A_ROUTE && !rules_queue(p->rs, v)) {
			perr(p, a->line, a->col + 6,
			     "unknown queue '%s' (expected a queue declared with 'queue', e.g. DE, EC "
			     "or secretariat)",
			     v);
			return -1;
		}
		if (a->kind == A_PRIORITY && !priority_valid(v)) {
			perr(p, a->line, a->col + 9,
			     "unknown priority '%s' (expected low, normal, high or urgent)", v);
			return -1;
		}
		if (a->kind == A_LANGUAGE &&
		    (strlen(v) != 2 || v[0] < 'a' || v[0] > 'z' || v[1] < 'a' || v[1] > 'z')) {
			perr(p, a->line, a->col + 9,
			     "bad language '%s' (expected an ISO 639-1 code such as en or de)", v);
			return -1;
		}
		if ((a->kind == A_CATEGORY || a->kind == A_ASSIGN) && !ticket_word_valid(v)) {
			perr(p, a->line, a->col, "bad %s '%s' (expected one word without commas)",
			     a->kind == A_CATEGORY ? "category" : "assignee", v);
			return -1;
		}
	}
	for (size_t k = 0; a->kind == A_TAG && k < a->args.n; k++) {
		const char *v = a->args.items[k];

		if (!strstr(v, "${") && !ticket_word_valid(v)) {
			perr(p, a->line, a->col, "bad tag '%s' (expected one word without commas)", v);
			return -1;
		}
	}
	return 0;
}

/* The action as written, from start to the end of its line, without a
 * comment or trailing blanks (for traces). */
static char *
action_source_text(const struct parser *p, size_t start)
{
	char *text = xstrndup(p->src + start, p->pos - start);
	char *nl = strpbrk(text, "\n#");

	if (nl)
		*nl = '\0';
	while (*text && strchr(" \t\r", text[strlen(text) - 1]))
		text[strlen(text) - 1] = '\0';
	return text;
}

static int
parse_action(struct parser *p, struct rule *r)
{
	struct action a = { 0 };
	const struct action_def *def = NULL;
	size_t start = p->pos - strlen(p->tok.text);

	a.line = p->tok.line;
	a.col = p->tok.col;
	for (size_t i = 0; i < ARRAY_SIZE(actions) && !def; i++)
		if (strcmp(actions[i].name, p->tok.text) == 0)
			def = &actions[i];
	if (!def) {
		perr(p, p->tok.line, p->tok.col, "unknown action '%s' (expected " ACTION_LIST ")",
		     p->tok.text);
		return -1;
	}
	a.kind = def->k;
	lex(p);
	if (parse_action_args(p, def, &a) < 0 || check_action_values(p, &a) < 0) {
		strlist_release(&a.args);
		return -1;
	}
	a.text = action_source_text(p, start);
	r->acts = xreallocarray(r->acts, r->nacts + 1, sizeof(*r->acts));
	r->acts[r->nacts++] = a;
	return 0;
}

/* ---------- rules and queues ---------- */

void
rules_rule_release(struct rule *r)
{
	free(r->name);
	rules_node_free(r->cond);
	for (size_t i = 0; i < r->nacts; i++) {
		strlist_release(&r->acts[i].args);
		free(r->acts[i].text);
	}
	free(r->acts);
	litset_release(&r->lits);
}

static int
parse_rule(struct parser *p)
{
	struct rule r = { 0 };

	r.file = p->path;
	r.line = p->tok.line;
	strlist_release(&p->capnames);
	lex(p);
	if (p->tok.kind != T_STRING) {
		perr(p, p->tok.line, p->tok.col, "expected the rule's name as a quoted string, found %s",
		     tok_name(&p->tok));
		return -1;
	}
	r.name = xstrdup(p->tok.text);
	lex(p);
	if (expect_nl(p, "the rule's name") < 0)
		goto fail;
	skip_blank(p);
	if (tok_is(p, "when")) {
		int line = p->tok.line, col = p->tok.col;

		lex(p);
		if (tok_is(p, "all") || tok_is(p, "any")) {
			r.cond = node_new(tok_is(p, "all") ? N_ALL : N_ANY, line, col);
			lex(p);
			if (tok_is(p, "of"))
				lex(p);
			if (expect_nl(p, "'when all' or 'when any'") < 0 ||
			    parse_group_body(p, r.cond, true) < 0)
				goto fail;
		} else {
			/* "when TEST" on one line, or several lines: all of them */
			r.cond = node_new(N_ALL, line, col);
			if (p->tok.kind == T_NL)
				lex(p);
			if (parse_group_body(p, r.cond, true) < 0)
				goto fail;
		}
	}
	skip_blank(p);
	if (!tok_is(p, "then")) {
		perr(p, p->tok.line, p->tok.col, "expected 'when' or 'then', found %s",
		     tok_name(&p->tok));
		goto fail;
	}
	lex(p);
	if (expect_nl(p, "'then'") < 0)
		goto fail;
	for (;;) {
		skip_blank(p);
		if (tok_is(p, "end"))
			break;
		if (p->tok.kind != T_WORD) {
			perr(p, p->tok.line, p->tok.col, "expected an action (" ACTION_LIST
			     ") or 'end', found %s", tok_name(&p->tok));
			goto fail;
		}
		if (parse_action(p, &r) < 0 || expect_nl(p, "the action") < 0)
			goto fail;
	}
	lex(p);
	if (expect_nl(p, "'end'") < 0)
		goto fail;
	if (r.nacts == 0) {
		perr(p, r.line, 1, "rule '%s' has no action (expected at least one after 'then')",
		     r.name);
		goto fail;
	}
	p->rs->rules = xreallocarray(p->rs->rules, p->rs->nrules + 1, sizeof(*p->rs->rules));
	p->rs->rules[p->rs->nrules++] = r;
	return 0;
fail:
	rules_rule_release(&r);
	return -1;
}

static void
queue_release(struct queue *q)
{
	free(q->id);
	free(q->name);
	free(q->language);
	strlist_release(&q->contacts);
}

static void
queue_add(struct ruleset *rs, struct queue *q)
{
	rs->queues = xreallocarray(rs->queues, rs->nqueues + 1, sizeof(*rs->queues));
	rs->queues[rs->nqueues++] = *q;
}

/* queue ID "Name" [language xx] [contact a@b, c@d] */
static int
parse_queue(struct parser *p)
{
	struct queue q = { 0 };
	int line = p->tok.line;

	lex(p);
	if (p->tok.kind != T_WORD) {
		perr(p, p->tok.line, p->tok.col,
		     "expected the queue's id (a country code such as DE, or a word), found %s",
		     tok_name(&p->tok));
		return -1;
	}
	if (rules_queue(p->rs, p->tok.text)) {
		perr(p, p->tok.line, p->tok.col, "queue '%s' declared twice", p->tok.text);
		return -1;
	}
	q.id = xstrdup(p->tok.text);
	lex(p);
	if (p->tok.kind != T_STRING) {
		perr(p, p->tok.line, p->tok.col,
		     "expected the queue's display name as a quoted string, found %s",
		     tok_name(&p->tok));
		goto fail;
	}
	q.name = xstrdup(p->tok.text);
	q.language = xstrdup("");
	lex(p);
	while (p->tok.kind == T_WORD) {
		if (tok_is(p, "language")) {
			lex(p);
			if (p->tok.kind != T_WORD || strlen(p->tok.text) != 2) {
				perr(p, p->tok.line, p->tok.col,
				     "expected an ISO 639-1 language code after 'language', found %s",
				     tok_name(&p->tok));
				goto fail;
			}
			free(q.language);
			q.language = xstrdup(p->tok.text);
			lex(p);
		} else if (tok_is(p, "contact")) {
			lex(p);
			for (;;) {
				if (p->tok.kind != T_WORD || !strchr(p->tok.text, '@')) {
					perr(p, p->tok.line, p->tok.col,
					     "expected an address after 'contact', found %s",
					     tok_name(&p->tok));
					goto fail;
				}
				strlist_add(&q.contacts, p->tok.text);
				lex(p);
				if (p->tok.kind != T_COMMA)
					break;
				lex(p);
			}
		} else {
			perr(p, p->tok.line, p->tok.col,
			     "expected 'language', 'contact' or end of line, found %s", p->tok.text);
			goto fail;
		}
	}
	if (expect_nl(p, "the queue") < 0)
		goto fail;
	(void)line;
	queue_add(p->rs, &q);
	return 0;
fail:
	queue_release(&q);
	return -1;
}

/* Skips to the next line that starts with 'rule' or 'queue'. */
static void
recover(struct parser *p)
{
	for (;;) {
		while (p->tok.kind != T_NL && p->tok.kind != T_EOF)
			lex(p);
		if (p->tok.kind == T_EOF)
			break;
		p->failed = false;
		lex(p);
		p->failed = true;
		if (tok_is(p, "rule") || tok_is(p, "queue") || p->tok.kind == T_EOF)
			break;
	}
	p->failed = false;
}

static void
parse_file(struct ruleset *rs, const char *path, const char *src, size_t len,
	   bool queues_only, struct strlist *errs)
{
	struct parser p = { .queues_only = queues_only };

	p.path = path;
	p.src = src;
	p.len = len;
	p.line = 1;
	p.col = 1;
	p.errs = errs;
	p.rs = rs;
	lex(&p);
	for (;;) {
		skip_blank(&p);
		if (p.tok.kind == T_EOF && !p.failed)
			break;
		if (!p.failed) {
			if (tok_is(&p, "rule") && p.queues_only)
				recover(&p);
			else if (tok_is(&p, "rule"))
				(void)parse_rule(&p);
			else if (tok_is(&p, "queue"))
				(void)parse_queue(&p);
			else
				perr(&p, p.tok.line, p.tok.col,
				     "expected 'rule' or 'queue' at the start of a statement, found %s",
				     tok_name(&p.tok));
		}
		if (p.failed) {
			if (p.tok.kind == T_EOF)
				break;
			recover(&p);
		}
	}
	tok_clear(&p.tok);
	strlist_release(&p.capnames);
}

/* ---------- loading ---------- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;

	if (!f)
		return -1;
	buf_init(&b, 16 * 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			fclose(f);
			buf_release(&b);
			errno = EFBIG;
			return -1;
		}
	if (ferror(f)) {
		fclose(f);
		buf_release(&b);
		return -1;
	}
	fclose(f);
	*data = buf_detach(&b, len);
	return 0;
}
/* The names in d (closed here) that end in suffix, not hidden, in name
 * order, into names. */
static void
names_ending_in(DIR *d, const char *suffix, struct strlist *names)
{
	size_t sl = strlen(suffix);
	struct dirent *de;

	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] != '.' && n > sl && strcmp(de->d_name + n - sl, suffix) == 0)
			strlist_add(names, de->d_name);
	}
	closedir(d);
	if (names->n)
		qsort(names->items, names->n, sizeof(*names->items), name_cmp);
}


/* The *.gazetteer files of dir, in name order, after the queues they name. */
static void
load_gazetteers(struct ruleset *rs, const char *dir, struct strlist *errs)
{
	struct strlist names = STRLIST_INIT;
	DIR *d = opendir(dir);

	if (!d)
		return;
	names_ending_in(d, ".gazetteer", &names);
	for (size_t i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/%s", dir, names.items[i]);
		char *data = NULL;
		size_t len = 0;

		if (read_file(path, &data, &len) < 0)
			strlist_add_owned(errs, xasprintf("%s: cannot read: %s", path,
							  strerror(errno)));
		else
			rules_gazetteer_add(rs, path, data, len, errs);
		free(data);
		free(path);
	}
	strlist_release(&names);
	rules_gazetteer_finish(rs, errs);
}

/* Parses every *.rules file of dir; errors appended to errs. queues_only:
 * the queue list alone (no rule compiled, no gazetteer read). */
static struct ruleset *
load_all(const char *dir, bool queues_only, struct strlist *errs)
{
	struct ruleset *rs = xcalloc(1, sizeof(*rs));
	struct strlist names = STRLIST_INIT;
	DIR *d = opendir(dir);

	rs->max_ovector = 1;
	rs->room = xcalloc(1, sizeof(*rs->room));
	atomic_init(&rs->room->busy, false);
	atomic_init(&rs->room->applied, 0);
	/* JIT where the platform has it (rules_jit()); the interpreter
	 * otherwise, or when SECDESK_PCRE2_NO_JIT is set: JIT code reads
	 * ahead in words, which valgrind reports as invalid reads of the
	 * subject. */
	rs->room->no_jit = getenv("SECDESK_PCRE2_NO_JIT") != NULL;
	if (!d) {
		strlist_add_owned(errs, xasprintf("%s: cannot open the rules folder: %s", dir,
						  strerror(errno)));
		goto done;
	}
	names_ending_in(d, ".rules", &names);
	for (size_t i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/%s", dir, names.items[i]);
		char *data = NULL;
		size_t len = 0;

		strlist_add_owned(&rs->files, path);
		if (read_file(path, &data, &len) < 0) {
			strlist_add_owned(errs, xasprintf("%s: cannot read: %s", path,
							  strerror(errno)));
			continue;
		}
		if (memchr(data, '\0', len))
			strlist_add_owned(errs, xasprintf("%s:1:1: the file holds a NUL byte "
							  "(expected UTF-8 text)", path));
		else
			parse_file(rs, path, data, len, queues_only, errs);
		free(data);
	}
done:
	strlist_release(&names);
	if (!rules_queue(rs, TICKET_DEFAULT_QUEUE)) {
		struct queue q = { 0 };

		q.id = xstrdup(TICKET_DEFAULT_QUEUE);
		q.name = xstrdup("Secretariat");
		q.language = xstrdup("en");
		queue_add(rs, &q);
	}
	if (queues_only)
		return rs;
	load_gazetteers(rs, dir, errs);
	/* after the gazetteer: its names are the words of the institution tests */
	for (size_t i = 0; i < rs->nrules; i++)
		rules_prefilter_rule(rs, &rs->rules[i]);
	rules_prefilter_build(rs);
	return rs;
}

static int
load(const char *dir, bool queues_only, struct ruleset **out, struct err *e)
{
	struct strlist errs = STRLIST_INIT;
	struct ruleset *rs = load_all(dir, queues_only, &errs);

	*out = NULL;
	if (errs.n) {
		if (errs.n > 1)
			err_set(e, EXIT_CONFIG, "%s (and %zu more errors: secdesk rules check)",
				errs.items[0], errs.n - 1);
		else
			err_set(e, EXIT_CONFIG, "%s", errs.items[0]);
		strlist_release(&errs);
		rules_free(&rs);
		return -1;
	}
	rs->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(rs->mctx, RULES_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, RULES_DEPTH_LIMIT);
	pcre2_set_heap_limit(rs->mctx, RULES_HEAP_LIMIT_KIB);
	*out = rs;
	return 0;
}

int
rules_load(const char *dir, struct ruleset **out, struct err *e)
{
	return load(dir, false, out, e);
}

int
rules_load_queues(const char *dir, struct ruleset **out, struct err *e)
{
	return load(dir, true, out, e);
}

size_t
rules_check(const char *dir, struct strlist *errs)
{
	size_t before = errs->n;
	struct ruleset *rs = load_all(dir, false, errs);

	rules_free(&rs);
	return errs->n - before;
}

void
rules_free(struct ruleset **rsp)
{
	struct ruleset *rs = *rsp;

	if (!rs)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rules_rule_release(&rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->nqueues; i++)
		queue_release(&rs->queues[i]);
	free(rs->queues);
	strlist_release(&rs->files);
	pcre2_match_context_free(rs->mctx);
	if (rs->room) {
		free(rs->room->mem);
		if (rs->room->md)
			pcre2_match_data_free(rs->room->md);
		free(rs->room);
	}
	free(rs->bucket_start);
	free(rs->bucket_ent);
	rules_prefilter_keys_free(rs);
	strlist_release(&rs->hdr_names);
	rules_gazetteer_free(rs->gaz);
	free(rs->hay_used);
	free(rs->always);
	free(rs->gated);
	strlist_release(&rs->gate_langs);
	free(rs);
	*rsp = NULL;
}


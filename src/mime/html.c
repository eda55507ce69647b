/* html.c - HTML to readable text over libxml2's HTML push parser with SAX
 * callbacks: no tree is built, so memory stays bounded by the output cap
 * and the parser's element stack, and the parse stops once the text cap is
 * reached. Never regular expressions: a real parser knows what a comment,
 * a CDATA script or an unclosed tag is. */
#include "compat.h"

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <strings.h>

#include "buf.h"
#include "charset.h"
#include "html.h"
#include "lazylib.h"
#include "xalloc.h"

_Static_assert(sizeof(LIBXML2_SONAME) > 1, "the build found no libxml2 to open (Makefile: soname)");

/* libxml2, opened at the first HTML part (lazylib.h). */
#define LIBXML2_FUNCTIONS(F) \
	F(xmlInitParser) F(xmlStopParser) F(htmlCreatePushParserCtxt) F(htmlCtxtUseOptions) \
	F(htmlParseChunk) F(htmlFreeParserCtxt)
static struct {
	LIBXML2_FUNCTIONS(LAZYLIB_MEMBER)
} xml;
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_load(void)
{
	LAZYLIB_LOAD(&xml, LIBXML2_SONAME, LIBXML2_FUNCTIONS);
	/* libxml2's globals, once, before any thread parses. */
	xml.xmlInitParser();
}

#define HTML_MAX_DEPTH 256
#define HTML_MIN_DEPTH 32
#define HTML_ATTR_BUDGET ((uint64_t)50 * 1000 * 1000)
/* End tags times stack depth that libxml2 may scan: a bound on the time
 * one hostile part can take. */
#define HTML_SCAN_BUDGET ((size_t)40 * 1000 * 1000)

struct h2t {
	struct buf out;
	size_t max_out;
	htmlParserCtxtPtr ctxt;
	bool stopped;
	int skip;          /* inside script, style, head, title... */
	int pre;           /* inside pre: whitespace kept */
	bool space;        /* a space is due before the next text */
	int newlines;      /* line breaks due before the next text */
	char *href;        /* the open link's address */
	size_t link_start; /* where its text began in out */
	unsigned depth;    /* open elements, for the cost bound */
	unsigned max_depth;
};

enum tag_kind { T_OTHER, T_SKIP, T_BLOCK, T_PARA, T_BR, T_LI, T_CELL, T_A, T_IMG, T_PRE, T_HR };

/* Sorted by name for bsearch: what each element means for the text.
 * Skipped elements' content is not text for a reader; blocks end a line;
 * paragraphs stand apart with a blank line. */
static const struct tag {
	const char *name;
	enum tag_kind kind;
} tags[] = {
	{ "a", T_A },           { "address", T_BLOCK },  { "article", T_BLOCK },
	{ "aside", T_BLOCK },   { "blockquote", T_PARA }, { "br", T_BR },
	{ "caption", T_BLOCK }, { "center", T_BLOCK },   { "dd", T_BLOCK },
	{ "details", T_BLOCK }, { "div", T_BLOCK },      { "dl", T_BLOCK },
	{ "dt", T_BLOCK },      { "fieldset", T_BLOCK }, { "figcaption", T_BLOCK },
	{ "figure", T_BLOCK },  { "footer", T_BLOCK },   { "form", T_BLOCK },
	{ "h1", T_PARA },       { "h2", T_PARA },        { "h3", T_PARA },
	{ "h4", T_PARA },       { "h5", T_PARA },        { "h6", T_PARA },
	{ "head", T_SKIP },     { "header", T_BLOCK },   { "hr", T_HR },
	{ "iframe", T_SKIP },   { "img", T_IMG },        { "li", T_LI },
	{ "main", T_BLOCK },    { "math", T_SKIP },      { "nav", T_BLOCK },
	{ "noscript", T_SKIP }, { "object", T_SKIP },    { "ol", T_BLOCK },
	{ "p", T_PARA },        { "pre", T_PRE },        { "script", T_SKIP },
	{ "section", T_BLOCK }, { "style", T_SKIP },     { "summary", T_BLOCK },
	{ "svg", T_SKIP },      { "table", T_BLOCK },    { "tbody", T_BLOCK },
	{ "td", T_CELL },       { "template", T_SKIP },  { "tfoot", T_BLOCK },
	{ "th", T_CELL },       { "thead", T_BLOCK },    { "title", T_SKIP },
	{ "tr", T_BLOCK },      { "ul", T_BLOCK },
};

/* tags[] is sorted: the names that start with one byte are a run, found
 * by comparing first bytes only. Most names of a mail (span, font, b, o:p)
 * are then told by one or two strcmp() calls, where a bsearch() over all
 * made six. */
static enum tag_kind
tag_kind(const char *name)
{
	unsigned c = (unsigned char)name[0];
	size_t i = 0, n = ARRAY_SIZE(tags);

	/* the first entry whose name does not start below c */
	while (n > 0) {
		size_t half = n / 2;

		if ((unsigned char)tags[i + half].name[0] < c) {
			i += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	for (; i < ARRAY_SIZE(tags) && (unsigned char)tags[i].name[0] == c; i++) {
		int d = strcmp(name, tags[i].name);

		if (d == 0)
			return tags[i].kind;
		if (d < 0)
			break;
	}
	return T_OTHER;
}

static void
stop_parser(struct h2t *h)
{
	if (!h->stopped) {
		h->stopped = true;
		xml.xmlStopParser(h->ctxt);
	}
}

static bool
at_line_start(const struct h2t *h)
{
	return h->out.len == 0 || h->out.data[h->out.len - 1] == '\n';
}

static void
out_add(struct h2t *h, const char *s, size_t n)
{
	if (h->stopped)
		return;
	if (h->out.len + n > h->max_out) {
		stop_parser(h);
		return;
	}
	buf_add(&h->out, s, n);
}

/* Writes the breaks and the space that are due. */
static void
flush_breaks(struct h2t *h)
{
	if (h->newlines && h->out.len) {
		int have = 0;

		for (size_t i = h->out.len; i > 0 && h->out.data[i - 1] == '\n' && have < 2; i--)
			have++;
		for (int i = have; i < h->newlines; i++)
			out_add(h, "\n", 1);
	} else if (h->space && !at_line_start(h)) {
		out_add(h, " ", 1);
	}
	h->newlines = 0;
	h->space = false;
}

static void
want_breaks(struct h2t *h, int n)
{
	if (n > h->newlines)
		h->newlines = n;
	h->space = false;
}

static void
on_text(void *ctx, const xmlChar *ch, int len)
{
	struct h2t *h = ctx;
	const char *s = (const char *)ch, *end = s + len;

	if (h->skip || h->stopped)
		return;
	if (h->pre) {
		flush_breaks(h);
		out_add(h, s, (size_t)len);
		return;
	}
	while (s < end) {
		const char *w = s;

		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f') {
			h->space = true;
			s++;
			continue;
		}
		while (s < end && !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f'))
			s++;
		flush_breaks(h);
		out_add(h, w, (size_t)(s - w));
		/* The rest of the text right after a word, when it surely fits
		 * under the cap (what it gives is never longer than it): in
		 * one go, each run of whitespace one space, as flush_breaks()
		 * and out_add() would write it a word at a time. */
		if (!h->stopped && h->out.len + (size_t)(end - s) <= h->max_out &&
		    buf_grow(&h->out, (size_t)(end - s)) == 0) {
			char *o = h->out.data + h->out.len;
			bool sp = false;

			while (s < end) {
				if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f') {
					sp = true;
					s++;
					continue;
				}
				if (sp)
					*o++ = ' ';
				sp = false;
				*o++ = *s++;
			}
			h->out.len = (size_t)(o - h->out.data);
			h->out.data[h->out.len] = '\0';
			h->space = sp;
		}
	}
}

static const char *
attr_value(const xmlChar **atts, const char *name)
{
	for (size_t i = 0; atts && atts[i]; i += 2)
		if (strcasecmp((const char *)atts[i], name) == 0)
			return atts[i + 1] ? (const char *)atts[i + 1] : "";
	return NULL;
}

static void
on_start(void *ctx, const xmlChar *tag, const xmlChar **atts)
{
	struct h2t *h = ctx;
	const char *name = (const char *)tag;
	enum tag_kind kind;

	/* libxml2 2.9 looks through its whole element stack for each end
	 * tag: deep nesting times many end tags is quadratic. Real mail nests
	 * a few dozen levels; past HTML_MAX_DEPTH the rest is not read. */
	if (++h->depth > h->max_depth) {
		stop_parser(h);
		return;
	}
	kind = tag_kind(name);
	if (h->skip || kind == T_SKIP) {
		h->skip++;
		return;
	}
	switch (kind) {
	case T_BR:
		/* A line break, not a paragraph: written at once so that two
		 * br make an empty line. */
		out_add(h, "\n", 1);
		h->space = false;
		h->newlines = 0;
		break;
	case T_LI:
		want_breaks(h, 1);
		flush_breaks(h);
		out_add(h, "- ", 2);
		break;
	case T_CELL:
		h->space = true;
		break;
	case T_PRE:
		want_breaks(h, 2);
		h->pre++;
		break;
	case T_HR:
		want_breaks(h, 2);
		flush_breaks(h);
		out_add(h, "----", 4);
		want_breaks(h, 2);
		break;
	case T_PARA:
		want_breaks(h, 2);
		break;
	case T_BLOCK:
		want_breaks(h, 1);
		break;
	case T_A: {
		const char *href = attr_value(atts, "href");

		free(h->href);
		h->href = href && (!strncasecmp(href, "http", 4) || !strncasecmp(href, "mailto:", 7) ||
				   !strncasecmp(href, "ftp", 3))
				  ? xstrdup(href)
				  : NULL;
		h->link_start = h->out.len;
		break;
	}
	case T_IMG: {
		const char *alt = attr_value(atts, "alt");

		if (alt && *alt) {
			flush_breaks(h);
			out_add(h, "[", 1);
			out_add(h, alt, strlen(alt));
			out_add(h, "]", 1);
		}
		break;
	}
	default:
		break;
	}
}

static void
on_end(void *ctx, const xmlChar *tag)
{
	struct h2t *h = ctx;
	const char *name = (const char *)tag;

	if (h->depth)
		h->depth--;
	if (h->skip) {
		h->skip--;
		return;
	}
	enum tag_kind kind = tag_kind(name);
	if (kind == T_A && h->href) {
		const char *text = h->out.data ? h->out.data + h->link_start : "";
		const char *href = h->href;
		size_t tlen = h->out.len - h->link_start;

		if (!strncasecmp(href, "mailto:", 7))
			href += 7;
		/* The address after the text, unless the text is the address. */
		if (!(tlen == strlen(href) && !strncmp(text, href, tlen))) {
			out_add(h, " <", 2);
			out_add(h, h->href, strlen(h->href));
			out_add(h, ">", 1);
		}
		free(h->href);
		h->href = NULL;
	} else if (kind == T_PRE) {
		if (h->pre)
			h->pre--;
		want_breaks(h, 2);
	} else if (kind == T_PARA) {
		want_breaks(h, 2);
	} else if (kind == T_BLOCK || kind == T_LI) {
		want_breaks(h, 1);
	}
}

static void
on_cdata(void *ctx, const xmlChar *ch, int len)
{
	on_text(ctx, ch, len);
}

/* Trailing spaces of lines and runs of blank lines go; valid UTF-8 out. */
static char *
tidy_lines(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	const char *p = s, *end = s + len;
	int blank = 0;
	char *res;

	buf_init(&b, 0);
	while (p < end && (*p == '\n' || *p == ' '))
		p++;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *te = le;

		while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if (te == p) {
			blank++;
		} else {
			if (b.len)
				buf_add(&b, "\n\n", blank ? 2 : 1);
			blank = 0;
			buf_add(&b, p, (size_t)(te - p));
		}
		p = nl ? nl + 1 : end;
	}
	if (b.len)
		buf_addch(&b, '\n');
	res = charset_clean(buf_cstr(&b), b.len);
	buf_release(&b);
	return res;
}

/* libxml2 2.9 checks each attribute of a tag against all before it: a
 * tag with n attributes costs n*n. Returns how much of the input keeps the
 * sum of those costs within the budget (the rest is not read), and counts
 * the end tags on the way. */
static size_t
attr_budget_cut(const char *s, size_t len, size_t *ends_r)
{
	const char *p = s, *end = s + len;
	uint64_t cost = 0;
	size_t ends = 0;

	while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
		const char *gt = memchr(p, '>', (size_t)(end - p));
		const char *stop = gt ? gt : end;
		uint64_t eq = 0;

		if (p + 1 < end && p[1] == '/')
			ends++;
		for (const char *q = p; (q = memchr(q, '=', (size_t)(stop - q))); q++)
			eq++;
		cost += eq * eq;
		if (cost > HTML_ATTR_BUDGET) {
			*ends_r = ends;
			return (size_t)(p - s);
		}
		p = stop;
	}
	*ends_r = ends;
	return len;
}

static void
silent_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

char *
html_to_text(const char *html, size_t len, size_t max_in, size_t max_out, bool *truncated_r)
{
	htmlSAXHandler sax;
	struct h2t h;
	bool truncated = false;
	size_t ends = 0;
	char *res;
	const size_t chunk = 64 * 1024;

	if (!max_in)
		max_in = HTML_MAX_IN;
	if (!max_out)
		max_out = HTML_MAX_OUT;
	if (len > max_in) {
		len = max_in;
		truncated = true;
	}
	{
		size_t keep = attr_budget_cut(html, len, &ends);

		if (keep < len) {
			len = keep;
			truncated = true;
		}
	}
	memset(&sax, 0, sizeof(sax));
	sax.startElement = on_start;
	sax.endElement = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_cdata;
	sax.error = silent_error;
	sax.warning = silent_error;
	memset(&h, 0, sizeof(h));
	buf_init(&h.out, 0);
	/* The text is seldom longer than its HTML: one allocation for most. */
	buf_grow(&h.out, len < max_out ? len : max_out);
	h.max_out = max_out;
	/* The depth allowed shrinks with the number of end tags, so that
	 * their scans stay within the budget. */
	h.max_depth = HTML_MAX_DEPTH;
	if (ends && HTML_SCAN_BUDGET / ends < HTML_MAX_DEPTH)
		h.max_depth = HTML_SCAN_BUDGET / ends < HTML_MIN_DEPTH ? HTML_MIN_DEPTH
								 : (unsigned)(HTML_SCAN_BUDGET / ends);
	pthread_once(&xml_once, xml_load);
	h.ctxt = xml.htmlCreatePushParserCtxt(&sax, &h, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!h.ctxt)
		return charset_clean(html, len);
	xml.htmlCtxtUseOptions(h.ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
					       HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
					       HTML_PARSE_IGNORE_ENC);
	for (size_t off = 0; off < len && !h.stopped; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		xml.htmlParseChunk(h.ctxt, html + off, (int)n, 0);
	}
	if (!h.stopped)
		xml.htmlParseChunk(h.ctxt, NULL, 0, 1);
	if (h.stopped)
		truncated = true;
	xml.htmlFreeParserCtxt(h.ctxt);
	free(h.href);
	res = tidy_lines(buf_cstr(&h.out), h.out.len);
	buf_release(&h.out);
	if (truncated_r)
		*truncated_r = truncated;
	return res;
}

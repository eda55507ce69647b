/* rfc2047.c - encoded words (RFC 2047) and encoded parameters (RFC 2231),
 * decoded to UTF-8 over charset.c.
 *
 * libetpan's decoder converts word by word (losing a character split across
 * two words), maps unknown charsets to Latin-1 and gives up on a whole
 * header for one bad byte; this one joins adjacent words of one charset
 * before converting, and degrades byte by byte. */
#include "compat.h"

#include <ctype.h>
#include <strings.h>

#include "ascii.h"
#include "buf.h"
#include "charset.h"
#include "encodings.h"
#include "rfc2047.h"
#include "xalloc.h"

struct word {
	char charset[64];
	char enc;
	const char *text;
	size_t text_len;
	const char *end; /* just past "?=" */
};

/* Where the next "?=" and the next whitespace are, remembered across
 * the words of one header. */
struct scan {
	const char *close;
	const char *ws;
};

/* Parses "=?charset?E?text?=" at p. */
static bool
word_parse(const char *p, const char *end, struct word *w, struct scan *sc)
{
	const char *q = p + 2, *cs = q, *t;
	size_t n;

	while (q < end && *q != '?' && !isspace((unsigned char)*q))
		q++;
	if (q >= end || *q != '?' || q == cs || (size_t)(q - cs) >= sizeof(w->charset))
		return false;
	n = (size_t)(q - cs);
	memcpy(w->charset, cs, n);
	w->charset[n] = '\0';
	{
		/* RFC 2231 adds a language: charset*lang. */
		char *star = strchr(w->charset, '*');

		if (star)
			*star = '\0';
	}
	if (end - q < 4 || q[2] != '?')
		return false;
	w->enc = (char)toupper((unsigned char)q[1]);
	if (w->enc != 'Q' && w->enc != 'B')
		return false;
	t = q + 3;
	/* The text runs to the first "?=", and must not hold whitespace.
	 * Both are looked up once and remembered for the words that follow
	 * (positions only grow), so a header full of "=?" stays linear. */
	if (sc->close < t) {
		sc->close = memmem(t, (size_t)(end - t), "?=", 2);
		/* None: remembered as the end, where no "?=" fits. */
		if (!sc->close)
			sc->close = end;
	}
	if (sc->close + 2 > end)
		return false;
	if (sc->ws < t) {
		sc->ws = t;
		while (sc->ws < end && !isspace((unsigned char)*sc->ws))
			sc->ws++;
	}
	if (sc->ws < sc->close)
		return false;
	q = sc->close;
	w->text = t;
	w->text_len = (size_t)(q - t);
	w->end = q + 2;
	return true;
}

static void
add_converted(struct buf *out, char *s)
{
	buf_addstr(out, s);
	free(s);
}

static void
flush_pending(struct buf *out, struct buf *pending, const char *charset)
{
	if (pending->len)
		add_converted(out, charset_to_utf8(charset, pending->data, pending->len));
	buf_reset(pending);
}

static bool
all_space(const char *s, const char *end)
{
	for (; s < end; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* Header text may not hold line breaks or tabs: they become spaces. */
static char *
flatten(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return s;
}

/* Most header values are printable ASCII without an encoded word: their
 * decoding is a copy with tabs as spaces (what the general path makes of
 * them, in one pass and one allocation). NULL for any other value. */
static char *
ascii_copy(const char *s, size_t len)
{
	char *res = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= ' ' && c <= '~' && !(c == '=' && i + 1 < len && s[i + 1] == '?')) {
			res[i] = (char)c;
		} else if (c == '\t') {
			res[i] = ' ';
		} else {
			free(res);
			return NULL;
		}
	}
	res[len] = '\0';
	return res;
}

char *
rfc2047_decode(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *plain = s;
	struct buf out = BUF_INIT, pending = BUF_INIT;
	char pending_cs[64] = "";
	struct scan sc = { s, s };
	char *res = ascii_copy(s, len);

	if (res)
		return res;
	if (!memmem(s, len, "=?", 2))
		return flatten(charset_detect_to_utf8(s, len));
	buf_init(&out, 0);
	buf_init(&pending, 0);
	while (p + 1 < end) {
		const char *q = memmem(p, (size_t)(end - p), "=?", 2);
		struct word w;

		if (!q)
			break;
		if (!word_parse(q, end, &w, &sc)) {
			p = q + 2;
			continue;
		}
		/* Whitespace between two encoded words is not text. */
		if (!(pending.len && all_space(plain, q))) {
			flush_pending(&out, &pending, pending_cs);
			if (q > plain)
				add_converted(&out, charset_detect_to_utf8(plain, (size_t)(q - plain)));
		} else if (strcasecmp(pending_cs, w.charset) != 0) {
			flush_pending(&out, &pending, pending_cs);
		}
		snprintf(pending_cs, sizeof(pending_cs), "%s", w.charset);
		if (w.enc == 'B')
			base64_decode(&pending, w.text, w.text_len, BASE64_PAD_ENDS);
		else
			qp_decode(&pending, w.text, w.text_len, QP_ENCODED_WORD);
		p = plain = w.end;
	}
	flush_pending(&out, &pending, pending_cs);
	if (end > plain)
		add_converted(&out, charset_detect_to_utf8(plain, (size_t)(end - plain)));
	buf_release(&pending);
	/* The pieces are clean each; cleaning the whole once more is cheap
	 * and keeps the promise whatever the pieces were. */
	res = charset_clean(buf_cstr(&out), out.len);
	buf_release(&out);
	return flatten(res);
}

/* One parameter occurrence: name, name*, name*N or name*N*. */
struct seg {
	int idx;      /* -1: not a continuation */
	bool ext;     /* ends in '*': percent-encoded, maybe charset'lang' */
	char *value;  /* quotes and quoted-pairs removed */
};

#define MAX_SEGS 64

/* Reads the value at p (quoted, or up to the ';'), into val when keep;
 * returns where the next parameter may start. */
static const char *
param_value(const char *p, bool keep, struct buf *val)
{
	const char *v, *ve;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (keep)
				buf_addch(val, (unsigned char)*p);
		}
		if (*p == '"')
			p++;
		/* Whatever follows the closing quote up to ';' is junk. */
		while (*p && *p != ';')
			p++;
		return p;
	}
	/* Lenient: an unquoted value runs to the ';' (spaces and all),
	 * trailing space trimmed. */
	v = p;
	while (*p && *p != ';')
		p++;
	ve = p;
	while (ve > v && isspace((unsigned char)ve[-1]))
		ve--;
	if (keep)
		buf_add(val, v, (size_t)(ve - v));
	return p;
}

/* Files the value of one occurrence of the parameter, whose name goes on
 * with [rest, ae) ("", "*", "*N" or "*N*"): as the plain value, the
 * extended one, or segment N. Returns the number of segments. */
static size_t
param_occurrence(const char *rest, const char *ae, struct buf *val, struct seg *segs, size_t n,
		 struct seg *plain, struct seg *ext1)
{
	size_t rlen = (size_t)(ae - rest);
	int idx = 0;
	const char *d = rest + 1;

	if (rlen == 0 && !plain->value) {
		plain->value = buf_detach(val, NULL);
	} else if (rlen == 1 && *rest == '*' && !ext1->value) {
		ext1->value = buf_detach(val, NULL);
		ext1->ext = true;
	} else if (rlen >= 2 && *rest == '*' && isdigit((unsigned char)rest[1]) && n < MAX_SEGS) {
		while (d < ae && isdigit((unsigned char)*d) && idx < 1000)
			idx = idx * 10 + (*d++ - '0');
		if (d == ae || (d + 1 == ae && *d == '*')) {
			segs[n].idx = idx;
			segs[n].ext = d + 1 == ae;
			segs[n].value = buf_detach(val, NULL);
			n++;
		}
	}
	return n;
}

/* Parses the parameter list of value (everything after the first ';') and
 * collects the occurrences of name. Returns the number of segments. */
static size_t
param_collect(const char *value, const char *name, struct seg *segs, struct seg *plain,
	      struct seg *ext1)
{
	const char *p = strchr(value, ';');
	size_t nlen = strlen(name), n = 0;

	while (p && *p) {
		const char *a, *ae;
		struct buf val = BUF_INIT;
		bool match;

		while (*p == ';' || isspace((unsigned char)*p))
			p++;
		a = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		if (*p != '=')
			continue;
		ae = p;
		while (ae > a && isspace((unsigned char)ae[-1]))
			ae--;
		p++;
		while (isspace((unsigned char)*p))
			p++;
		buf_init(&val, 0);
		/* Only the values of name are kept; the others are skipped
		 * alike, without a copy. */
		match = (size_t)(ae - a) >= nlen && strncasecmp(a, name, nlen) == 0;
		p = param_value(p, match, &val);
		if (match)
			n = param_occurrence(a + nlen, ae, &val, segs, n, plain, ext1);
		buf_release(&val);
	}
	return n;
}

static void
pct_decode(struct buf *out, const char *s)
{
	for (; *s; s++) {
		int hi = *s == '%' ? ascii_hexval((unsigned char)s[1]) : -1;
		int lo = hi >= 0 ? ascii_hexval((unsigned char)s[2]) : -1;

		if (lo >= 0) {
			buf_addch(out, hi * 16 + lo);
			s += 2;
		} else {
			buf_addch(out, (unsigned char)*s);
		}
	}
}

/* Splits "charset'lang'rest" off an extended value; returns rest. */
static const char *
ext_charset(const char *v, char *cs, size_t cslen)
{
	const char *q1 = strchr(v, '\''), *q2;

	cs[0] = '\0';
	if (!q1 || !(q2 = strchr(q1 + 1, '\'')))
		return v;
	snprintf(cs, cslen, "%.*s", (int)(q1 - v < 63 ? q1 - v : 63), v);
	return q2 + 1;
}

static char *
param_get(const char *value, const char *name, bool raw)
{
	struct seg segs[MAX_SEGS], plain = { -1, false, NULL }, ext1 = { -1, true, NULL };
	size_t n;
	char cs[64] = "", *res = NULL;
	struct buf b = BUF_INIT;

	if (!value || !name)
		return NULL;
	n = param_collect(value, name, segs, &plain, &ext1);
	buf_init(&b, 0);
	if (ext1.value) {
		pct_decode(&b, ext_charset(ext1.value, cs, sizeof(cs)));
	} else if (n > 0) {
		bool any_ext = false;

		/* In index order, stopping at the first gap (RFC 2231 3). */
		for (int want = 0;; want++) {
			size_t i;

			for (i = 0; i < n && segs[i].idx != want; i++)
				;
			if (i == n)
				break;
			if (segs[i].ext) {
				const char *v = segs[i].value;

				if (want == 0)
					v = ext_charset(v, cs, sizeof(cs));
				pct_decode(&b, v);
				any_ext = true;
			} else {
				buf_addstr(&b, segs[i].value);
			}
		}
		if (!any_ext)
			cs[0] = '\0';
		if (b.len == 0 && plain.value)
			buf_addstr(&b, plain.value);
	} else if (plain.value) {
		buf_addstr(&b, plain.value);
	} else {
		goto out;
	}
	if (raw)
		res = buf_detach(&b, NULL);
	else if (cs[0])
		res = flatten(charset_to_utf8(cs, buf_cstr(&b), b.len));
	else
		res = rfc2047_decode(buf_cstr(&b), b.len);
out:
	buf_release(&b);
	for (size_t i = 0; i < n; i++)
		free(segs[i].value);
	free(plain.value);
	free(ext1.value);
	return res;
}

char *
rfc2231_param(const char *value, const char *name)
{
	return param_get(value, name, false);
}

char *
rfc2231_param_raw(const char *value, const char *name)
{
	return param_get(value, name, true);
}

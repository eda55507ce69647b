/* Header blocks: fields, unfolded, and the MIME fields of a part
 * (parse_int.h). */
#include "compat.h"

#include <ctype.h>

#include "ascii.h"
#include "parse_int.h"
#include "xalloc.h"

/* The end of the header block starting at p: just past the empty line (or
 * end). Lines are LF-terminated (the input was normalised). */
const char *
header_block_end(const char *p, const char *end, const char **body_r)
{
	while (p < end) {
		const char *nl;

		if (*p == '\n') {
			*body_r = p + 1;
			return p;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
	}
	*body_r = end;
	return end;
}

bool
header_is_field_start(const char *p, const char *le)
{
	const char *q = p;

	while (q < le && *q != ':' && *q > ' ' && *q < 0x7f)
		q++;
	return q > p && q < le && *q == ':';
}

void
header_fields_each(struct parse_ctx *c, const char *p, const char *end, header_field_fn fn,
		   void *arg)
{
	struct buf val = BUF_INIT;

	if ((size_t)(end - p) > c->lim.max_header_size) {
		end = p + c->lim.max_header_size;
		parse_note(c, MSG_TRUNCATED, "a header block over the size limit was cut");
	}
	buf_init(&val, 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *name = p, *colon, *next;
		bool folded;

		if (!header_is_field_start(p, le)) {
			/* Not a field (a stray continuation or junk): skipped. */
			p = nl ? nl + 1 : end;
			continue;
		}
		colon = memchr(p, ':', (size_t)(le - p));
		next = nl ? nl + 1 : end;
		/* A field of one line is read where it lies; only a folded one
		 * is joined in val. */
		folded = next < end && (*next == ' ' || *next == '\t');
		if (folded) {
			buf_reset(&val);
			buf_add(&val, colon + 1, (size_t)(le - colon - 1));
		}
		/* Continuation lines; the line break goes, the whitespace stays. */
		while (next < end && (*next == ' ' || *next == '\t')) {
			const char *nl2 = memchr(next, '\n', (size_t)(end - next));
			const char *le2 = nl2 ? nl2 : end;

			if (val.len + (size_t)(le2 - next) <= c->lim.max_line_length)
				buf_add(&val, next, (size_t)(le2 - next));
			else
				parse_note(c, MSG_TRUNCATED, "a header field over the line limit was cut");
			next = nl2 ? nl2 + 1 : end;
		}
		{
			const char *v = folded ? buf_cstr(&val) : colon + 1;
			size_t vlen = folded ? val.len : (size_t)(le - colon - 1);

			if (vlen > c->lim.max_line_length) {
				vlen = c->lim.max_line_length;
				parse_note(c, MSG_TRUNCATED, "a header field over the line limit was cut");
			}
			while (vlen && (*v == ' ' || *v == '\t')) {
				v++;
				vlen--;
			}
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			fn(arg, name, (size_t)(colon - name), v, vlen);
		}
		p = next;
	}
	buf_release(&val);
}

void
mime_fields_take(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct mime_fields *h = arg;
	char **slot = NULL;

	if (ascii_eq_ci(name, nlen, "content-type"))
		slot = &h->ctype;
	else if (ascii_eq_ci(name, nlen, "content-transfer-encoding"))
		slot = &h->cte;
	else if (ascii_eq_ci(name, nlen, "content-disposition"))
		slot = &h->cdisp;
	if (slot && !*slot)
		*slot = xstrndup(v, vlen);
}

void
mime_fields_release(struct mime_fields *h)
{
	free(h->ctype);
	free(h->cte);
	free(h->cdisp);
}

/* What header_block_field() looks for and finds. */
struct find_one {
	const char *name;
	char *value;
};

static void
find_field(void *arg, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct find_one *f = arg;

	if (!f->value && ascii_eq_ci(name, nlen, f->name))
		f->value = xstrndup(v, vlen);
}

char *
header_block_field(struct parse_ctx *c, const char *p, const char *end, const char *name)
{
	struct find_one f = { name, NULL };

	header_fields_each(c, p, end, find_field, &f);
	return f.value;
}

/* "type/subtype" lowercased into out; the default when absent or
 * malformed (RFC 2045 5.2). */
void
media_type_of(const char *v, const char *dflt, char *out, size_t n)
{
	size_t i = 0;
	bool slash = false;

	if (!v)
		goto dflt;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && *v != ';' && !isspace((unsigned char)*v) && i + 1 < n; v++) {
		if (*v == '/')
			slash = true;
		out[i++] = (char)tolower((unsigned char)*v);
	}
	out[i] = '\0';
	if (slash && out[0] != '/' && out[i - 1] != '/')
		return;
dflt:
	snprintf(out, n, "%s", dflt);
}

bool
media_type_is(const char *type, const char *prefix)
{
	return strncmp(type, prefix, strlen(prefix)) == 0;
}


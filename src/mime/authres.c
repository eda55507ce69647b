/* Authentication-Results (RFC 8601 section 2.2), read as far as the DMARC
 * verdict needs: authserv-id, version, and each resinfo's method, result
 * and properties. Comments may sit wherever CFWS may. */
#include "compat.h"

#include <strings.h>

#include "ascii.h"
#include "authres.h"
#include "config.h"

#define MAX_ID_LEN CONFIG_AUTHSERV_ID_MAX

/* A token or quoted-string as it lies in the value: quoted ones keep
 * their quotes and escapes. */
struct span {
	const char *p;
	size_t n;
	bool quoted;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Skips white space and (nested) comments; false on an unclosed comment. */
static bool
skip_cfws(const char **pp)
{
	const char *p = *pp;

	for (;;) {
		while (is_wsp(*p))
			p++;
		if (*p != '(')
			break;
		for (size_t depth = 0;;) {
			if (*p == '\0')
				return false;
			if (*p == '\\' && p[1]) {
				p += 2;
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
			p++;
		}
	}
	*pp = p;
	return true;
}

/* A quoted-string at *pp ('"' there): false when it is not closed. */
static bool
read_quoted(const char **pp, struct span *s)
{
	const char *p = *pp + 1;

	while (*p && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	if (*p != '"')
		return false;
	s->p = *pp;
	s->n = (size_t)(p + 1 - *pp);
	s->quoted = true;
	*pp = p + 1;
	return true;
}

/* What MTAs write as a property's value (header.b=ab/c+d=,
 * smtp.mailfrom=a@b): printable ASCII up to white space, ';' or a comment. */
static bool
is_pvalue_char(char c)
{
	return c > ' ' && c < 0x7f && !strchr(";()\"\\", c);
}

/* The unquoted text from *pp to end into s, *pp moved past it; false when
 * it is empty. */
static bool
take_span(const char **pp, const char *end, struct span *s)
{
	if (end == *pp)
		return false;
	s->p = *pp;
	s->n = (size_t)(end - *pp);
	s->quoted = false;
	*pp = end;
	return true;
}

/* A quoted-string, or a run of the characters is_char takes. */
static bool
read_run(const char **pp, struct span *s, bool (*is_char)(char))
{
	const char *p = *pp;

	if (*p == '"')
		return read_quoted(pp, s);
	while (is_char(*p))
		p++;
	return take_span(pp, p, s);
}

/* RFC 2045 value: token / quoted-string. */
static bool
read_value(const char **pp, struct span *s)
{
	return read_run(pp, s, ascii_is_token_char);
}

/* A property's value. RFC 8601 wants a value or [local-part] "@" domain;
 * what MTAs write is read leniently (is_pvalue_char). */
static bool
read_pvalue(const char **pp, struct span *s)
{
	return read_run(pp, s, is_pvalue_char);
}

/* Keyword (RFC 8601: an Ldh-str): letters, digits and inner hyphens. */
static bool
read_keyword(const char **pp, struct span *s)
{
	const char *p = *pp;

	if (!is_alnum(*p))
		return false;
	while (is_alnum(*p) || *p == '-')
		p++;
	if (p[-1] == '-')
		return false;
	return take_span(pp, p, s);
}

static bool
read_digits(const char **pp, struct span *s)
{
	const char *p = *pp;

	while (*p >= '0' && *p <= '9')
		p++;
	return take_span(pp, p, s);
}

static bool
span_is(const struct span *s, const char *want)
{
	return !s->quoted && ascii_eq_ci(s->p, s->n, want);
}

/* Does the value s (a quoted one unescaped) equal want, ignoring ASCII
 * case and a trailing dot on either side (a domain's root)? */
static bool
value_eq(const struct span *s, const char *want)
{
	char got[MAX_ID_LEN + 2];
	const char *p = s->quoted ? s->p + 1 : s->p;
	const char *end = s->quoted ? s->p + s->n - 1 : s->p + s->n;
	size_t n = 0, wn = strlen(want);

	for (; p < end; p++) {
		if (s->quoted && *p == '\\' && p + 1 < end)
			p++;
		if (n == sizeof(got) - 1)
			return false; /* longer than any id or domain */
		got[n++] = *p;
	}
	if (n && got[n - 1] == '.')
		n--;
	if (wn && want[wn - 1] == '.')
		wn--;
	return n == wn && strncasecmp(got, want, n) == 0;
}

/* header.from's domain: the part after the last '@' when it is written as
 * an address (RFC 8601 allows [local-part] "@" domain). */
static struct span
pvalue_domain(struct span s)
{
	const char *at = NULL;

	if (s.quoted)
		return s;
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] == '@')
			at = s.p + i;
	if (at) {
		s.n -= (size_t)(at + 1 - s.p);
		s.p = at + 1;
	}
	return s;
}

static enum authres_dmarc
stronger(enum authres_dmarc a, enum authres_dmarc b)
{
	return a > b ? a : b;
}

/* One resinfo after its ';': method[/version] = result, then an optional
 * reason and the properties. *verdict is raised by a dmarc result for
 * from_domain. */
static bool
read_resinfo(const char **pp, const char *from_domain, enum authres_dmarc *verdict)
{
	const char *p = *pp;
	struct span method, result, v, ptype, prop;
	const struct span *header_from = NULL;
	struct span hf;
	bool dmarc;

	if (!read_keyword(&p, &method) || !skip_cfws(&p))
		return false;
	if (*p == '/') {
		p++;
		if (!skip_cfws(&p) || !read_digits(&p, &v) || !skip_cfws(&p))
			return false;
	}
	if (*p != '=')
		return false;
	p++;
	if (!skip_cfws(&p) || !read_keyword(&p, &result) || !skip_cfws(&p))
		return false;
	dmarc = span_is(&method, "dmarc");
	while (*p && *p != ';') {
		if (!read_keyword(&p, &ptype) || !skip_cfws(&p))
			return false;
		if (span_is(&ptype, "reason") && *p == '=') {
			p++;
			if (!skip_cfws(&p) || !read_value(&p, &v) || !skip_cfws(&p))
				return false;
			continue;
		}
		if (*p != '.')
			return false;
		p++;
		if (!skip_cfws(&p) || !read_keyword(&p, &prop) || !skip_cfws(&p) || *p != '=')
			return false;
		p++;
		if (!skip_cfws(&p) || !read_pvalue(&p, &v) || !skip_cfws(&p))
			return false;
		if (dmarc && span_is(&ptype, "header") && span_is(&prop, "from")) {
			hf = pvalue_domain(v);
			header_from = &hf;
		}
	}
	*pp = p;
	if (!dmarc || (header_from && !value_eq(header_from, from_domain)))
		return true;
	if (span_is(&result, "fail"))
		*verdict = stronger(*verdict, AUTHRES_DMARC_FAIL);
	else if (span_is(&result, "pass"))
		*verdict = stronger(*verdict, AUTHRES_DMARC_PASS);
	else
		*verdict = stronger(*verdict, AUTHRES_DMARC_OTHER);
	return true;
}

/* no-result: "none" as the only thing after the authserv-id's ';'. */
static bool
is_no_result(const char *p)
{
	struct span kw;

	return read_keyword(&p, &kw) && span_is(&kw, "none") && skip_cfws(&p) && *p == '\0';
}

/* The whole field; *ours tells whether its authserv-id is trusted_id, as
 * far as the value could be read to it. */
static enum authres_dmarc
read_field(const char *value, const char *trusted_id, const char *from_domain, bool *ours)
{
	const char *p = value;
	struct span id, ver;
	enum authres_dmarc verdict = AUTHRES_NO_DMARC;
	bool any = false;

	*ours = false;
	if (!skip_cfws(&p) || !read_value(&p, &id))
		return AUTHRES_INVALID;
	*ours = trusted_id && *trusted_id && value_eq(&id, trusted_id);
	if (!skip_cfws(&p))
		return AUTHRES_INVALID;
	/* authres-version: only 1 is defined; another is not ours to read */
	if (*p >= '0' && *p <= '9') {
		if (!read_digits(&p, &ver) || !skip_cfws(&p) || ver.n != 1 || *ver.p != '1')
			return AUTHRES_INVALID;
	}
	while (*p == ';') {
		p++;
		if (!skip_cfws(&p))
			return AUTHRES_INVALID;
		if (*p == '\0' && any)
			break; /* a trailing ';' */
		if (!any && is_no_result(p))
			return *ours ? AUTHRES_NO_DMARC : AUTHRES_NOT_OURS;
		if (!read_resinfo(&p, from_domain, &verdict))
			return AUTHRES_INVALID;
		any = true;
	}
	if (*p != '\0' || !any)
		return AUTHRES_INVALID;
	return *ours ? verdict : AUTHRES_NOT_OURS;
}

bool
authres_id_ok(const char *id)
{
	return ascii_is_token(id, MAX_ID_LEN);
}

enum authres_dmarc
authres_dmarc_field(const char *value, const char *trusted_id, const char *from_domain)
{
	bool ours;

	return read_field(value, trusted_id, from_domain ? from_domain : "", &ours);
}

enum authres_dmarc
authres_dmarc_message(const struct header *h, size_t n, const char *trusted_id,
		      const char *from_domain)
{
	enum authres_dmarc verdict = AUTHRES_NOT_OURS, v;
	bool in_block = false, ours;

	if (!trusted_id || !*trusted_id)
		return AUTHRES_NOT_OURS;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, "Received") == 0) {
			if (in_block)
				break;
			continue;
		}
		if (strcasecmp(h[i].name, "Authentication-Results") != 0)
			continue;
		v = read_field(h[i].value, trusted_id, from_domain ? from_domain : "", &ours);
		if (!ours)
			continue;
		in_block = true;
		verdict = stronger(verdict, v == AUTHRES_INVALID ? AUTHRES_NO_DMARC : v);
	}
	return verdict;
}

const char *
authres_dmarc_str(enum authres_dmarc v)
{
	switch (v) {
	case AUTHRES_INVALID:
		return "invalid";
	case AUTHRES_NOT_OURS:
		return "not ours";
	case AUTHRES_NO_DMARC:
		return "no dmarc result";
	case AUTHRES_DMARC_OTHER:
		return "other";
	case AUTHRES_DMARC_PASS:
		return "pass";
	case AUTHRES_DMARC_FAIL:
		return "fail";
	}
	return "?";
}

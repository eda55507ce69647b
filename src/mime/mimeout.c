/* Well-formed MIME for outgoing mail (mimeout.h). */
#include "compat.h"

#include <strings.h>

#include <gnutls/crypto.h>

#include "mimeout.h"
#include "utf8.h"
#include "xalloc.h"

static bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		l = utf8_decode(p + i, n - i, NULL);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

bool
mime_value_ok(const char *v)
{
	if (!v)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return utf8_valid(v, strlen(v));
}

bool
mime_addr_ok(const char *addr)
{
	const char *at;

	/* RFC 5321 4.5.3.1.3: a path is at most 256 octets, brackets included. */
	if (!addr || !*addr || strlen(addr) > MIME_ADDR_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
			return false;
	at = strrchr(addr, '@');
	return at && at != addr && at[1] && strchr(addr, '@') == at;
}

static bool
is_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80)
			return false;
	return true;
}

/* Folding: tokens separated by single spaces, a new line (CRLF SP) before a
 * token that would pass MIME_LINE_MAX. */
struct fold {
	struct buf *b;
	size_t col;
};

static void
fold_start(struct fold *f, struct buf *b, const char *name)
{
	f->b = b;
	buf_addstr(b, name);
	buf_addch(b, ':');
	f->col = strlen(name) + 1;
}

static void
fold_token(struct fold *f, const char *tok, size_t len)
{
	if (f->col + 1 + len > MIME_LINE_MAX && f->col > 1) {
		buf_addstr(f->b, "\r\n ");
		f->col = 1;
	} else {
		buf_addch(f->b, ' ');
		f->col++;
	}
	buf_add(f->b, tok, len);
	f->col += len;
}

static int
fold_end(struct fold *f, struct err *e)
{
	if (buf_addstr(f->b, "\r\n") < 0)
		return err_set(e, EXIT_DATAERR, "mail too large");
	return 0;
}

static bool
q_safe(unsigned char c)
{
	/* RFC 2047 5(3): what may appear in an encoded word in a phrase. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* The length of the character at p (of n bytes); an invalid byte is one. */
static size_t
char_len(const unsigned char *p, size_t n)
{
	size_t l = utf8_decode(p, n, NULL);

	return l ? l : 1;
}

/* Appends to word (wl bytes long) the B encoding of the whole characters
 * of p[0..n) that fit a word of room characters; returns the bytes taken. */
static size_t
word_fill_b(char *word, size_t *wl, const unsigned char *p, size_t n, size_t room)
{
	/* groups of up to 3 bytes per 4 characters, "?=" after them */
	size_t maxbytes = (room - 12) / 4 * 3, take = 0;

	while (take < n) {
		size_t l = char_len(p + take, n - take);

		if (take + l > maxbytes)
			break;
		take += l;
	}
	*wl = (size_t)(base64_encode_to(word + *wl, p, take) - word);
	return take;
}

/* The same in the Q encoding. */
static size_t
word_fill_q(char *word, size_t *wl, const unsigned char *p, size_t n, size_t room)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	while (i < n) {
		size_t l = char_len(p + i, n - i), need = 0;

		for (size_t j = 0; j < l; j++)
			need += (q_safe(p[i + j]) || p[i + j] == ' ') ? 1 : 3;
		if (*wl + need + 2 > room)
			break;
		for (size_t j = 0; j < l; j++) {
			unsigned char c = p[i + j];

			if (c == ' ') {
				word[(*wl)++] = '_';
			} else if (q_safe(c)) {
				word[(*wl)++] = (char)c;
			} else {
				word[(*wl)++] = '=';
				word[(*wl)++] = hex[c >> 4];
				word[(*wl)++] = hex[c & 15];
			}
		}
		i += l;
	}
	return i;
}

/* Appends s as encoded words, none longer than 75 characters and none
 * splitting a character; each goes through the folder. */
static void
fold_encoded(struct fold *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), plain = 0;
	bool b64, fresh = false;

	for (size_t i = 0; i < n; i++)
		plain += q_safe(p[i]) || p[i] == ' ';
	/* Q stays readable for mostly Latin text; B is shorter for the rest:
	 * Q unless it is half as long again as B. */
	b64 = (plain + 3 * (n - plain)) * 2 > (n + 2) / 3 * 4 * 3;
	for (size_t i = 0; i < n;) {
		char word[80];
		size_t wl = 10, room;

		/* A first word shares the line with what is before it, unless
		 * not even one character fits there: then it starts a line. */
		room = !fresh && f->col + 1 < MIME_LINE_MAX - 20 ? MIME_LINE_MAX - f->col - 1 : 75;
		if (room > 75)
			room = 75;
		memcpy(word, b64 ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
		if (b64)
			i += word_fill_b(word, &wl, p + i, n - i, room);
		else
			i += word_fill_q(word, &wl, p + i, n - i, room);
		if (wl == 10) {
			/* An empty word would read as a blank. */
			fresh = true;
			continue;
		}
		fresh = false;
		word[wl++] = '?';
		word[wl++] = '=';
		fold_token(f, word, wl);
	}
}

/* The longest word that fits a continuation line of its own (" word"). */
#define WORD_MAX (MIME_LINE_MAX - 1)

/* A word of l bytes at p that must go as an encoded word: not ASCII, it
 * could be read as one, or too long for a line (RFC 5322 2.1.1 allows
 * 998 octets, and a word cannot be folded). */
static bool
word_needs_encoding(const char *p, size_t l)
{
	if (l > WORD_MAX)
		return true;
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)p[i] >= 0x80 || (p[i] == '=' && i + 1 < l && p[i + 1] == '?'))
			return true;
	return false;
}

static int
check_value(const char *name, const char *value, struct err *e)
{
	if (!mime_value_ok(value))
		return err_set(e, EXIT_DATAERR, "header '%s': refused a value with a line break, "
			       "control character or invalid UTF-8", name);
	return 0;
}

int
mime_header(struct buf *b, const char *name, const char *value, struct err *e)
{
	struct fold f;

	if (check_value(name, value, e) < 0)
		return -1;
	fold_start(&f, b, name);
	/* Words that need it are encoded, the others stay readable (the tag
	 * "[ICPerMed #12]" stays greppable); a run of encoded words is one
	 * run, since the blanks between encoded words vanish when decoded. */
	for (const char *p = value; *p;) {
		const char *run = NULL, *run_end = NULL;
		size_t l;

		p += strspn(p, " \t");
		if (!*p)
			break;
		l = strcspn(p, " \t");
		while (*p) {
			if (!word_needs_encoding(p, l))
				break;
			if (!run)
				run = p;
			run_end = p + l;
			p += l;
			p += strspn(p, " \t");
			l = strcspn(p, " \t");
		}
		if (run) {
			char *r = xstrndup(run, (size_t)(run_end - run)), *o = r;

			/* Blanks inside the run: one space, as between words. */
			for (const char *q = r; *q; q++)
				if (!((*q == ' ' || *q == '\t') && o > r && o[-1] == ' '))
					*o++ = *q == '\t' ? ' ' : *q;
			*o = '\0';
			fold_encoded(&f, r);
			free(r);
			continue;
		}
		fold_token(&f, p, l);
		p += l;
	}
	return fold_end(&f, e);
}

int
mime_header_raw(struct buf *b, const char *name, const char *value, struct err *e)
{
	if (check_value(name, value, e) < 0)
		return -1;
	if (!is_ascii(value))
		return err_set(e, EXIT_DATAERR, "header '%s': refused a non-ASCII value", name);
	return mime_header(b, name, value, e);
}

static bool
atext_phrase(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == ' ' || strchr("!#$%&'*+-/=?^_`{|}~", *p)))
			return false;
	return true;
}

/* name with its blanks made single spaces and trimmed, as the words of a
 * phrase are read back (allocated). */
static char *
phrase_words(const char *name)
{
	char *out = xmalloc(strlen(name) + 1), *o = out;

	for (const char *p = name; *p;) {
		size_t l;

		p += strspn(p, " \t");
		l = strcspn(p, " \t");
		if (!l)
			break;
		if (o != out)
			*o++ = ' ';
		memcpy(o, p, l);
		o += l;
		p += l;
	}
	*o = '\0';
	return out;
}

/* The longest run of non-blanks in s. */
static size_t
longest_word(const char *s)
{
	size_t best = 0;

	for (const char *p = s; *p;) {
		size_t l = strcspn(p, " ");

		if (l > best)
			best = l;
		p += l;
		p += strspn(p, " ");
	}
	return best;
}

/* Appends display name dn (single-spaced, not empty) as atoms, a quoted
 * string or encoded words, whichever keeps every line short. */
static void
fold_phrase(struct fold *f, const char *dn)
{
	struct buf q = BUF_INIT;

	if (!is_ascii(dn) || strstr(dn, "=?") || longest_word(dn) > WORD_MAX) {
		fold_encoded(f, dn);
		return;
	}
	if (atext_phrase(dn)) {
		/* Words fold at their spaces. */
		for (const char *p = dn; *p;) {
			size_t l = strcspn(p, " ");

			fold_token(f, p, l);
			p += l;
			p += strspn(p, " ");
		}
		return;
	}
	buf_addch(&q, '"');
	for (const char *p = dn; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(&q, '\\');
		buf_addch(&q, *p);
	}
	buf_addch(&q, '"');
	/* A quoted string is one token: too long for a line, it goes
	 * encoded. */
	if (q.len > WORD_MAX)
		fold_encoded(f, dn);
	else
		fold_token(f, q.data, q.len);
	buf_release(&q);
}

int
mime_header_addrs(struct buf *b, const char *name, const struct mime_addr *a, size_t n,
		  struct err *e)
{
	struct fold f;

	fold_start(&f, b, name);
	for (size_t i = 0; i < n; i++) {
		char *dn, *angle;

		if (!mime_addr_ok(a[i].addr))
			return err_set(e, EXIT_DATAERR, "header '%s': refused the address '%s'",
				       name, a[i].addr ? a[i].addr : "");
		if (check_value(name, a[i].name ? a[i].name : "", e) < 0)
			return -1;
		dn = phrase_words(a[i].name ? a[i].name : "");
		/* The comma goes with the address, inside the line's 78. */
		if (*dn)
			fold_phrase(&f, dn);
		angle = xasprintf(*dn ? "<%s>%s" : "%s%s", a[i].addr, i + 1 < n ? "," : "");
		fold_token(&f, angle, strlen(angle));
		free(angle);
		free(dn);
	}
	return fold_end(&f, e);
}

/* What mime_text_body makes of each byte: copied, a line end, dropped
 * (CR), or one that calls for an encoding (8-bit, or a control character
 * other than tab). */
enum { BC_PLAIN, BC_LF, BC_CR, BC_HIGH };
static const unsigned char body_class[256] = {
	[0x00 ... 0x08] = BC_HIGH,
	['\n'] = BC_LF,
	[0x0b ... 0x0c] = BC_HIGH,
	['\r'] = BC_CR,
	[0x0e ... 0x1f] = BC_HIGH,
	[0x80 ... 0xff] = BC_HIGH,
};

/* What mime_text_body needs to know of text before it writes: 8-bit and
 * control bytes, the longest line (CRs not counted), CRs and LFs. */
struct body_scan {
	size_t high, longest, ncr, nlf;
};

static void
body_scan(const unsigned char *p, const unsigned char *end, struct body_scan *sc)
{
	size_t cur = 0;

	memset(sc, 0, sizeof(*sc));
	for (; p < end; p++) {
		switch (body_class[*p]) {
		case BC_PLAIN:
			cur++;
			break;
		case BC_HIGH:
			sc->high++;
			cur++;
			break;
		case BC_LF:
			sc->nlf++;
			if (cur > sc->longest)
				sc->longest = cur;
			cur = 0;
			break;
		case BC_CR:
			sc->ncr++;
			break;
		}
	}
	if (cur > sc->longest)
		sc->longest = cur;
}

/* Writes text with CRLF line ends and its CRs dropped at o, which has
 * room for (end - p) + the number of LFs; returns the end. */
static char *
body_normalize(char *o, const unsigned char *p, const unsigned char *end)
{
	for (; p < end; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			*o++ = '\r';
		*o++ = (char)*p;
	}
	return o;
}

int
mime_text_body(struct buf *b, const char *text, struct err *e)
{
	return mime_text_part(b, text, MIME_TEXT_VERSION, e);
}

int
mime_text_part(struct buf *b, const char *text, unsigned flags, struct err *e)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t len = strlen(text), room, nlen;
	struct body_scan sc;
	const char *cte;
	struct buf norm = BUF_INIT, *dst;
	char *o, *start;

	/* One pass to choose the encoding, then CRLF line ends, and a final
	 * one, written where they go: into b itself for 7bit (a partner
	 * notice quotes up to NOTICE_BODY_MAX of the inquiry and is mostly
	 * ASCII), else into a copy for the encoder. */
	body_scan(p, p + len, &sc);
	/* Text without 8-bit bytes is valid UTF-8 as it is. */
	if (sc.high && !utf8_valid(text, len))
		return err_set(e, EXIT_DATAERR, "mail body: invalid UTF-8");
	if (len > SIZE_MAX / 2)
		return err_set(e, EXIT_DATAERR, "mail too large");
	nlen = len - sc.ncr + sc.nlf;
	room = nlen + 2;
	/* Plain ASCII goes as it is (a long line is legal up to 998); the
	 * rest as quoted-printable while mostly Latin, else base64. The
	 * normalized length counts the final CRLF when it is added. */
	{
		/* Does the normalized text end in a line end? Its last byte
		 * that is not a CR is then an LF. */
		size_t i = len;

		while (i > 0 && p[i - 1] == '\r')
			i--;
		if (i == 0 || p[i - 1] != '\n')
			nlen += 2;
	}
	if (sc.high == 0 && sc.longest <= 998)
		cte = "7bit";
	else if (sc.high * 5 <= nlen)
		cte = "quoted-printable";
	else
		cte = "base64";
	if (((flags & MIME_TEXT_VERSION) && buf_addstr(b, "MIME-Version: 1.0\r\n") < 0) ||
	    buf_addstr(b, "Content-Type: text/plain; charset=utf-8") < 0 ||
	    ((flags & MIME_TEXT_FLOWED) && buf_addstr(b, "; format=flowed") < 0) ||
	    buf_addstr(b, "\r\nContent-Transfer-Encoding: ") < 0 || buf_addstr(b, cte) < 0 ||
	    buf_add(b, "\r\n\r\n", 4) < 0)
		return err_set(e, EXIT_DATAERR, "mail too large");
	dst = cte[0] == '7' ? b : &norm;
	if (buf_grow(dst, room) < 0) {
		buf_release(&norm);
		return err_set(e, EXIT_DATAERR, "mail too large");
	}
	start = dst->data + dst->len;
	o = body_normalize(start, p, p + len);
	if (o == start || o[-1] != '\n') {
		*o++ = '\r';
		*o++ = '\n';
	}
	dst->len = (size_t)(o - dst->data);
	dst->data[dst->len] = '\0';
	if (cte[0] == 'q')
		mime_qp_encode(b, norm.data, norm.len);
	else if (cte[0] == 'b')
		mime_base64_encode(b, (const unsigned char *)norm.data, norm.len);
	buf_release(&norm);
	return 0;
}

void
mime_message_id(const char *domain, char *out, size_t n)
{
	unsigned char r[12];
	char hex[25];
	static const char digits[] = "0123456789abcdef";

	/* "TIME.HEX.secdesk@DOMAIN" */
	if (!domain || !*domain)
		domain = "localhost";
	gnutls_rnd(GNUTLS_RND_NONCE, r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++) {
		hex[2 * i] = digits[r[i] >> 4];
		hex[2 * i + 1] = digits[r[i] & 15];
	}
	hex[24] = '\0';
	snprintf(out, n, "%lld.%s.secdesk@%s", (long long)time(NULL), hex, domain);
}

void
mime_date(int64_t t, char *out, size_t n)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, n, "%s, %d %s %d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
		 mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A file name as a MIME parameter: a quoted string when it is printable
 * ASCII, else RFC 2231's charset'' percent-encoding (name*=). */
static void
file_param(struct buf *b, const char *param, const char *filename)
{
	static const char hex[] = "0123456789ABCDEF";
	bool plain = true;

	for (const unsigned char *p = (const unsigned char *)filename; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			plain = false;
	buf_addf(b, "; %s", param);
	if (plain) {
		buf_addstr(b, "=\"");
		for (const char *p = filename; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(b, '\\');
			buf_addch(b, *p);
		}
		buf_addch(b, '"');
		return;
	}
	buf_addstr(b, "*=utf-8''");
	for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			buf_addch(b, (char)*p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

int
mime_attachment_part(struct buf *b, const char *filename, const char *type,
		     const unsigned char *data, size_t len, struct err *e)
{
	const char *name = strrchr(filename, '/');

	name = name ? name + 1 : filename;
	if (!mime_value_ok(name) || !*name)
		return err_set(e, EXIT_DATAERR, "attachment '%s': not a name for mail", filename);
	for (const char *p = type; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ';' || *p == '"')
			return err_set(e, EXIT_DATAERR, "attachment '%s': bad type '%s'", filename,
				       type);
	/* The headers, and base64's 4 bytes per 3 in lines of 76 with CRLF:
	 * room made once, so that no append below can fail. */
	if (len > SIZE_MAX / 2 || buf_grow(b, len / 3 * 4 + len / 57 * 2 + 16 + 12 * strlen(name) +
					   strlen(type) + 256) < 0)
		return err_set(e, EXIT_DATAERR, "attachment '%s': the mail would be too large",
			       filename);
	buf_addstr(b, "Content-Type: ");
	buf_addstr(b, type);
	file_param(b, "name", name);
	buf_addstr(b, "\r\nContent-Disposition: attachment");
	file_param(b, "filename", name);
	buf_addstr(b, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	mime_base64_encode(b, data, len);
	if (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0)
		buf_add(b, "\r\n", 2);
	return 0;
}

int
mime_multipart_begin(struct buf *b, struct mime_multipart *mp, const char *seed, struct err *e)
{
	/* "=_" appears in neither quoted-printable nor base64; the rest is
	 * kept to what a boundary may hold, and under its 70 characters. */
	snprintf(mp->boundary, sizeof(mp->boundary), "=_secdesk_%.40s", seed);
	for (char *p = mp->boundary; *p; p++)
		if (!(*p >= '0' && *p <= '9') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= 'a' && *p <= 'z') && !strchr("'()+_,-./:=?", *p))
			*p = '_';
	if (buf_addf(b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n"
		     "\r\nThis is a message in several parts (MIME).\r\n--%s\r\n", mp->boundary,
		     mp->boundary) < 0)
		return err_set(e, EXIT_DATAERR, "mail too large");
	return 0;
}

int
mime_multipart_file(struct buf *b, const struct mime_multipart *mp, const struct mime_file *f,
		    struct err *e)
{
	size_t mark = b->len;

	if (buf_addf(b, "--%s\r\n", mp->boundary) < 0)
		return err_set(e, EXIT_DATAERR, "the mail with its attachments is too large");
	if (mime_attachment_part(b, f->name, f->type, f->data, f->len, e) < 0) {
		b->len = mark;
		b->data[mark] = '\0';
		return -1;
	}
	return 0;
}

int
mime_multipart_end(struct buf *b, const struct mime_multipart *mp, struct err *e)
{
	if (buf_addf(b, "--%s--\r\n", mp->boundary) < 0)
		return err_set(e, EXIT_DATAERR, "the mail with its attachments is too large");
	return 0;
}

const char *
mime_type_guess(const char *filename)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "pdf", "application/pdf" },
		{ "txt", "text/plain" },
		{ "csv", "text/csv" },
		{ "html", "text/html" },
		{ "htm", "text/html" },
		{ "xml", "application/xml" },
		{ "json", "application/json" },
		{ "rtf", "application/rtf" },
		{ "doc", "application/msword" },
		{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "xls", "application/vnd.ms-excel" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "ppt", "application/vnd.ms-powerpoint" },
		{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
		{ "odt", "application/vnd.oasis.opendocument.text" },
		{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
		{ "odp", "application/vnd.oasis.opendocument.presentation" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "svg", "image/svg+xml" },
		{ "zip", "application/zip" },
		{ "gz", "application/gzip" },
		{ "ics", "text/calendar" },
	};
	const char *base = strrchr(filename, '/'), *dot;

	base = base ? base + 1 : filename;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return "application/octet-stream";
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

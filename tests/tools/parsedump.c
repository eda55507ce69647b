/* parsedump - prints what parse_message() makes of a mail, one normalized
 * field per line and the body last: the format of tests/mail/NNNN.expect.
 * With -c it prints nothing but checks every string of the result (valid
 * UTF-8, no NUL, no control characters but tab and newline in the body)
 * and exits 1 naming the first file that fails.
 * With -m SIZE the maximum message size is SIZE bytes.
 * With -a it prints all of struct message, also what the fixtures leave
 * out (every header field, Sender, Reply-To, Return-Path, the parse note,
 * the attachments' digests): to compare two builds of the parser.
 * usage: parsedump [-a] [-c] [-m SIZE] FILE... */
#include "compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "charset.h"
#include "parse.h"
#include "xalloc.h"

static bool
valid(const char *s, bool multiline)
{
	if (!s)
		return true;
	if (!charset_is_utf8(s, strlen(s)))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t' && !(multiline && *p == '\n')) || *p == 0x7f)
			return false;
	return true;
}

static const char *
check(const struct message *m)
{
	if (!valid(m->subject, false))
		return "subject";
	if (!valid(m->from.name, false) || !valid(m->from.addr, false))
		return "from";
	if (!valid(m->message_id, false) || !valid(m->in_reply_to, false))
		return "message-id";
	if (!valid(m->body, true))
		return "body";
	for (size_t i = 0; i < m->nheaders; i++)
		if (!valid(m->headers[i].name, false) || !valid(m->headers[i].value, false))
			return "header";
	for (size_t i = 0; i < m->nto; i++)
		if (!valid(m->to[i].name, false) || !valid(m->to[i].addr, false))
			return "to";
	for (size_t i = 0; i < m->ncc; i++)
		if (!valid(m->cc[i].name, false) || !valid(m->cc[i].addr, false))
			return "cc";
	for (size_t i = 0; i < m->references.n; i++)
		if (!valid(m->references.items[i], false))
			return "references";
	for (size_t i = 0; i < m->natts; i++)
		if (!valid(m->atts[i].filename, false) || !valid(m->atts[i].content_type, false))
			return "attachment";
	if (!valid(m->returned_message_id, false) || !valid(m->returned_subject, false))
		return "returned";
	if (!valid(m->parse_note, false) || !valid(m->return_path, false))
		return "note";
	return NULL;
}

static void
print_addr(const char *label, const struct address *a)
{
	if (*a->name)
		printf("%s: %s <%s>\n", label, a->name, a->addr);
	else
		printf("%s: %s\n", label, a->addr);
}

/* What dump() leaves out, before it. */
static void
dump_all(const struct message *m)
{
	for (size_t i = 0; i < m->nheaders; i++)
		printf("header: %s: %s\n", m->headers[i].name, m->headers[i].value);
	print_addr("sender", &m->sender);
	print_addr("reply-to", &m->reply_to);
	printf("from-name: [%s] from-addr: [%s]\n", m->from.name, m->from.addr);
	for (size_t i = 0; i < m->nto; i++)
		printf("to-name: [%s] to-addr: [%s]\n", m->to[i].name, m->to[i].addr);
	for (size_t i = 0; i < m->ncc; i++)
		printf("cc-name: [%s] cc-addr: [%s]\n", m->cc[i].name, m->cc[i].addr);
	printf("return-path: %s\n", m->return_path ? m->return_path : "(none)");
	printf("date-epoch: %lld %d\n", (long long)m->date, m->has_date);
	printf("flags-raw: %u\n", m->flags);
	printf("parse-note: %s\n", m->parse_note ? m->parse_note : "(none)");
	printf("body-html-text: %s\n", m->body_html_text ? m->body_html_text : "(none)");
	printf("body-len: %zu\n", strlen(m->body));
	for (size_t i = 0; i < m->natts; i++)
		printf("attachment-digest: %s %s\n", m->atts[i].sha256, m->atts[i].data ? "data" : "no-data");
}

static void
dump(const struct message *m)
{
	static const char *const flags[] = { "parse-error", "bounce", "autoreply", "list",
					     "oversize", "truncated", "spam", "poison" };
	const char *sep = "";

	printf("subject: %s\n", m->subject);
	print_addr("from", &m->from);
	for (size_t i = 0; i < m->nto; i++)
		print_addr("to", &m->to[i]);
	for (size_t i = 0; i < m->ncc; i++)
		print_addr("cc", &m->cc[i]);
	if (m->has_date) {
		char d[32];
		struct tm tm;

		gmtime_r(&m->date, &tm);
		strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("date: %s\n", d);
	} else {
		printf("date: none\n");
	}
	printf("message-id: %s\n", m->message_id);
	if (*m->in_reply_to)
		printf("in-reply-to: %s\n", m->in_reply_to);
	for (size_t i = 0; i < m->references.n; i++)
		printf("references: %s\n", m->references.items[i]);
	printf("flags:");
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (m->flags & (1u << i)) {
			printf("%s%s", *sep ? "," : " ", flags[i]);
			sep = ",";
		}
	printf("\n");
	if (m->returned_message_id)
		printf("returned-message-id: %s\n", m->returned_message_id);
	if (m->returned_subject)
		printf("returned-subject: %s\n", m->returned_subject);
	for (size_t i = 0; i < m->natts; i++)
		printf("attachment: %s | %s | %zu | %s\n", m->atts[i].filename, m->atts[i].content_type,
		       m->atts[i].size, m->atts[i].data ? "kept" : "not kept");
	printf("body:\n%s", m->body);
	if (*m->body && m->body[strlen(m->body) - 1] != '\n')
		printf("\n");
}

int
main(int argc, char **argv)
{
	struct parse_limits lim = parse_limits_default;
	struct buf b = BUF_INIT;
	bool only_check = false, all = false;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "acm:")) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt == 'c')
			only_check = true;
		else if (opt == 'm')
			lim.max_message_size = (size_t)strtoull(optarg, NULL, 10);
		else
			return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: parsedump [-a] [-c] [-m SIZE] FILE...\n");
		return EXIT_USAGE;
	}
	buf_init(&b, 0);
	for (int i = optind; i < argc; i++) {
		struct message m;
		struct err e = ERR_INIT;
		const char *bad;

		buf_reset(&b);
		if (file_read_all(argv[i], &b) < 0) {
			fprintf(stderr, "parsedump: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		message_init(&m);
		if (parse_message(b.data ? b.data : "", b.len, &lim, &m, &e) < 0) {
			fprintf(stderr, "parsedump: %s: %s\n", argv[i], e.msg);
			rc = 1;
		} else if (only_check) {
			if ((bad = check(&m))) {
				fprintf(stderr, "parsedump: %s: invalid %s\n", argv[i], bad);
				rc = 1;
			}
		} else {
			if (all)
				dump_all(&m);
			dump(&m);
		}
		message_release(&m);
	}
	buf_release(&b);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = 1;
	return rc;
}

/* gen_mail - writes N deterministic inquiry mails (about SIZE bytes each)
 * into a Maildir's new/ folder, for make bench.
 * usage: gen_mail MAILDIR [N [SIZE]] */
#include "compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

static const char *const first[] = { "Anna", "Jean", "Giulia", "Javier", "Mari", "Jan",
				     "Katarzyna", "Joao", "Aoife", "Lars", "Eva", "Tomas" };
static const char *const last[] = { "Schmidt", "Dupont", "Rossi", "Martin", "Tamm", "de Vries",
				    "Nowak", "Silva", "Byrne", "Larsen", "Novak", "Horvat" };
static const char *const domains[] = { "uni-heidelberg.de", "inserm.fr", "iss.it", "isciii.es",
				       "ut.ee", "zonmw.nl", "ncbr.gov.pl", "fct.pt", "ucd.ie",
				       "ku.dk", "cvut.cz", "example.com" };
static const char *const topics[] = { "the joint transnational call", "eligibility of SMEs",
				      "the workshop in Brussels", "membership of our agency",
				      "the Best Practice Award", "a press interview",
				      "data sharing rules", "the strategic research agenda" };
static const char *const words[] = { "personalised", "medicine", "research", "funding",
				     "project", "partners", "consortium", "patients", "data",
				     "genomics", "health", "innovation", "call", "proposal",
				     "budget", "deadline", "evaluation", "network", "clinical",
				     "translational" };

/* A small LCG: the same N mails on every machine. */
static uint32_t seed = 12345;

static uint32_t
rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

static void
mkdirs(const char *root)
{
	static const char *const subs[] = { "", "/new", "/cur", "/tmp" };
	char path[4096];

	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		snprintf(path, sizeof(path), "%s%s", root, subs[i]);
		mkdir(path, 0700);
	}
}

static void
one_mail(struct buf *b, long i, long size)
{
	const char *fn = first[rnd() % ARRAY_SIZE(first)];
	const char *ln = last[rnd() % ARRAY_SIZE(last)];
	const char *dom = domains[rnd() % ARRAY_SIZE(domains)];
	const char *topic = topics[rnd() % ARRAY_SIZE(topics)];
	long col = 0;

	buf_reset(b);
	buf_addf(b, "Return-Path: <sender%ld@%s>\n", i, dom);
	buf_addf(b, "Received: from mx.%s by mx.icpermed.example; Mon, 2 Nov 2026 10:%02ld:%02ld +0000\n",
		 dom, (i / 60) % 60, i % 60);
	buf_addf(b, "From: %s %s <sender%ld@%s>\n", fn, ln, i, dom);
	buf_addf(b, "To: ICPerMed Secretariat <secretariat@icpermed.example>\n");
	buf_addf(b, "Subject: Question %ld about %s\n", i, topic);
	buf_addf(b, "Date: Mon, 2 Nov 2026 10:%02ld:%02ld +0000\n", (i / 60) % 60, i % 60);
	buf_addf(b, "Message-ID: <bench-%ld@%s>\n", i, dom);
	buf_addf(b, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		    "Content-Transfer-Encoding: 8bit\n\n");
	buf_addf(b, "Dear secretariat,\n\nI am writing about %s.\n", topic);
	while ((long)b->len < size - 40) {
		const char *w = words[rnd() % ARRAY_SIZE(words)];

		buf_addstr(b, w);
		col += (long)strlen(w) + 1;
		if (col > 68) {
			buf_addch(b, '\n');
			col = 0;
		} else {
			buf_addch(b, ' ');
		}
	}
	buf_addf(b, "\n\nKind regards,\n%s %s\n", fn, ln);
}

int
main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 10000, size = argc > 3 ? atol(argv[3]) : 10240;
	struct buf b = BUF_INIT;
	char path[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: gen_mail MAILDIR [N [SIZE]]\n");
		return EXIT_USAGE;
	}
	mkdirs(argv[1]);
	for (long i = 1; i <= n; i++) {
		int fd;

		one_mail(&b, i, size);
		snprintf(path, sizeof(path), "%s/new/%010ld.M%ldP1.bench", argv[1], 1700000000 + i, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len) {
			fprintf(stderr, "gen_mail: cannot write '%s': %s\n", path, strerror(errno));
			return EXIT_IOERR;
		}
		close(fd);
	}
	buf_release(&b);
	return 0;
}

/* rules_score.c - the weighing of evidence: `score TARGET N` actions add up
 * per queue and per category, and after all rules the clear leader wins
 * (see RULES_SCORE_MARGIN in rules.h). A signal that is only likely (a
 * country named in passing, the language) then no longer beats a stronger
 * one that a later rule finds (the writer's own institution). */
#include "compat.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "rules_int.h"
#include "xalloc.h"

#define CATEGORY_PREFIX "category:"

bool
rules_score_points(const char *s, int *points_r)
{
	char *end;
	long v;

	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v > RULES_SCORE_MAX || v < -RULES_SCORE_MAX)
		return false;
	*points_r = (int)v;
	return true;
}

static bool
is_category_target(const char *target)
{
	return strncmp(target, CATEGORY_PREFIX, strlen(CATEGORY_PREFIX)) == 0 &&
	       target[strlen(CATEGORY_PREFIX)] != '\0';
}

static struct rule_score *
score_slot(struct rule_outcome *out, const char *target)
{
	size_t n = out->nscores;

	for (size_t i = 0; i < n; i++)
		if (strcmp(out->scores[i].target, target) == 0)
			return &out->scores[i];
	/* room for 4, then doubled whenever full: a power of two from 4 on */
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0))
		out->scores = xreallocarray(out->scores, n ? 2 * n : 4, sizeof(*out->scores));
	out->scores[out->nscores].target = xstrdup(target);
	out->scores[out->nscores].points = 0;
	return &out->scores[out->nscores++];
}

/* "+6 DE: rule 'NAME'", without a printf for each piece of evidence (a
 * mail has a dozen). */
static char *
evidence_line(int points, const char *target, const char *rule)
{
	char num[16];
	size_t nlen = 0, tlen = strlen(target), rlen = strlen(rule);
	unsigned v = points < 0 ? (unsigned)-(long)points : (unsigned)points;
	char *line, *p;

	do {
		num[sizeof(num) - 1 - nlen++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	num[sizeof(num) - 1 - nlen++] = points < 0 ? '-' : '+';
	line = p = xmalloc(nlen + 1 + tlen + 8 + rlen + 2);
	memcpy(p, num + sizeof(num) - nlen, nlen);
	p += nlen;
	*p++ = ' ';
	memcpy(p, target, tlen);
	p += tlen;
	memcpy(p, ": rule '", 8);
	p += 8;
	memcpy(p, rule, rlen);
	p += rlen;
	memcpy(p, "'", 2);
	return line;
}

char *
rules_score_add(const struct ruleset *rs, struct rule_outcome *out, const char *target,
		const char *points, const char *rule)
{
	const struct queue *q = NULL;
	int n;

	if (!rules_score_points(points, &n))
		return xasprintf("no points '%s': score ignored", points);
	if (!is_category_target(target)) {
		q = rules_queue(rs, target);
		if (!q)
			return xasprintf("no queue '%s': score ignored", target);
		target = q->id;
	}
	score_slot(out, target)->points += n;
	strlist_add_owned(&out->evidence, evidence_line(n, target, rule));
	return NULL;
}

/* The reasons of the weighing: fmt's %s (a string) and %d (an int), nothing
 * else; composed without printf, which a mail would pay for twice. */
static char *__attribute__((format(printf, 1, 2)))
why(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	/* the longest reason and its names, in one allocation */
	(void)buf_grow(&b, 160);
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		char num[16];
		size_t k = sizeof(num), run = strcspn(p, "%");
		int v;
		unsigned u;

		if (run || (p[1] != 's' && p[1] != 'd')) {
			run = run ? run : 1;
			buf_add(&b, p, run);
			p += run - 1;
			continue;
		}
		if (*++p == 's') {
			buf_addstr(&b, va_arg(ap, const char *));
			continue;
		}
		v = va_arg(ap, int);
		u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
		do {
			num[--k] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		if (v < 0)
			num[--k] = '-';
		buf_add(&b, num + k, sizeof(num) - k);
	}
	va_end(ap);
	return buf_detach(&b, NULL);
}

/* The best and the runner-up of the queue (categories false) or the
 * category targets; -1 for none. */
static void
score_leaders(const struct rule_outcome *out, bool categories, long *best, long *second)
{
	*best = *second = -1;
	for (size_t i = 0; i < out->nscores; i++) {
		long k = (long)i;

		if (is_category_target(out->scores[i].target) != categories)
			continue;
		if (*best < 0 || out->scores[i].points > out->scores[*best].points) {
			*second = *best;
			*best = k;
		} else if (*second < 0 || out->scores[i].points > out->scores[*second].points) {
			*second = k;
		}
	}
}

static void
decide_queue(struct rule_outcome *out)
{
	long best, second;
	int lead, rival;
	const char *winner;

	score_leaders(out, false, &best, &second);
	if (best < 0)
		return;
	winner = out->scores[best].target;
	rival = second < 0 ? 0 : out->scores[second].points;
	/* the secretariat has 0 points unless a rule gave it some */
	if (rival < 0)
		rival = 0;
	lead = out->scores[best].points - rival;
	if (out->queue) {
		out->queue_why = why("a rule routed it to %s: the points did not count",
					   out->queue);
		return;
	}
	if (out->scores[best].points <= 0) {
		out->queue_why = why("no queue has more than 0 points: the secretariat decides");
		return;
	}
	if (lead < RULES_SCORE_MARGIN) {
		out->queue_why = why(
			"%s leads %s by %d point%s, less than %d: the secretariat decides", winner,
			second < 0 ? "no other queue" : out->scores[second].target, lead,
			lead == 1 ? "" : "s", RULES_SCORE_MARGIN);
		return;
	}
	out->queue = xstrdup(winner);
	out->queue_why = why("%s has %d points and leads %s by %d (%d needed)", winner,
				   out->scores[best].points,
				   second < 0 ? "every other queue" : out->scores[second].target,
				   lead, RULES_SCORE_MARGIN);
}

static void
decide_category(struct rule_outcome *out)
{
	long best, second;
	const char *winner;

	score_leaders(out, true, &best, &second);
	if (best < 0)
		return;
	winner = out->scores[best].target + strlen(CATEGORY_PREFIX);
	if (out->category) {
		out->category_why = why("a rule set it to %s: the points did not count",
					      out->category);
		return;
	}
	if (out->scores[best].points <= 0) {
		out->category_why = why("no category has more than 0 points");
		return;
	}
	if (second >= 0 && out->scores[second].points == out->scores[best].points) {
		out->category_why = why("%s and %s have %d points each: no category wins",
					      winner,
					      out->scores[second].target + strlen(CATEGORY_PREFIX),
					      out->scores[best].points);
		return;
	}
	out->category = xstrdup(winner);
	out->category_why = why("%s has the most points (%d)", winner,
				      out->scores[best].points);
}

void
rules_score_decide(const struct ruleset *rs, struct rule_outcome *out)
{
	(void)rs;
	decide_queue(out);
	decide_category(out);
}

void
rule_scores_release(struct rule_outcome *out)
{
	for (size_t i = 0; i < out->nscores; i++)
		free(out->scores[i].target);
	free(out->scores);
	out->scores = NULL;
	out->nscores = 0;
	strlist_release(&out->evidence);
	free(out->queue_why);
	free(out->category_why);
	out->queue_why = out->category_why = NULL;
}

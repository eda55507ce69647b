/* tmpl.h - the template engine: a Mustache subset for templates/.
 *
 * Syntax: {{name}} (also {{{name}}} and {{&name}}: the same, since mail is
 * plain text and nothing is HTML-escaped), {{#name}}...{{/name}} (a list:
 * once per item; a value: once when it is not empty), {{^name}}...{{/name}}
 * (when empty or missing), {{! comment}}, {{> partial}}. A section, comment
 * or partial tag alone on its line takes the line with it (Mustache's
 * standalone rule). Names are [A-Za-z0-9_.-].
 *
 * A template is a whole message: header lines, an empty line, the body.
 * Every value rendered before the empty line is header-safe: CR, LF and
 * other control characters become spaces, so that no value can start a
 * header line of its own. In the body values go in verbatim.
 *
 * A template set is a folder: KIND.LANG.txt at the top (ack.en.txt), the
 * same names in a folder per queue overriding them (DE/ack.de.txt), and
 * partials named _NAME.txt or _NAME.LANG.txt (queue folder first). */
#ifndef SECDESK_TMPL_H
#define SECDESK_TMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define TMPL_MAX_SIZE (256 * 1024)   /* bytes of one template file */
#define TMPL_MAX_DEPTH 16            /* nested sections and partials */
#define TMPL_MAX_OUTPUT (4 * 1024 * 1024)

/* The values a template is rendered with: names bound to strings or to
 * lists of nested contexts. Lookups walk outwards through enclosing list
 * items, as Mustache does. */
struct tmpl_ctx;

struct tmpl_ctx *tmpl_ctx_new(void);
void tmpl_ctx_free(struct tmpl_ctx **c);
/* Binds name to a copy of value (NULL is ""); rebinding replaces. */
void tmpl_ctx_set(struct tmpl_ctx *c, const char *name, const char *value);
/* Binds name to value, a string of len bytes from malloc that c now owns
 * (no copy: for the large values, a quoted inquiry). */
void tmpl_ctx_set_owned(struct tmpl_ctx *c, const char *name, char *value, size_t len);
/* Binds name to value itself, not a copy: value must outlive c. */
void tmpl_ctx_set_borrowed(struct tmpl_ctx *c, const char *name, const char *value);
/* Appends an item to the list name and returns it (owned by c). */
struct tmpl_ctx *tmpl_ctx_add(struct tmpl_ctx *c, const char *name);
/* The string bound to name in c itself, or NULL. */
const char *tmpl_ctx_get(const struct tmpl_ctx *c, const char *name);

struct tmpl;

/* Parses text; errors are EXIT_CONFIG "file:line: what was expected", with
 * file the name given. */
int tmpl_parse(const char *file, const char *text, size_t len, struct tmpl **out,
	       struct err *e);
void tmpl_free(struct tmpl **t);
const char *tmpl_file(const struct tmpl *t);

/* Gives the partial named name for t (NULL when none). */
typedef const struct tmpl *(*tmpl_partial_fn)(void *arg, const struct tmpl *from,
					       const char *name);

/* Renders t into out. -1 with EXIT_DATAERR when the output would exceed
 * TMPL_MAX_OUTPUT, EXIT_CONFIG for a missing partial or too deep nesting. */
int tmpl_render(const struct tmpl *t, const struct tmpl_ctx *c, tmpl_partial_fn partial,
		void *arg, struct buf *out, struct err *e);

/* Calls fn for every variable and section name and every partial of t
 * (is_partial set), with its line: for linting. */
void tmpl_walk(const struct tmpl *t, void (*fn)(void *arg, const char *name, bool is_partial,
					       int line), void *arg);

/* The template folder. */
struct tmpl_set;

/* Loads every template of dir and its queue folders and checks each: the
 * syntax, the header lines (Name: value, a Subject, an empty line before
 * the body, no header that secdesk sets itself), partials that exist and,
 * when known is a NULL-terminated list, variable names outside it. A
 * template with a problem, or that includes a partial with one, is kept
 * as broken: tmpl_set_find passes it by, so that it affects only the mail
 * that would use it. -1 (EXIT_CONFIG) only when dir cannot be read. */
int tmpl_set_load(const char *dir, const char *const *known, struct tmpl_set **out,
		  struct err *e);
void tmpl_set_free(struct tmpl_set **set);
/* The problems tmpl_set_load found, one "file:line: message\n" each (""
 * when none), owned by set; *count (may be NULL) how many. */
const char *tmpl_set_problems(const struct tmpl_set *set, int *count);
/* Lints dir as tmpl_set_load does: appends its problems to problems and
 * returns how many; -1 when dir cannot be read. */
int tmpl_set_check(const char *dir, const char *const *known, struct buf *problems,
		   struct err *e);

/* The first template without a problem for kind in queue (NULL: none) and
 * language lang (NULL or "": English), in this order: QUEUE/KIND.LANG,
 * KIND.LANG, QUEUE/KIND.en, KIND.en. NULL when none works. */
const struct tmpl *tmpl_set_find(const struct tmpl_set *set, const char *kind,
				 const char *queue, const char *lang);
/* tmpl_set_find, also giving in *broken the first template of that order
 * that was passed by because it has a problem (NULL when none was): the
 * caller says so, or holds the mail when nothing works. */
const struct tmpl *tmpl_set_find_checked(const struct tmpl_set *set, const char *kind,
					 const char *queue, const char *lang,
					 const struct tmpl **broken);
/* Is there a KIND.LANG template at the top of the folder, without a
 * problem? For "templates check" to list the languages without one. */
bool tmpl_set_has(const struct tmpl_set *set, const char *kind, const char *lang);
/* The first problem of t, "file:line: what"; NULL when it has none. */
const char *tmpl_problem(const struct tmpl *t);
/* The language of t, from its file name ("en" when the name has none). */
const char *tmpl_lang(const struct tmpl *t);
/* Renders t of this set (partials looked up in it). */
int tmpl_set_render(const struct tmpl_set *set, const struct tmpl *t, const struct tmpl_ctx *c,
		    struct buf *out, struct err *e);
/* tmpl_set_render, also telling where in out (an offset) the value of the
 * variable mark was first written in the body part (after the empty line);
 * SIZE_MAX when it was not. Lets a caller find a value it rendered without
 * searching the output for it. */
int tmpl_set_render_mark(const struct tmpl_set *set, const struct tmpl *t,
			 const struct tmpl_ctx *c, const char *mark, size_t *mark_at,
			 struct buf *out, struct err *e);
/* Does t, or a partial it includes (found as tmpl_set_render finds them),
 * name the variable or section name? For callers that compute a costly
 * value only for the templates that show it. */
bool tmpl_set_uses(const struct tmpl_set *set, const struct tmpl *t, const char *name);
/* The names known to the set (for "templates check" and reply --template). */
size_t tmpl_set_count(const struct tmpl_set *set);

#endif

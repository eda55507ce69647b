/* The help of every command: the one text that `secdesk help CMD`,
 * `secdesk CMD --help` and secdesk(1)'s COMMANDS section are made of
 * (help.c prints it, `secdesk help --mdoc` writes the section), and the
 * options that the check before the config and the completion know.
 * Paragraphs are unwrapped; one sentence may not hold ". " inside (the
 * man page puts each sentence on its own line). */
#include "compat.h"

#include "cli.h"

#define END { NULL, 0, NULL, NULL, NULL }
#define JSON(what) { "json", 0, NULL, NULL, what }
#define JSON_J(what) { "json", 'j', NULL, NULL, what }

static const struct cli_option send_opts[] = {
	{ "now", 'n', NULL, NULL, "Retry everything pending at once, due or not (as postqueue -f)." },
	END,
};

static const struct cli_option list_opts[] = {
	{ "status", 's', "S[,S...]", "@statuses",
	  "Any of the statuses new, open, pending, resolved, closed (in any case), separated by "
	  "commas (--status new,open)." },
	{ "queue", 'q', "Q", "@queues",
	  "The queue (a partner), in any case; one the rules do not declare is refused with the "
	  "list of queues." },
	{ "assignee", 'a', "USER", "@assignees",
	  "The assignee; --assignee '' lists the unassigned tickets." },
	{ "tag", 't', "TAG", NULL, "Tickets with this tag." },
	{ "category", 0, "C", NULL, "The category, in any case." },
	{ "older-than", 0, "AGE", "1d 2d 7d 14d 30d 2w",
	  "Created more than AGE ago: Nm, Nh, Nd or Nw (minutes, hours, days, weeks), as 7d; "
	  "counted from the ticket's creation, as stats counts ages." },
	{ "unanswered", 0, NULL, NULL,
	  "No staff reply yet: acknowledgements, partner notifications and reminders do not "
	  "count as answers." },
	{ "sort", 0, "[-]FIELD",
	  "id created updated priority queue status -id -created -updated -priority -queue -status",
	  "The order: id, created, updated, priority, queue or status, ascending; -FIELD for "
	  "descending. The default is -updated: newest activity first. Priorities go low, "
	  "normal, high, urgent; statuses new, open, pending, resolved, closed; ties are broken "
	  "by id." },
	{ "reverse", 'r', NULL, NULL, "The other way round." },
	{ "limit", 'n', "N", NULL, "At most N tickets (of those shown)." },
	{ "all", 0, NULL, NULL,
	  "Closed tickets and spam too: without it (and without --status closed or --category "
	  "spam) they are left out." },
	{ "format", 0, "FORMAT", "table csv tsv json",
	  "table (the default): a header line, then a line a ticket, requester and subject cut "
	  "with an ellipsis to the terminal's width, COLUMNS, or 78 columns when piped (widths "
	  "in display columns; on a narrow terminal the category column is left out); csv or "
	  "tsv: a header line of the keys, then a line a ticket (CSV as RFC 4180; TSV with "
	  "tab, newline, carriage return and backslash written \\t \\n \\r \\\\); json: "
	  "as --json; or a template such as '%{id} %{subject}' with the keys id, status, queue, "
	  "category, priority, language, assignee, requester, requester_name, subject, "
	  "created, updated, flags and tags (%% a percent sign, \\n and \\t a newline and a "
	  "tab; an unknown key exits 64). CSV, TSV, templates and JSON give times in UTC." },
	JSON_J("An array of tickets as show gives them, without messages, each with 'answered' and "
	     "'related_to'."),
	END,
};

static const struct cli_option show_opts[] = {
	JSON_J("The ticket with 'messages', 'attachments' and 'events' arrays, 'follow_up_of' "
	     "(the closed ticket it continues, or null) and 'continued_in' (the tickets that "
	     "continue it) and, in 'watchers', "
	     "the addresses besides the requester that staff replies go to (shown as Watchers: "
	     "without it); times in UTC. A message that cannot be written as JSON is an error "
	     "(exit 65), never left out."),
	END,
};

static const struct cli_option search_opts[] = {
	{ "limit", 'n', "N", NULL, "At most N tickets (50 unless said)." },
	JSON_J("Tickets as list gives them, each with 'snippet' and 'rank'."),
	END,
};

static const struct cli_option note_opts[] = {
	{ "message", 'm', "TEXT", NULL,
	  "The note; -m - reads it from standard input. Without it, $VISUAL or $EDITOR opens "
	  "an empty note; saved empty, nothing is added. Without a terminal there is no "
	  "editor: exit 64." },
	END,
};

static const struct cli_option reply_opts[] = {
	{ "template", 't', "NAME", "@templates",
	  "Start from template NAME of the templates folder (in the ticket's language when it "
	  "has one) instead of reply." },
	{ "message", 'm', "TEXT", NULL,
	  "The text, where the template has {{text}}; -m - reads it from standard input. A "
	  "template without {{text}} refuses -m (exit 64)." },
	{ "no-edit", 0, NULL, NULL, "Send the template as it is (a canned reply)." },
	{ "to", 0, "ADDR", NULL, "Send to ADDR instead of the requester (repeatable)." },
	{ "cc", 0, "ADDR", NULL, "One more Cc (repeatable)." },
	{ "attach", 'a', "FILE", "@file",
	  "Attach FILE (repeatable; 16 files and 5 MiB at most); a missing or unreadable file "
	  "is refused with exit 66 and nothing is queued." },
	{ "dry-run", 'n', NULL, NULL, "Print the mail; nothing is queued or changed." },
	END,
};

static const struct cli_option outbox_opts[] = {
	{ "all", 'a', NULL, NULL, "Sent mail too, not only what waits or failed." },
	JSON_J("An array of the outgoing mails."),
	END,
};

static const struct cli_option attachment_opts[] = {
	{ "output", 'o', "FILE", "@file", "Write it to FILE instead of standard output." },
	END,
};

static const struct cli_option rules_opts[] = {
	JSON("check: an array of the errors; test: the trace and the weighing as one object."),
	{ "tickets", 0, NULL, NULL,
	  "replay: the first message of every ticket in the store instead of a Maildir." },
	{ "apply", 0, NULL, NULL,
	  "replay --tickets: move the tickets whose queue the rules now choose otherwise." },
	END,
};

#define SINCE_UNTIL(what)                                                                  \
	{ "since", 0, "DATE", "today yesterday 7d 30d", "Count only tickets created from "  \
	  "the start of DATE: YYYY-MM-DD, YYYY-MM, YYYY, today, yesterday (local time) or a "  \
	  "time ago (7d, 2w, 3m, 1y), as in search." },                                      \
	{ "until", 0, "DATE", "today yesterday", "Up to the end of DATE; " what }

static const struct cli_option stats_opts[] = {
	SINCE_UNTIL("the weeks end with its week."),
	JSON_J("The counts as one object: 'total', 'by_status', 'by_queue', 'waiting', "
	     "'waiting_by_age' and more, with 'since' and 'until' (UTC, null when not given)."),
	END,
};

static const struct cli_option report_opts[] = {
	{ "html", 0, "FILE", "@file", "The page to write (required)." },
	SINCE_UNTIL("the page names the window in local time."),
	END,
};

static const struct cli_option remind_opts[] = {
	{ "dry-run", 'n', NULL, NULL,
	  "Show what would be queued and record nothing; with -v each digest too." },
	JSON_J("What was queued (or would be) as one object: the tickets, the digests, and the "
	     "assignees without an address."),
	END,
};

static const struct cli_option watch_opts[] = {
	{ "idle", 0, "SECONDS", NULL,
	  "Re-issue IMAP IDLE after this many seconds (1 to 1740, default 1500)." },
	{ "poll", 0, "SECONDS", NULL,
	  "Without IDLE (POP3, Maildir, mbox), look for mail this often (1 to 1740, default 60)." },
	END,
};

static const struct cli_option verify_opts[] = {
	{ "reingest", 0, NULL, NULL,
	  "Store the mail of the after = move: folder that the store lacks again, through the "
	  "usual intake, each message once (running it again stores nothing twice), in the "
	  "order it came, with a 'reingested' event on its ticket; its acknowledgement and "
	  "partner notice are not sent again (they were queued with the mail the first time). "
	  "The tickets get new numbers. Needs after = move:; mail still in the inbox is taken "
	  "by the next run." },
	JSON("An object with 'source', 'ok', 'not_in_store' and 'not_marked_done' (the counts), "
	     "'marks_checked' (false when [mailbox] after is keep), 'missing' (each with 'key' "
	     "and 'seen') and 'undone' (each with 'key' and 'state'); with after = move: also "
	     "'moved_folder', 'moved_checked', 'moved_not_in_store' and 'reingested' (counts) "
	     "and 'moved_missing' (each with 'key', and 'ticket' when reingested)."),
	END,
};

static const struct cli_option db_opts[] = {
	JSON("check: an object with 'store', 'ok', 'schema_version', 'expected_schema_version', "
	     "'integrity_ok', 'integrity' (the integrity check's findings), 'foreign_keys' (each "
	     "with 'table', 'rowid', 'parent' and 'fkid'), 'error' (null when ok), "
	     "'search_index' ('path', 'ok', 'stale', 'indexed_upto', 'pending', 'error') and "
	     "'file_modes', the files that are too open, each with 'path', 'mode', 'group', "
	     "'expected' and 'fix' (the command to run); the exit status is the same."),
	{ "to", 0, "LOCATION", NULL,
	  "copy: the store to copy into: postgresql://USER@HOST/DB or sqlite:PATH; it must be "
	  "empty." },
	END,
};

static const struct cli_option help_opts[] = {
	{ "mdoc", 0, NULL, NULL,
	  "All the commands' help as the COMMANDS section of secdesk(1), in mdoc (make man "
	  "writes it into doc/secdesk.1)." },
	END,
};

/* The conventions the triage commands share, said once for each. */
#define CHANGE_SAID                                                                          \
	"The change is said in one line (#5: status open -> pending), nothing with -q; a "   \
	"change that changes nothing is said too (exit 0). A merged ticket is refused (exit " \
	"65) with the ticket it went into."

static const struct cli_help helps[] = {
	{ "run",
	  "Fetch, process and send, under a lock so that runs never overlap: the cron job. "
	  "Ends with one summary line. A message whose processing fails at one step (a rule's "
	  "value, threading, its attachments, its acknowledgement or partner notice) is stored "
	  "without that step and its ticket flagged processing-error, the reason in its "
	  "history; the summary line counts them (flagged N (processing errors K)) and the run "
	  "exits 0. A server that goes away mid-run gives exit 75 after the summary line.",
	  NULL, NULL, NULL },
	{ "fetch", "Fetch and process new mail, as run does, without sending.", NULL, NULL, NULL },
	{ "send", "Deliver the outbox: what is due, retried with back-off.", send_opts, NULL, NULL },
	{ "ingest",
	  "Process one message from FILE or standard input: the delivery agent of an MTA. Exit "
	  "0 once the message is stored (a malformed one is stored and flagged), 75 for "
	  "anything else, configuration mistakes and usage errors included, so that the MTA "
	  "keeps the mail in its queue and retries instead of bouncing it. What it prints then "
	  "names no local path or config line; the details go to syslog, and to standard error "
	  "only when that is a terminal.",
	  NULL, NULL, "@file" },
	{ "list",
	  "Tickets, newest activity first. Merged tickets are not listed, nor closed tickets "
	  "and spam unless --all, --status closed or --category spam asks for them. The "
	  "filters given "
	  "must all match. Dates are shown in local time (TZ); they are stored, and given by "
	  "--json, in UTC (RFC 3339). A row ends in [!] when the ticket is flagged (a parse "
	  "error, a bounce, spam, a failed send, a processing error ...): show says which. On "
	  "a terminal the status is coloured: new bold yellow, open green, pending cyan, "
	  "resolved blue, closed dim.",
	  list_opts, NULL, NULL },
	{ "show",
	  "One ticket, then its thread: the messages in the order they reached the store, each "
	  "headed by its date in local time, its direction (in or out) and its kind (inquiry, "
	  "follow-up, staff reply, partner correspondence, an acknowledgement ...), then From, "
	  "To, Cc, Subject, its attachments, numbered as attachment takes them, and its text "
	  "as written: only lines longer than the width (78 columns when piped) are wrapped, "
	  "short lines are never joined, quote markers are kept. Correspondence "
	  "with a partner (its mail in, the desk's notification out) is marked [partner]; "
	  "automatic mail (acknowledgements, partner notifications, reminders, auto-replies, "
	  "bounces) is labelled automatic. The events of the history stand between the messages "
	  "at their time, each with when, who and what changed (old and new value).",
	  show_opts, NULL, "@ids" },
	{ "search",
	  "Full-text search over subjects, bodies, names and addresses of what people wrote "
	  "(the desk's acknowledgements, partner notices and reminders are not searched), "
	  "ignoring case and diacritics. The words of the command line are one query; put -- "
	  "before a query that begins with -, or quote the whole query. Messages stored since "
	  "the index was last brought up to date are indexed first; while a fetch is indexing, "
	  "what is indexed so far is searched. Results are tickets, best first, each with a "
	  "snippet in which the matched words are put in brackets. A query whose words are "
	  "found in more than 2,000 messages is ranked among the 2,000 newest matching messages "
	  "first, then among older ones only while fewer than --limit tickets were found: for a "
	  "very common word the newest tickets come first, not the oldest best-ranked ones.\n"
	  "\n"
	  "The query language (SEARCH LANGUAGE in secdesk(1)): words, all of which must be found "
	  "(in any case, with or without diacritics; the German ae, oe, ue and ss match ä, ö, ü "
	  "and ß); prefix* for any word that begins with prefix; \"a phrase\"; a OR b, NOT a or "
	  "-a, and (grouping); the fields from:, to:, subject:, body:, queue:, status:, "
	  "category:, assignee:, tag: and id:; date:A..B, after:A and before:B, where a date is "
	  "YYYY, YYYY-MM, YYYY-MM-DD, today, yesterday or a time ago (7d, 2w, 3m, 1y). A "
	  "malformed query is refused (exit 64) with a caret under the spot. Examples:\n"
	  "\n"
	  "  secdesk search budget OR funding\n"
	  "  secdesk search -- call -spam\n"
	  "  secdesk search 'subject:\"joint call\" queue:DE date:7d..'\n"
	  "  secdesk search 'tag:urgent NOT status:closed' 'elig*'",
	  search_opts, NULL, NULL },
	{ "status",
	  "Set the status: new, open, pending, resolved or closed, in any case. " CHANGE_SAID,
	  NULL, NULL, "@ids @statuses" },
	{ "assign", "Assign a ticket to USER. " CHANGE_SAID, NULL, NULL, "@ids @assignees" },
	{ "take", "Assign a ticket to the acting user ($SECDESK_USER, else the login), unless another "
	  "user has it: that is refused (exit 65) naming who has it (assign takes it over). Of "
	  "two staff taking one ticket at once, on any host, one wins. " CHANGE_SAID,
	  NULL, NULL, "@ids" },
	{ "route",
	  "Route a ticket to a queue of the rules, in any case; the new queue's partner is "
	  "notified. An unknown queue is refused (exit 64) with the list of queues. " CHANGE_SAID,
	  NULL, NULL, "@ids @queues" },
	{ "tag", "Tag a ticket: one word, no commas. " CHANGE_SAID, NULL, NULL, "@ids" },
	{ "untag", "Remove a tag. " CHANGE_SAID, NULL, NULL, "@ids" },
	{ "merge",
	  "Merge a duplicate ticket into another: its messages, tags and watchers move to INTO, "
	  "and its requester becomes a participant there (on Cc of the replies to INTO), unless "
	  "the requester's only mail was automatic (a bounce, an auto-reply); ID is closed and "
	  "points at INTO. A merged ticket refuses status, assign, take, tag, untag, route, "
	  "note, reply and merge with exit status 65 and an error that names the ticket it went "
	  "into.",
	  NULL, NULL, "@ids" },
	{ "note", "Add an internal note, never sent to anyone. " CHANGE_SAID, note_opts, NULL,
	  "@ids" },
	{ "reply",
	  "Reply to the requester, with the ticket's participants on Cc: the reply is queued in "
	  "the outbox (sent by the next send or run) and the ticket set pending. The quote is "
	  "the newest message one of them wrote that all of them had (none when there is no "
	  "such message). The mail holds the text, the signature, then the attribution (in "
	  "the reply's language and [desk] timezone) and the quote; it is sent as "
	  "format=flowed, to the Reply-To of the requester's mail when it has one. Without -m "
	  "or --no-edit, $VISUAL or $EDITOR opens the rendered template, the line '# ---- "
	  "everything below this line is not sent ----' and the quote below it; saved empty "
	  "or unchanged, the reply is cancelled (exit 0). Without a terminal there is no "
	  "editor: exit 64.",
	  reply_opts, NULL, "@ids" },
	{ "outbox",
	  "Show the outgoing queue: each mail with its ticket, kind, status, tries, when it is "
	  "due or was sent (local time; UTC with --json), and its recipients; the last error "
	  "of a mail that failed. outbox "
	  "hold ID keeps queued mail ID from being sent, outbox release ID makes it due "
	  "again, outbox cancel ID takes pending or held mail out of the outbox; each is an "
	  "event on the mail's ticket. Mail sent already, failed, or held for a template "
	  "error is refused (exit 65).",
	  outbox_opts, "hold release cancel", NULL },
	{ "attachment", "Write out attachment N of ticket ID, numbered as show gives them.",
	  attachment_opts, NULL, "@ids" },
	{ "rules",
	  "Lint the rules, trace them on one message, or replay them. rules check prints each "
	  "error as FILE:LINE:COL: message on standard error and exits 78 when there is one; "
	  "with --json an array of the errors, each with 'file', 'line', 'col' and 'message' "
	  "(null for an error without a position), empty when the rules are fine. rules test "
	  "ends with the weighing: every piece of evidence with its points, the totals per "
	  "queue and category, and why the winner won or why the secretariat decides "
	  "('weighing' with --json). rules replay --tickets counts the tickets that would "
	  "move, per pair of queues (secdesk-rules(5)). Options may come before or after FILE.",
	  rules_opts, "check test replay", NULL },
	{ "templates",
	  "Lint the templates: each problem as FILE:LINE: message on standard error, and exit "
	  "78 when there is one. It also names the languages the desk detects that have no ack, "
	  "reply or partner template of their own (their mail goes in English); that alone is "
	  "no problem.",
	  NULL, "check", NULL },
	{ "stats",
	  "Ticket counts by status, by queue, and of waiting tickets (new, open, pending) by "
	  "queue and by age.",
	  stats_opts, NULL, NULL },
	{ "report",
	  "Write the figures of stats as one self-contained HTML page to FILE: open tickets by "
	  "queue and status, all tickets by status and by queue, waiting tickets by age, the "
	  "median time to the first staff reply per queue and new tickets per ISO week, each as "
	  "an inline SVG chart with its table. The page has no script and no external "
	  "reference. It is written to a temporary file beside FILE and renamed over it when "
	  "complete, mode 0600 (0660 with [store] group); a file that cannot be written exits "
	  "73.",
	  report_opts, NULL, NULL },
	{ "remind",
	  "For cron: queue a digest of the tickets waiting longer than [remind] after (default "
	  "3d) to each contact of their queue and to each assignee with a mail address (the "
	  "assignee itself when it contains @, else USER@[remind] assignee_domain when that is "
	  "set; assignees without an address are named in the summary), with each ticket's "
	  "reference, subject, status, age and tags. A ticket waits from its creation or, once "
	  "staff replied, from the requester's first message after the last reply. Waiting "
	  "statuses are [remind] statuses (default new, open). An address gets at most one "
	  "digest per [remind] min_interval (default 20h); a ticket is never in its own "
	  "requester's digest, and the desk's own address gets none. The digests are rendered "
	  "from remind.LANG.tmpl in the templates folder (QUEUE/remind.LANG.tmpl first, English "
	  "as the fallback) and delivered by the next send or run. Ends with one summary line; "
	  "exits 65 when a digest could not be built.",
	  remind_opts, NULL, NULL },
	{ "watch",
	  "Stay connected to the IMAP mailbox and process mail as it arrives (IMAP IDLE); other "
	  "sources are polled. Each pass is a fetch and a send under the run lock.",
	  watch_opts, NULL, NULL },
	{ "verify",
	  "Reconcile the mailbox with the store: list every message in the mailbox that the "
	  "store lacks (with (seen) when an IMAP mailbox says it was read elsewhere) and every "
	  "stored message whose copy in the mailbox was not marked done, then the two counts. "
	  "With [mailbox] after = move:FOLDER it reads that folder too (a Maildir++ subfolder, "
	  "an mbox beside the inbox, an IMAP folder on the same server): each message there "
	  "that the store lacks (looked up by its bytes) is listed as processed, not in the "
	  "store; after a restore from a backup this is the mail processed since the backup. "
	  "Exits 0 when nothing is missing (mail reingested counts as found), 65 when "
	  "something is.",
	  verify_opts, NULL, NULL },
	{ "db",
	  "Create or verify the store, rebuild its search index, or copy the store while it is "
	  "in use (SQLite online backup) to FILE, mode 0600 (0660 with [store] group), written "
	  "to FILE.tmp and renamed when complete. db check runs SQLite's integrity and foreign "
	  "key checks and compares the schema version; it exits 65 when something is wrong, or "
	  "when the search index is stale: built for another store, or for this one before it "
	  "was restored from a backup (db reindex fixes that). It "
	  "also warns, on standard error and without changing the exit status, about each of "
	  "the store, its -wal, -shm and -journal files, the search index, the run lock and a "
	  "dir: outbox folder and its mails that is readable by more people than the desk's "
	  "mode allows (see [store] group in secdesk.conf(5)), and gives the chmod command to "
	  "run. The search index is the file STORE-search beside the store: derived from it, "
	  "not backed up, and rebuilt from the store when it is missing, damaged or outdated "
	  "(as after a restore); other faults of it are reported by db check but do not "
	  "change its exit status. db reindex rebuilds it at once. On a PostgreSQL store, db "
	  "backup runs pg_dump (custom format, read by pg_restore) and the search index is "
	  "the column messages.search_words. db copy --to LOCATION copies the desk into an "
	  "empty store of either backend, table by table with ticket ids, Message-IDs, "
	  "events, outbox state and attachments kept (the target keeps its own store id), "
	  "prints the rows of each table on both sides, builds the target's search index and "
	  "checks both stores; it exits 65 when the counts differ and 73 when the target is "
	  "not empty.",
	  db_opts, "init check backup reindex copy", NULL },
	{ "help",
	  "The commands, or one command's help: what secdesk COMMAND --help and this page's "
	  "entry for it say.",
	  help_opts, NULL, "@commands" },
	{ "complete",
	  "For the shell's completion: the candidates for WHAT, one a line: commands, options "
	  "CMD, subcommands CMD, operands CMD N, values CMD OPTION, statuses, queues (from the "
	  "rules), templates (by name), assignees (seen in the newest tickets), ids.",
	  NULL, NULL, NULL },
};

const struct cli_help *
cli_help_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(helps); i++)
		if (strcmp(helps[i].name, name) == 0)
			return &helps[i];
	return NULL;
}

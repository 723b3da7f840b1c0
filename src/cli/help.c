/* Help, usage and man pages, all generated from the command table: `cratis --help`, `cratis
 * CMD --help`, `cratis help CMD [SUB]`, usage errors, and `cratis __man` (roff for man(1)). */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "banned.h"

#ifndef CRATIS_VERSION
#define CRATIS_VERSION "0.0.0-dev"
#endif

enum { WIDTH = 79, FLAG_COL = 28 };

static const char *const env_vars[][2] = {
	{ "CRATIS_PLUGIN_PATH", "colon-separated plugin directories, searched first" },
	{ "CRATIS_STATE_DIR", "state directory (as --state-dir)" },
	{ "CRATIS_STATE", "state store URL (as --state)" },
	{ "CRATIS_SECRET_KEY_FILE", "the key of secret hashes and sealed outputs (default STATE_DIR/secret.key)" },
	{ "CRATIS_PROGRESS_INTERVAL", "seconds between 'still creating' lines off a terminal (default 10)" },
	{ "CRATIS_CAPABILITY_PATH", "colon-separated capability plugin directories (render)" },
	{ "CRATIS_RULES_PATH", "colon-separated transformation rules (transform)" },
	{ "NO_COLOR", "when set (to anything), no colour (no-color.org)" },
	{ NULL, NULL },
};

/* Append text to b wrapped at WIDTH, every line indented by indent, the first continuing at
 * column col (col <= indent starts it on its own indentation). */
static void wrap(struct buf *b, const char *text, size_t indent, size_t col)
{
	if (col < indent) {
		for (; col < indent; col++)
			buf_addch(b, ' ');
	}
	bool first = true;
	for (const char *p = text; *p;) {
		if (*p == ' ' || *p == '\n') {
			p++;
			continue;
		}
		size_t len = strcspn(p, " \n");
		if (!first && col + 1 + len > WIDTH) {
			buf_addch(b, '\n');
			for (col = 0; col < indent; col++)
				buf_addch(b, ' ');
		} else if (!first) {
			buf_addch(b, ' ');
			col++;
		}
		buf_add(b, p, len);
		col += len;
		p += len;
		first = false;
	}
	buf_addch(b, '\n');
}

void cli_flag_column(const struct cli_flag *f, struct buf *b)
{
	buf_clear(b);
	if (f->short_name)
		buf_addf(b, "-%c, ", f->short_name);
	else if (f->single_dash)
		buf_addf(b, "-%s, ", f->single_dash);
	else
		buf_adds(b, "    ");
	buf_addf(b, "--%s", f->name);
	if (f->arg)
		buf_addf(b, " %s", f->arg);
}

/* One flag's help text with its default, formats and environment variable. */
static void flag_text(const struct cli_flag *f, const struct cli_command *c, struct buf *b)
{
	buf_clear(b);
	buf_adds(b, f->help);
	if (f->type == FT_FORMAT) {
		buf_adds(b, ": ");
		for (const char *p = c->formats ? c->formats : "text"; *p; p++)
			buf_adds(b, *p == '|' ? ", " : (char[]){ *p, 0 });
	}
	if (f->def && f->env)
		buf_addf(b, " (default: $%s, else %s)", f->env, f->def);
	else if (f->def)
		buf_addf(b, " (default: %s)", f->def);
	else if (f->env)
		buf_addf(b, " (default: $%s)", f->env);
}

/* The flags a help page lists: the subcommand's, or for a command with subcommands every one
 * its subcommands take. */
static cli_flag_mask shown_flags(const struct cli_command *cmd, const struct cli_command *sub)
{
	if (sub)
		return sub->flags;
	cli_flag_mask m = cmd->flags;
	for (const struct cli_command *s = cmd->subs; s && s->name; s++)
		m |= s->flags;
	return m;
}

/* "[-f PATH]..." for a usage line. */
static void flag_synopsis(const struct cli_flag *f, const struct cli_command *c, struct buf *b)
{
	buf_clear(b);
	if (f->synopsis) {
		buf_adds(b, f->synopsis);
		return;
	}
	if (f->type == FT_FORMAT) {
		buf_addf(b, "[-o %s]", c->formats ? c->formats : "text");
		return;
	}
	if (f->short_name)
		buf_addf(b, "[-%c", f->short_name);
	else
		buf_addf(b, "[--%s", f->name);
	if (f->arg)
		buf_addf(b, " %s", f->arg);
	buf_addch(b, ']');
	if (f->type == FT_LIST)
		buf_adds(b, "...");
}

/* The usage lines of cmd, or of sub: "cratis state show ADDRESS [-f PATH]... ...". */
static void synopsis(struct buf *out, const struct cli_command *cmd, const struct cli_command *sub, size_t indent)
{
	const struct cli_command *c = sub ? sub : cmd;
	struct buf head = BUF_INIT, tail = BUF_INIT, one = BUF_INIT;
	buf_addf(&head, "cratis %s", cmd->name);
	if (sub)
		buf_addf(&head, " %s", sub->name);
	if (c->args)
		buf_addf(&head, " %s", c->args);
	for (int id = 0; id < FL__COUNT; id++) {
		if (!(c->flags & FLAG(id)) || (id == FL_OUTPUT && !c->formats))
			continue;
		flag_synopsis(&cli_flags[id], c, &one);
		for (char *q = one.ptr; *q; q++) /* wrap between flags, never inside one */
			if (*q == ' ')
				*q = '\x01';
		buf_addf(&tail, "%s%s", tail.len ? " " : "", one.ptr);
	}
	/* wrap the flags under the command */
	size_t hang = indent + head.len + 1;
	for (size_t i = 0; i < indent; i++)
		buf_addch(out, ' ');
	buf_add(out, head.ptr, head.len);
	if (tail.len) {
		if (hang > 40)
			hang = indent + 4;
		buf_addch(out, ' ');
		size_t from = out->len;
		wrap(out, tail.ptr, hang, indent + head.len + 1);
		for (size_t i = from; i < out->len; i++)
			if (out->ptr[i] == '\x01')
				out->ptr[i] = ' ';
	} else {
		buf_addch(out, '\n');
	}
	buf_release(&head);
	buf_release(&tail);
	buf_release(&one);
}

static void usage_lines(struct buf *b, const struct cli_command *cmd, const struct cli_command *sub)
{
	if (sub || !cmd->subs || cmd->sub_optional)
		synopsis(b, cmd, sub, 2);
	if (!sub)
		for (const struct cli_command *s = cmd->subs; s && s->name; s++)
			synopsis(b, cmd, s, 2);
}

void cli_print_usage(FILE *f, const struct cli_command *cmd, const struct cli_command *sub)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "usage:\n");
	usage_lines(&b, cmd, sub);
	buf_addf(&b, "Run 'cratis %s%s%s --help' for the flags and examples.\n", cmd->name, sub ? " " : "",
	         sub ? sub->name : "");
	fputs(b.ptr, f);
	buf_release(&b);
}

/* Paragraphs (separated by a blank line) refilled to the terminal's WIDTH. */
static void paragraphs(struct buf *b, const char *text, size_t indent)
{
	struct buf one = BUF_INIT;
	for (const char *p = text; *p;) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		buf_clear(&one);
		buf_add(&one, p, len);
		if (p != text)
			buf_addch(b, '\n');
		wrap(b, one.ptr, indent, 0);
		p += len;
		while (*p == '\n')
			p++;
	}
	buf_release(&one);
}

static void flag_rows(struct buf *b, cli_flag_mask mask, const struct cli_command *c)
{
	struct buf col = BUF_INIT, text = BUF_INIT;
	for (int id = 0; id < FL__COUNT; id++) {
		if (!(mask & FLAG(id)))
			continue;
		cli_flag_column(&cli_flags[id], &col);
		flag_text(&cli_flags[id], c, &text);
		buf_addf(b, "  %s", col.ptr);
		size_t at = 2 + col.len;
		if (at + 2 > FLAG_COL) {
			buf_addch(b, '\n');
			at = 0;
		}
		wrap(b, text.ptr, FLAG_COL, at);
	}
	buf_release(&col);
	buf_release(&text);
}

static void exit_rows(struct buf *b, const struct cli_exit *x)
{
	char code[16];
	for (; x && x->meaning; x++) {
		snprintf(code, sizeof(code), "  %d", x->code);
		buf_adds(b, code);
		wrap(b, x->meaning, 8, strlen(code));
	}
}

void cli_print_help(FILE *f, const struct cli_command *cmd, const struct cli_command *sub)
{
	const struct cli_command *c = sub ? sub : cmd;
	struct buf b = BUF_INIT;
	buf_addf(&b, "cratis %s%s%s - %s\n\nUsage:\n", cmd->name, sub ? " " : "", sub ? sub->name : "", c->summary);
	usage_lines(&b, cmd, sub);
	if (c->description) {
		buf_addch(&b, '\n');
		paragraphs(&b, c->description, 0);
	}
	if (!sub && cmd->subs) {
		buf_adds(&b, "\nSubcommands:\n");
		struct buf name = BUF_INIT;
		for (const struct cli_command *s = cmd->subs; s->name; s++) {
			buf_clear(&name);
			buf_addf(&name, "  %s%s%s", s->name, s->args ? " " : "", s->args ? s->args : "");
			buf_add(&b, name.ptr, name.len);
			size_t at = name.len;
			if (at + 2 > FLAG_COL) {
				buf_addch(&b, '\n');
				at = 0;
			}
			wrap(&b, s->summary, FLAG_COL, at);
		}
		buf_release(&name);
	}
	cli_flag_mask mask = shown_flags(cmd, sub) & ~FLAGS_GLOBAL;
	if (mask) {
		buf_adds(&b, "\nFlags:\n");
		/* -o's formats: the subcommand's, or the first subcommand's that has any */
		const struct cli_command *fc = c;
		for (const struct cli_command *s = cmd->subs; !sub && !fc->formats && s && s->name; s++)
			if (s->formats)
				fc = s;
		flag_rows(&b, mask, fc);
	}
	buf_adds(&b, "\nGlobal flags:\n");
	flag_rows(&b, FLAGS_GLOBAL, c);
	if (!sub && cmd->examples && cmd->examples[0].command) {
		buf_adds(&b, "\nExamples:\n");
		for (const struct cli_example *e = cmd->examples; e->command; e++) {
			if (e->comment)
				buf_addf(&b, "  # %s\n", e->comment);
			buf_addf(&b, "  %s\n", e->command);
		}
	}
	buf_adds(&b, "\nExit codes:\n");
	exit_rows(&b, cmd->exits);
	fputs(b.ptr, f);
	buf_release(&b);
}

void cli_print_overview(FILE *f)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "cratis - deploy systems, environments and resources described in YAML manifests\n\n"
	             "Usage:\n  cratis COMMAND [SUBCOMMAND] [ARGS] [FLAGS]\n\nCommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		if (c->hidden)
			continue;
		buf_addf(&b, "  %-12s", c->name);
		wrap(&b, c->summary, 14, 14);
	}
	buf_adds(&b, "\nCommon flags:\n");
	flag_rows(&b, FLAG(FL_FILE) | FLAG(FL_ENV) | FLAG(FL_JOBS) | FLAG(FL_LOCK) | FLAG(FL_GRACE), &cli_commands[0]);
	buf_adds(&b, "\nGlobal flags:\n");
	flag_rows(&b, FLAGS_GLOBAL, &cli_commands[0]);
	buf_adds(&b, "\nEnvironment:\n");
	for (size_t i = 0; env_vars[i][0]; i++) {
		buf_addf(&b, "  %-20s", env_vars[i][0]);
		wrap(&b, env_vars[i][1], 22, 22);
	}
	buf_adds(&b, "\nExit codes:\n");
	exit_rows(&b, cli_exit_codes);
	buf_adds(&b, "\nRun 'cratis help COMMAND' or 'cratis COMMAND --help' for a command's flags and\n"
	             "examples, 'man cratis-COMMAND' for its manual page.\n");
	fputs(b.ptr, f);
	buf_release(&b);
}

int cmd_help(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc;
	(void)argv;
	if (!ctx->args.n) {
		cli_print_overview(stdout);
		return EXIT_OK;
	}
	const struct cli_command *cmd = cli_find(NULL, ctx->args.v[0]), *sub = NULL;
	if (!cmd || cmd->hidden) {
		const char *cands[64] = { 0 };
		size_t n = 0;
		for (const struct cli_command *c = cli_commands; c->name && n < 64; c++)
			if (!c->hidden)
				cands[n++] = c->name;
		const char *hint = model_suggest(ctx->args.v[0], cands, n);
		fprintf(stderr, "error: unknown command '%s'%s%s%s\n", ctx->args.v[0], hint ? "; did you mean '" : "",
		        hint ? hint : "", hint ? "'?" : "");
		fputs("Run 'cratis help' for the list of commands.\n", stderr);
		return EXIT_USAGE;
	}
	if (ctx->args.n > 1 && !(sub = cli_find(cmd, ctx->args.v[1]))) {
		fprintf(stderr, "error: '%s' is not a subcommand of 'cratis %s'\n", ctx->args.v[1], cmd->name);
		cli_print_usage(stderr, cmd, NULL);
		return EXIT_USAGE;
	}
	cli_print_help(stdout, cmd, sub);
	return EXIT_OK;
}

/* ---- man pages (roff, man(7)) ---- */

/* Append text escaped for roff: backslashes, hyphens as \-, a leading . or ' kept literal. */
static void roff(struct buf *b, const char *text, size_t len)
{
	bool bol = b->len == 0 || b->ptr[b->len - 1] == '\n';
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (bol && (ch == '.' || ch == '\''))
			buf_adds(b, "\\&");
		if (ch == '\\')
			buf_adds(b, "\\e");
		else if (ch == '-')
			buf_adds(b, "\\-");
		else
			buf_addch(b, ch);
		bol = ch == '\n';
	}
}
static void roffs(struct buf *b, const char *text)
{
	roff(b, text, strlen(text));
}

/* Description text as roff paragraphs: blank lines start a new one, lines are refilled. */
static void roff_paragraphs(struct buf *b, const char *text)
{
	for (const char *p = text; *p;) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		buf_adds(b, ".PP\n");
		roff(b, p, len);
		buf_addch(b, '\n');
		p += len;
		while (*p == '\n')
			p++;
	}
}

static void roff_flag(struct buf *b, const struct cli_flag *f, const struct cli_command *c)
{
	struct buf t = BUF_INIT;
	buf_adds(b, ".TP\n");
	if (f->short_name)
		buf_addf(b, "\\fB\\-%c\\fR, ", f->short_name);
	else if (f->single_dash)
	{
		buf_adds(b, "\\fB\\-");
		roffs(b, f->single_dash);
		buf_adds(b, "\\fR, ");
	}
	buf_adds(b, "\\fB\\-\\-");
	roffs(b, f->name);
	buf_adds(b, "\\fR");
	if (f->arg) {
		buf_adds(b, " \\fI");
		roffs(b, f->arg);
		buf_adds(b, "\\fR");
	}
	buf_addch(b, '\n');
	flag_text(f, c, &t);
	roffs(b, t.ptr);
	buf_addch(b, '\n');
	buf_release(&t);
}

static void roff_exits(struct buf *b, const struct cli_exit *x)
{
	buf_adds(b, ".SH \"EXIT STATUS\"\n");
	for (; x && x->meaning; x++) {
		buf_addf(b, ".TP\n.B %d\n", x->code);
		roffs(b, x->meaning);
		buf_addch(b, '\n');
	}
}

static void roff_header(struct buf *b, const char *page, const char *summary)
{
	buf_adds(b, ".\\\" generated by cratis __man from the command table (src/cli/commands.c); do not edit\n");
	buf_adds(b, ".TH ");
	for (const char *p = page; *p; p++)
		buf_addch(b, *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p);
	buf_adds(b, " 1 \"\" \"cratis " CRATIS_VERSION "\" \"cratis manual\"\n.SH NAME\n");
	roffs(b, page);
	buf_adds(b, " \\- ");
	roffs(b, summary);
	buf_addch(b, '\n');
}

static void man_command(struct buf *b, const struct cli_command *cmd)
{
	char page[64];
	snprintf(page, sizeof(page), "cratis-%s", cmd->name);
	roff_header(b, page, cmd->summary);
	buf_adds(b, ".SH SYNOPSIS\n");
	struct buf lines = BUF_INIT;
	usage_lines(&lines, cmd, NULL);
	buf_adds(b, ".nf\n");
	for (const char *p = lines.ptr; *p;) { /* the terminal's two-space indent dropped */
		size_t len = strcspn(p, "\n");
		size_t skip = len >= 2 && p[0] == ' ' && p[1] == ' ' ? 2 : 0;
		roff(b, p + skip, len - skip);
		buf_addch(b, '\n');
		p += len + (p[len] == '\n');
	}
	buf_adds(b, ".fi\n");
	buf_release(&lines);
	if (cmd->description) {
		buf_adds(b, ".SH DESCRIPTION\n");
		roff_paragraphs(b, cmd->description);
	}
	if (cmd->subs) {
		buf_adds(b, ".SH SUBCOMMANDS\n");
		for (const struct cli_command *s = cmd->subs; s->name; s++) {
			buf_adds(b, ".TP\n\\fB");
			roffs(b, s->name);
			buf_adds(b, "\\fR");
			if (s->args) {
				buf_adds(b, " \\fI");
				roffs(b, s->args);
				buf_adds(b, "\\fR");
			}
			buf_addch(b, '\n');
			roffs(b, s->summary);
			buf_adds(b, ".\n");
			if (s->description) {
				roffs(b, s->description);
				buf_addch(b, '\n');
			}
			if (s->flags & ~(FLAG(FL_FILE) | FLAG(FL_ENV))) {
				struct buf fl = BUF_INIT, one = BUF_INIT;
				for (int id = 0; id < FL__COUNT; id++) {
					if (!(s->flags & FLAG(id)))
						continue;
					flag_synopsis(&cli_flags[id], s, &one);
					buf_addf(&fl, "%s%s", fl.len ? " " : "Flags: ", one.ptr);
				}
				buf_adds(b, ".br\n");
				roffs(b, fl.ptr);
				buf_addch(b, '\n');
				buf_release(&fl);
				buf_release(&one);
			}
		}
	}
	buf_adds(b, ".SH OPTIONS\n");
	cli_flag_mask mask = shown_flags(cmd, NULL) & ~FLAGS_GLOBAL;
	const struct cli_command *fc = cmd;
	for (const struct cli_command *s = cmd->subs; !fc->formats && s && s->name; s++)
		if (s->formats)
			fc = s;
	for (int id = 0; id < FL__COUNT; id++)
		if (mask & FLAG(id))
			roff_flag(b, &cli_flags[id], fc);
	buf_adds(b, ".SS \"Global options\"\n");
	for (int id = 0; id < FL__COUNT; id++)
		if (FLAGS_GLOBAL & FLAG(id))
			roff_flag(b, &cli_flags[id], cmd);
	if (cmd->examples && cmd->examples[0].command) {
		buf_adds(b, ".SH EXAMPLES\n");
		for (const struct cli_example *e = cmd->examples; e->command; e++) {
			buf_adds(b, ".PP\n");
			if (e->comment) {
				roffs(b, e->comment);
				buf_adds(b, ":\n.br\n");
			}
			buf_adds(b, ".RS 4\n.nf\n");
			roffs(b, e->command);
			buf_adds(b, "\n.fi\n.RE\n");
		}
	}
	roff_exits(b, cmd->exits);
	buf_adds(b, ".SH \"SEE ALSO\"\n.BR cratis (1)\n");
}

static void man_overview(struct buf *b)
{
	roff_header(b, "cratis", "deploy systems, environments and resources described in YAML manifests");
	buf_adds(b, ".SH SYNOPSIS\n.B cratis\n\\fICOMMAND\\fR [\\fISUBCOMMAND\\fR] [\\fIARGS\\fR] [\\fIFLAGS\\fR]\n");
	buf_adds(b, ".SH DESCRIPTION\n");
	roff_paragraphs(b, "cratis is a deployment orchestrator. You describe systems, environments and resources in "
	                   "YAML manifests; cratis plan shows what would change against the recorded state, cratis "
	                   "apply makes it so as a parallel dependency graph, cratis destroy removes it.\n\n"
	                   "Each command has its own page, cratis-COMMAND(1), and prints the same text with --help.");
	buf_adds(b, ".SH COMMANDS\n");
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		if (c->hidden)
			continue;
		buf_adds(b, ".TP\n.BR cratis\\-");
		roffs(b, c->name);
		buf_adds(b, " (1)\n");
		roffs(b, c->summary);
		buf_addch(b, '\n');
	}
	buf_adds(b, ".SH \"GLOBAL OPTIONS\"\n");
	for (int id = 0; id < FL__COUNT; id++)
		if (FLAGS_GLOBAL & FLAG(id))
			roff_flag(b, &cli_flags[id], &cli_commands[0]);
	buf_adds(b, ".SH ENVIRONMENT\n");
	for (size_t i = 0; env_vars[i][0]; i++) {
		buf_adds(b, ".TP\n.B ");
		roffs(b, env_vars[i][0]);
		buf_addch(b, '\n');
		roffs(b, env_vars[i][1]);
		buf_addch(b, '\n');
	}
	roff_exits(b, cli_exit_codes);
	buf_adds(b, ".SH \"SEE ALSO\"\n");
	bool first = true;
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		if (c->hidden)
			continue;
		buf_adds(b, first ? "" : ",\n");
		buf_adds(b, ".BR cratis\\-");
		roffs(b, c->name);
		buf_adds(b, " (1)");
		first = false;
	}
	buf_addch(b, '\n');
}

/* The page called name ("cratis", "cratis-apply") into b; false when there is none. */
static bool man_page(struct buf *b, const char *name)
{
	if (!strcmp(name, "cratis")) {
		man_overview(b);
		return true;
	}
	if (strncmp(name, "cratis-", 7))
		return false;
	const struct cli_command *c = cli_find(NULL, name + 7);
	if (!c || c->hidden)
		return false;
	man_command(b, c);
	return true;
}

/* cratis __man NAME: the page on stdout. cratis __man --dir DIR NAME...: write DIR/NAME.1 for
 * each, where the names must be exactly the pages of the table (the build lists them; a command
 * added to the table and not to man/meson.build, or the reverse, fails the build). */
int cmd___man(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)ctx;
	const char *dir = NULL;
	int i = 0;
	if (argc >= 2 && !strcmp(argv[0], "--dir")) {
		dir = argv[1];
		i = 2;
	}
	if (i >= argc) {
		fputs("usage: cratis __man NAME | cratis __man --dir DIR NAME...\n", stderr);
		return EXIT_USAGE;
	}
	int rc = EXIT_OK;
	struct buf b = BUF_INIT, path = BUF_INIT;
	if (dir) {
		for (const struct cli_command *c = cli_commands; c->name; c++) {
			if (c->hidden)
				continue;
			bool listed = false;
			for (int k = i; k < argc; k++)
				listed |= !strncmp(argv[k], "cratis-", 7) && !strcmp(argv[k] + 7, c->name);
			if (!listed) {
				fprintf(stderr, "error: command '%s' has no man page in the build's list: add 'cratis-%s' to "
				        "man/meson.build\n", c->name, c->name);
				rc = EXIT_ERROR;
			}
		}
	}
	for (; i < argc; i++) {
		buf_clear(&b);
		if (!man_page(&b, argv[i])) {
			fprintf(stderr, "error: no man page '%s' (no such command in src/cli/commands.c)\n", argv[i]);
			rc = EXIT_ERROR;
			continue;
		}
		if (!dir) {
			fputs(b.ptr, stdout);
			continue;
		}
		buf_clear(&path);
		buf_addf(&path, "%s/%s.1", dir, argv[i]);
		FILE *f = fopen(path.ptr, "w");
		bool written = f && fwrite(b.ptr, 1, b.len, f) == b.len;
		if (f && fclose(f))
			written = false;
		if (!written) {
			fprintf(stderr, "error: cannot write '%s': %s\n", path.ptr, strerror(errno));
			rc = EXIT_ERROR;
		}
	}
	buf_release(&b);
	buf_release(&path);
	return rc;
}

/* Flag parsing driven by the command table (commands.h): values into struct cli_ctx, usage errors
 * with "did you mean" hints. */
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "banned.h"

static const char *cmd_path(const struct cli_command *cmd, const struct cli_command *sub, struct buf *b)
{
	buf_clear(b);
	buf_addf(b, "cratis %s%s%s", cmd->name, sub ? " " : "", sub ? sub->name : "");
	return b->ptr;
}

static cli_flag_mask mask_of(const struct cli_command *cmd, const struct cli_command *sub)
{
	return (sub ? sub->flags : cmd->flags) | FLAGS_GLOBAL;
}

/* The flag of mask whose long name (or single-dash alias, or short letter) is name. */
static const struct cli_flag *flag_by_long(cli_flag_mask mask, const char *name, size_t len, bool single_dash)
{
	for (int id = 0; id < FL__COUNT; id++) {
		const struct cli_flag *f = &cli_flags[id];
		if (!(mask & FLAG(id)))
			continue;
		const char *n = single_dash ? f->single_dash : f->name;
		if (n && strlen(n) == len && !strncmp(n, name, len))
			return f;
	}
	return NULL;
}

static const struct cli_flag *flag_by_short(cli_flag_mask mask, char c)
{
	for (int id = 0; id < FL__COUNT; id++)
		if ((mask & FLAG(id)) && cli_flags[id].short_name == c)
			return &cli_flags[id];
	return NULL;
}

static void usage_error_tail(const struct cli_command *cmd, const struct cli_command *sub)
{
	cli_print_usage(stderr, cmd, sub);
}

/* Store value (NULL for a switch given without one) for flag f, shown as `shown` in errors. */
static int store(const struct cli_command *cmd, const struct cli_command *sub, const struct cli_flag *f,
                 const char *shown, const char *value, struct cli_ctx *ctx)
{
	char *base = (char *)ctx;
	char *end = NULL;
	struct buf b = BUF_INIT;
	switch (f->type) {
	case FT_SWITCH:
		if (!value || !strcmp(value, "true")) {
			*(bool *)(base + f->offset) = true;
		} else if (!strcmp(value, "false")) {
			*(bool *)(base + f->offset) = false;
		} else {
			fprintf(stderr, "error: %s: expected true or false, got '%s'\n", shown, value);
			goto usage;
		}
		return EXIT_OK;
	case FT_STRING:
		*(const char **)(base + f->offset) = value;
		return EXIT_OK;
	case FT_LIST:
		strv_push((struct strv *)(base + f->offset), value);
		return EXIT_OK;
	case FT_INT: {
		long v = strtol(value, &end, 10);
		if (!*value || *end || v < f->min || v > f->max) {
			fprintf(stderr, "error: %s: expected %s\n", shown, f->expect);
			goto usage;
		}
		*(int *)(base + f->offset) = (int)v;
		return EXIT_OK;
	}
	case FT_SECONDS:
	case FT_GRACE: {
		double s = strtod(value, &end);
		if (!*value || *end || !(s >= f->min && s <= f->max)) {
			fprintf(stderr, "error: %s: expected %s\n", shown, f->expect);
			goto usage;
		}
		int ms = (int)(s * 1000);
		*(int *)(base + f->offset) = f->type == FT_GRACE && ms <= 0 ? -1 : ms;
		return EXIT_OK;
	}
	case FT_FORMAT: {
		const char *formats = (sub ? sub : cmd)->formats;
		if (!cli_has_format(sub ? sub : cmd, value)) {
			fprintf(stderr, "error: %s: %s has no output format '%s'; accepted: ", shown, cmd_path(cmd, sub, &b), value);
			for (const char *p = formats ? formats : "text"; *p; p++)
				fputs(*p == '|' ? ", " : (char[]){ *p, 0 }, stderr);
			fputc('\n', stderr);
			buf_release(&b);
			goto usage;
		}
		ctx->output = value;
		ctx->json = !strcmp(value, "json");
		ctx->markdown = !strcmp(value, "markdown");
		ctx->raw = !strcmp(value, "raw");
		return EXIT_OK;
	}
	case FT_HELP:
		break;
	}
	return EXIT_OK;
usage:
	usage_error_tail(cmd, sub);
	return EXIT_USAGE;
}

static int unknown_flag(const struct cli_command *cmd, const struct cli_command *sub, const char *arg)
{
	cli_flag_mask mask = mask_of(cmd, sub);
	const char *cands[2 * FL__COUNT + 1] = { 0 };
	char names[2 * FL__COUNT][40];
	size_t n = 0;
	for (int id = 0; id < FL__COUNT; id++) {
		if (!(mask & FLAG(id)))
			continue;
		snprintf(names[n], sizeof(names[n]), "--%s", cli_flags[id].name);
		cands[n] = names[n];
		n++;
		if (cli_flags[id].single_dash) {
			snprintf(names[n], sizeof(names[n]), "-%s", cli_flags[id].single_dash);
			cands[n] = names[n];
			n++;
		}
	}
	size_t len = strcspn(arg, "=");
	char word[72];
	snprintf(word, sizeof(word), "%.*s", (int)(len < 70 ? len : 70), arg);
	/* -auto-approve (Terraform's single dash) is --auto-approve */
	char dashed[74];
	const char *hint = model_suggest(word, cands, n);
	if (!hint && word[0] == '-' && word[1] != '-') {
		snprintf(dashed, sizeof(dashed), "-%s", word);
		hint = model_suggest(dashed, cands, n);
	}
	struct buf b = BUF_INIT;
	fprintf(stderr, "error: unknown flag '%s' for '%s'", word, cmd_path(cmd, sub, &b));
	if (hint)
		fprintf(stderr, "; did you mean '%s'?", hint);
	fputc('\n', stderr);
	buf_release(&b);
	usage_error_tail(cmd, sub);
	return EXIT_USAGE;
}

/* Whether the word at argv[i] is a flag of mask that takes its value from the next word. */
static bool takes_next(cli_flag_mask mask, const char *a)
{
	const struct cli_flag *f = NULL;
	if (a[0] != '-' || !a[1] || strchr(a, '='))
		return false;
	if (a[1] == '-')
		f = flag_by_long(mask, a + 2, strlen(a + 2), false);
	else if (!(f = flag_by_long(mask, a + 1, strlen(a + 1), true)) && !a[2])
		f = flag_by_short(mask, a[1]);
	return f && f->arg;
}

/* The subcommand named by the first positional word of argv, or NULL (sets *name to it). */
static const struct cli_command *find_sub(const struct cli_command *cmd, int argc, char **argv, const char **name)
{
	cli_flag_mask all = cmd->flags | FLAGS_GLOBAL;
	for (const struct cli_command *s = cmd->subs; s && s->name; s++)
		all |= s->flags;
	*name = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			*name = i + 1 < argc ? argv[i + 1] : NULL;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			i += takes_next(all, argv[i]);
			continue;
		}
		*name = argv[i];
		break;
	}
	return *name ? cli_find(cmd, *name) : NULL;
}

int cli_parse_args(const struct cli_command *cmd, int argc, char **argv, struct cli_ctx *ctx,
                   const struct cli_command **sub_out)
{
	const struct cli_command *sub = NULL;
	*sub_out = NULL;
	bool help = false;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			break;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			help = true;
	if (cmd->subs) {
		const char *name;
		sub = find_sub(cmd, argc, argv, &name);
		if (!sub && (name || !cmd->sub_optional) && !help) {
			struct buf b = BUF_INIT;
			if (name) {
				const char *cands[16] = { 0 };
				size_t n = 0;
				for (const struct cli_command *s = cmd->subs; s->name && n < 16; s++)
					cands[n++] = s->name;
				const char *hint = model_suggest(name, cands, n);
				fprintf(stderr, "error: unknown subcommand '%s' for '%s'", name, cmd_path(cmd, NULL, &b));
				if (hint)
					fprintf(stderr, "; did you mean '%s'?", hint);
				fputc('\n', stderr);
			} else {
				fprintf(stderr, "error: '%s' needs a subcommand\n", cmd_path(cmd, NULL, &b));
			}
			buf_release(&b);
			usage_error_tail(cmd, NULL);
			return EXIT_USAGE;
		}
	}
	if (help) {
		cli_print_help(stdout, cmd, sub);
		return -1;
	}
	*sub_out = sub;
	const struct cli_command *c = sub ? sub : cmd;
	cli_flag_mask mask = mask_of(cmd, sub);
	cli_flag_mask given = 0;
	bool flags_done = false;
	struct buf shown = BUF_INIT;
	int rc = EXIT_OK;
	for (int i = 0; i < argc && !rc; i++) {
		const char *a = argv[i];
		if (flags_done || a[0] != '-' || !a[1]) {
			strv_push(&ctx->args, a);
			continue;
		}
		if (!strcmp(a, "--")) {
			flags_done = true;
			continue;
		}
		const struct cli_flag *f = NULL;
		const char *value = NULL;
		bool attached = false;
		size_t len = strcspn(a, "=");
		buf_clear(&shown);
		if (a[1] == '-') {
			f = flag_by_long(mask, a + 2, len - 2, false);
		} else if ((f = flag_by_long(mask, a + 1, len - 1, true))) {
			/* -target ADDR, -out=FILE */
		} else if ((f = flag_by_short(mask, a[1]))) {
			len = 2;
			if (a[2] && f->arg) { /* -fPATH, -j4, -o=json */
				value = a[2] == '=' ? a + 3 : a + 2;
				attached = true;
			} else if (a[2]) {
				f = NULL; /* -vx */
				len = strlen(a);
			}
		}
		if (!f) {
			rc = unknown_flag(cmd, sub, a);
			break;
		}
		buf_add(&shown, a, len);
		if (!attached && a[len] == '=') {
			value = a + len + 1;
			attached = true;
		}
		if (f->type == FT_HELP)
			continue;
		if (f->arg && !attached) {
			if (i + 1 >= argc) {
				fprintf(stderr, "error: %s needs a value (%s)\n", shown.ptr, f->arg);
				usage_error_tail(cmd, sub);
				rc = EXIT_USAGE;
				break;
			}
			value = argv[++i];
		} else if (!f->arg && attached && f->type != FT_SWITCH) {
			fprintf(stderr, "error: %s takes no value\n", shown.ptr);
			usage_error_tail(cmd, sub);
			rc = EXIT_USAGE;
			break;
		}
		rc = store(cmd, sub, f, shown.ptr, value, ctx);
		given |= FLAG(f - cli_flags);
	}
	buf_release(&shown);
	if (rc)
		return rc;
	/* flags not given: environment variables */
	for (int id = 0; id < FL__COUNT; id++) {
		const struct cli_flag *f = &cli_flags[id];
		if ((mask & FLAG(id)) && !(given & FLAG(id)) && f->env && f->type == FT_STRING) {
			const char *v = getenv(f->env);
			if (v && *v)
				*(const char **)((char *)ctx + f->offset) = v;
		}
	}
	if (!ctx->files.n)
		strv_push(&ctx->files, ".");
	size_t npos = ctx->args.n - (sub ? 1 : 0);
	if ((int)npos < c->min_args || (c->max_args >= 0 && (int)npos > c->max_args)) {
		struct buf b = BUF_INIT;
		cmd_path(cmd, sub, &b);
		if ((int)npos < c->min_args)
			fprintf(stderr, "error: %s needs %s\n", b.ptr, c->args);
		else
			fprintf(stderr, "error: unexpected argument '%s' for '%s'%s%s\n", ctx->args.v[(sub ? 1 : 0) + c->max_args], b.ptr,
			        c->args ? ", which takes " : " (it takes none)", c->args ? c->args : "");
		buf_release(&b);
		usage_error_tail(cmd, sub);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

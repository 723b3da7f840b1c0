/* Shell completion: `cratis completion bash|zsh|fish` prints a small script whose function asks
 * `cratis __complete WORD...` for the candidates, as kubectl and Helm (cobra) do. The candidates
 * come from the command table (commands, subcommands, flags, -o formats) and, for environments
 * and resource addresses, from the manifests of the project (app_names: no state, no lock). */
#include "commands.h"

#include <string.h>

#include "util/buf.h"
#include "banned.h"

static const char bash_script[] =
	"# bash completion for cratis, from `cratis completion bash`. The candidates come from\n"
	"# `cratis __complete`, which reads cratis' command table and the project's manifests.\n"
	"#   source <(cratis completion bash)\n"
	"_cratis() {\n"
	"    local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\\n' out line\n"
	"    COMPREPLY=()\n"
	"    out=$(\"${COMP_WORDS[0]}\" __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null) || return 0\n"
	"    [[ $cur == \"=\" ]] && cur=\"\"\n"
	"    case ${out%%$'\\n'*} in\n"
	"    :files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n"
	"    :dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")); return 0 ;;\n"
	"    esac\n"
	"    for line in $out; do\n"
	"        COMPREPLY+=(\"${line%%$'\\t'*}\")\n"
	"    done\n"
	"}\n"
	"complete -F _cratis cratis\n";

static const char zsh_script[] =
	"#compdef cratis\n"
	"# zsh completion for cratis, from `cratis completion zsh`. The candidates come from\n"
	"# `cratis __complete`, which reads cratis' command table and the project's manifests.\n"
	"#   source <(cratis completion zsh)    (after compinit)\n"
	"_cratis() {\n"
	"  local -a cands lines\n"
	"  local out line\n"
	"  out=$(${words[1]} __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null) || return 1\n"
	"  lines=(\"${(@f)out}\")\n"
	"  case ${lines[1]} in\n"
	"  :files) _files; return ;;\n"
	"  :dirs) _files -/; return ;;\n"
	"  esac\n"
	"  for line in \"${lines[@]}\"; do\n"
	"    [[ -n $line ]] || continue\n"
	"    if [[ $line == *$'\\t'* ]]; then\n"
	"      cands+=(\"${${line%%$'\\t'*}//:/\\\\:}:${line#*$'\\t'}\")\n"
	"    else\n"
	"      cands+=(\"${line//:/\\\\:}\")\n"
	"    fi\n"
	"  done\n"
	"  _describe -t values cratis cands\n"
	"}\n"
	"if [[ ${funcstack[1]} == _cratis ]]; then _cratis \"$@\"; else compdef _cratis cratis; fi\n";

static const char fish_script[] =
	"# fish completion for cratis, from `cratis completion fish`. The candidates come from\n"
	"# `cratis __complete`, which reads cratis' command table and the project's manifests.\n"
	"#   cratis completion fish | source\n"
	"function __cratis_complete\n"
	"    set -l tokens (commandline -opc)\n"
	"    set -l cur (commandline -ct)\n"
	"    set -l out ($tokens[1] __complete $tokens[2..-1] $cur 2>/dev/null)\n"
	"    switch \"$out[1]\"\n"
	"        case :files\n"
	"            __fish_complete_path $cur\n"
	"            return\n"
	"        case :dirs\n"
	"            __fish_complete_directories $cur\n"
	"            return\n"
	"    end\n"
	"    printf '%s\\n' $out\n"
	"end\n"
	"complete -c cratis -f -a '(__cratis_complete)'\n";

int cmd_completion(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc;
	(void)argv;
	const char *shell = ctx->args.v[0];
	const char *script = !strcmp(shell, "bash") ? bash_script : !strcmp(shell, "zsh") ? zsh_script
	                     : !strcmp(shell, "fish") ? fish_script : NULL;
	if (!script) {
		static const char *const shells[] = { "bash", "zsh", "fish" };
		const char *hint = model_suggest(shell, shells, 3);
		fprintf(stderr, "error: no completion for shell '%s'%s%s%s; accepted: bash, zsh, fish\n", shell,
		        hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
		cli_print_usage(stderr, cli_find(NULL, "completion"), NULL);
		return EXIT_USAGE;
	}
	fputs(script, stdout);
	return EXIT_OK;
}

/* ---- cratis __complete ---- */

/* The flag of mask that word ("--env", "-f", "-target") names, or NULL. */
static const struct cli_flag *flag_named(cli_flag_mask mask, const char *word, size_t len)
{
	for (int id = 0; id < FL__COUNT; id++) {
		const struct cli_flag *f = &cli_flags[id];
		if (!(mask & FLAG(id)) || word[0] != '-')
			continue;
		if (word[1] == '-' && strlen(f->name) == len - 2 && !strncmp(word + 2, f->name, len - 2))
			return f;
		if (word[1] != '-' && f->single_dash && strlen(f->single_dash) == len - 1 &&
		    !strncmp(word + 1, f->single_dash, len - 1))
			return f;
		if (len == 2 && word[1] == f->short_name)
			return f;
	}
	return NULL;
}

struct out {
	const char *cur;          /* the word being completed */
	const char *prefix;       /* printed before each candidate ("--env=") */
	size_t n;
};

static void cand(struct out *o, const char *word, const char *desc)
{
	if (strncmp(word, o->cur, strlen(o->cur)))
		return;
	printf("%s%s%s%s\n", o->prefix, word, desc && *desc ? "\t" : "", desc ? desc : "");
	o->n++;
}

struct names {
	bool loaded;
	struct strv envs, addresses;
};

static void names_load(struct names *nm, const struct strv *files)
{
	if (nm->loaded)
		return;
	nm->loaded = true;
	app_names((const char *const *)files->v, files->n, &nm->envs, &nm->addresses);
}

static void complete_value(struct out *o, enum cli_complete what, const struct cli_command *c, struct names *nm,
                           const struct strv *files, const char *first_arg)
{
	switch (what) {
	case CC_NONE:
		break;
	case CC_FILE:
		puts(":files");
		break;
	case CC_DIR:
		puts(":dirs");
		break;
	case CC_ENV:
		names_load(nm, files);
		for (size_t i = 0; i < nm->envs.n; i++)
			cand(o, nm->envs.v[i], "environment");
		break;
	case CC_ADDRESS:
		names_load(nm, files);
		for (size_t i = 0; i < nm->addresses.n; i++)
			cand(o, nm->addresses.v[i], NULL);
		break;
	case CC_ROLLOUT:
		names_load(nm, files);
		for (size_t i = 0; i < nm->addresses.n; i++)
			if (!strncmp(nm->addresses.v[i], "Rollout/", 8))
				cand(o, nm->addresses.v[i] + 8, "Rollout");
		break;
	case CC_FORMAT:
		cand(o, "text", NULL);
		for (const char *p = c->formats; p && *p;) {
			size_t len = strcspn(p, "|");
			char f[32];
			snprintf(f, sizeof(f), "%.*s", (int)(len < 31 ? len : 31), p);
			if (strcmp(f, "text"))
				cand(o, f, NULL);
			p += len + (p[len] == '|');
		}
		break;
	case CC_COMMAND: {
		const struct cli_command *parent = first_arg ? cli_find(NULL, first_arg) : NULL;
		if (first_arg && !parent)
			break;
		for (const struct cli_command *k = parent ? parent->subs : cli_commands; k && k->name; k++)
			if (!k->hidden)
				cand(o, k->name, k->summary);
		break;
	}
	case CC_SHELL:
		cand(o, "bash", NULL);
		cand(o, "zsh", NULL);
		cand(o, "fish", NULL);
		break;
	}
}

int cmd___complete(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)ctx;
	struct out o = { .cur = argc ? argv[argc - 1] : "", .prefix = "" };
	int nprev = argc ? argc - 1 : 0;
	const struct cli_command *cmd = NULL, *sub = NULL;
	struct strv files = STRV_INIT;
	struct names nm = { false, STRV_INIT, STRV_INIT };
	const struct cli_flag *value_of = NULL; /* the current word is this flag's value */
	const char *first_arg = NULL;
	int npos = 0;
	bool flags_done = false;
	char prefix[64];
	/* bash splits --env=sta into "--env" "=" "sta" (COMP_WORDBREAKS): the word before "=" is the
	 * flag whose value is completed */
	bool eq_split = false;
	if (argc >= 2 && !strcmp(argv[argc - 1], "=")) {
		o.cur = "";
		eq_split = true;
	} else if (argc >= 3 && !strcmp(argv[argc - 2], "=")) {
		nprev = argc - 2;
		eq_split = true;
	}
	for (int i = 0; i < nprev; i++) {
		const char *w = argv[i];
		cli_flag_mask mask = FLAGS_GLOBAL | (cmd ? (sub ? sub->flags : cmd->flags) : 0);
		for (const struct cli_command *s = cmd && !sub ? cmd->subs : NULL; s && s->name; s++)
			mask |= s->flags;
		if (!flags_done && w[0] == '-' && w[1]) {
			if (!strcmp(w, "--")) {
				flags_done = true;
				continue;
			}
			size_t len = strcspn(w, "=");
			const struct cli_flag *f = flag_named(mask, w, len);
			if (!f && w[1] != '-' && w[2] && (f = flag_named(mask, w, 2)) && f->arg && f->type == FT_LIST &&
			    f->offset == offsetof(struct cli_ctx, files))
				strv_push(&files, w + 2); /* -fPATH */
			if (!f || !f->arg || w[len] == '=' || (w[1] != '-' && len == 2 && w[2])) {
				if (f && f->arg && w[len] == '=' && f->offset == offsetof(struct cli_ctx, files) && f->type == FT_LIST)
					strv_push(&files, w + len + 1);
				continue;
			}
			if (i + 1 >= nprev) { /* "--env" CUR, or "--env" "=" CUR */
				value_of = f;
				break;
			}
			if (f->type == FT_LIST && f->offset == offsetof(struct cli_ctx, files))
				strv_push(&files, argv[i + 1]);
			i++;
			continue;
		}
		if (!cmd) {
			if (!(cmd = cli_find(NULL, w)) || cmd->hidden)
				goto out; /* an unknown command: nothing to offer */
		} else if (cmd->subs && !sub && !npos && (sub = cli_find(cmd, w))) {
			/* the subcommand */
		} else {
			if (!npos)
				first_arg = w;
			npos++;
		}
	}
	const struct cli_command *c = sub ? sub : cmd;
	/* --env=sta as one word (zsh, fish): complete the value, keeping "--env=" */
	if (!value_of && !eq_split && o.cur[0] == '-' && strchr(o.cur, '=') && c) {
		size_t len = strcspn(o.cur, "=");
		value_of = flag_named(FLAGS_GLOBAL | c->flags, o.cur, len);
		if (value_of) {
			snprintf(prefix, sizeof(prefix), "%.*s=", (int)(len < 60 ? len : 60), o.cur);
			o.prefix = prefix;
			o.cur += len + 1;
		}
	}
	if (!files.n)
		strv_push(&files, ".");
	if (value_of) {
		complete_value(&o, value_of->complete, c ? c : &cli_commands[0], &nm, &files, NULL);
		goto out;
	}
	if (!cmd) {
		if (o.cur[0] == '-') {
			cand(&o, "--help", "the list of commands");
			cand(&o, "--version", "cratis' version");
		} else {
			for (const struct cli_command *k = cli_commands; k->name; k++)
				if (!k->hidden)
					cand(&o, k->name, k->summary);
		}
		goto out;
	}
	if (o.cur[0] == '-' && !flags_done) {
		cli_flag_mask mask = FLAGS_GLOBAL | c->flags;
		for (int id = 0; id < FL__COUNT; id++) {
			const struct cli_flag *f = &cli_flags[id];
			if (!(mask & FLAG(id)))
				continue;
			char word[48];
			snprintf(word, sizeof(word), "--%s", f->name);
			cand(&o, word, f->help);
			if (f->single_dash) {
				snprintf(word, sizeof(word), "-%s", f->single_dash);
				cand(&o, word, f->help);
			}
		}
		goto out;
	}
	if (cmd->subs && !sub) {
		for (const struct cli_command *s = cmd->subs; s->name; s++)
			cand(&o, s->name, s->summary);
		goto out;
	}
	if (c->max_args < 0 || npos < c->max_args)
		complete_value(&o, c->args_complete, c, &nm, &files, c->args_complete == CC_COMMAND ? first_arg : NULL);
out:
	strv_release(&files);
	strv_release(&nm.envs);
	strv_release(&nm.addresses);
	return EXIT_OK;
}

/* cratis logs: print (and follow) what the process of a Service, or of a Rollout's release,
 * writes to stdout and stderr (docs/cli-output.md#logs). Reads the state; takes no lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/buf.h"
#include "banned.h"

static const char usage[] =
	"cratis logs Service/NAME|Rollout/NAME [--release current|preview] [-f|--follow] [--tail N] [--since DURATION] "
	"[--file PATH] [--env NAME]";

/* A duration as Go and kubectl write it ("45s", "5m", "1h30m", "2h"; a bare number is seconds)
 * in seconds; -1 when s is not one. */
static long long parse_duration(const char *s)
{
	long long total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (end == s || n < 0 || errno)
			return -1;
		long long unit = 1;
		if (*end == 'h')
			unit = 3600;
		else if (*end == 'm')
			unit = 60;
		else if (*end == 's' || !*end)
			unit = 1;
		else
			return -1;
		if (n > (1LL << 40) / unit)
			return -1;
		total += n * unit;
		s = *end ? end + 1 : end;
	}
	return total;
}

/* The offset in fd (size bytes) where its last n lines start (a last line without a newline
 * counts). */
static off_t tail_offset(int fd, off_t size, long n)
{
	char block[65536];
	off_t pos = size;
	long lines = 0;
	bool first = true;
	while (pos > 0) {
		size_t len = pos < (off_t)sizeof(block) ? (size_t)pos : sizeof(block);
		pos -= (off_t)len;
		ssize_t got = pread(fd, block, len, pos);
		if (got != (ssize_t)len)
			return 0;
		for (size_t i = len; i-- > 0;) {
			if (block[i] != '\n')
				continue;
			if (first && pos + (off_t)i == size - 1) {
				first = false; /* the newline that ends the last line */
				continue;
			}
			first = false;
			if (++lines == n)
				return pos + (off_t)i + 1;
		}
	}
	return 0;
}

/* Copy fd from *offset to its end onto stdout; *offset moves on. false when stdout fails. */
static bool copy_out(int fd, off_t *offset)
{
	char block[65536];
	ssize_t got;
	while ((got = pread(fd, block, sizeof(block), *offset)) > 0) {
		if (fwrite(block, 1, (size_t)got, stdout) != (size_t)got)
			return false;
		*offset += got;
	}
	return fflush(stdout) == 0;
}

/* Sleep ms milliseconds unless the run is cancelled (checked every 50 ms). */
static void nap(const struct cli_ctx *ctx, int ms)
{
	for (int i = 0; i < ms / 50 && !*ctx->cancel; i++) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Follow path from offset (fd open on it, or -1 while it does not exist) until Ctrl-C, until the
 * address no longer resolves to path (destroyed, or a Rollout's release changed), or stdout
 * fails. */
static int follow(struct cli_ctx *ctx, struct app *a, const char *env, const char *address, const char *release,
                  const char *path, int fd, off_t offset)
{
	struct stat st_fd;
	int rc = EXIT_OK;
	if (fd >= 0 && fstat(fd, &st_fd))
		st_fd.st_ino = 0;
	for (int round = 1; !*ctx->cancel; round++) {
		nap(ctx, 200);
		if (*ctx->cancel)
			break;
		struct stat st;
		bool exists = stat(path, &st) == 0;
		if (exists && (fd < 0 || st.st_ino != st_fd.st_ino || st.st_dev != st_fd.st_dev)) {
			/* created, or rotated (a new file under the name): finish the old one, read the new */
			if (fd >= 0) {
				copy_out(fd, &offset);
				close(fd);
			}
			fd = open(path, O_RDONLY | O_CLOEXEC);
			offset = 0;
			if (fd >= 0 && fstat(fd, &st_fd))
				st_fd.st_ino = 0;
		}
		if (fd >= 0) {
			struct stat now;
			if (!fstat(fd, &now) && now.st_size < offset)
				offset = 0; /* truncated in place */
			if (!copy_out(fd, &offset)) {
				rc = EXIT_ERROR;
				break;
			}
		}
		if (round % 5)
			continue;
		/* about once a second: is it still there? */
		struct diags d = DIAGS_INIT;
		char *again = NULL;
		int arc = app_log_file(a, env, address, release, &again, &d);
		bool gone = arc == CRATIS_ENOTFOUND || (!arc && strcmp(again, path));
		if (arc && !gone)
			print_errors(ctx, &d);
		diags_release(&d);
		free(again);
		if (arc && !gone) {
			rc = EXIT_ERROR;
			break;
		}
		if (gone) {
			if (fd >= 0)
				copy_out(fd, &offset);
			fprintf(stderr, "%s: %s; no longer following\n", address,
			        !strncmp(address, "Rollout/", 8) || strstr(address, "/Rollout/") ? "the release is no longer there"
			                                                                       : "destroyed");
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return exit_code_cancelled(ctx, rc);
}

int cmd_logs(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	const char *release = ctx->release;
	int rc = EXIT_OK;
	if (ctx->args.n != 1) {
		fprintf(stderr, "error: %s\nusage: %s\n", ctx->args.n ? "one address only" : "which Service or Rollout? give its address",
		        usage);
		return EXIT_USAGE;
	}
	long long since = -1;
	if (ctx->since && (since = parse_duration(ctx->since)) < 0) {
		fprintf(stderr, "error: --since: expected a duration such as 30s, 5m or 1h30m, not '%s'\nusage: %s\n", ctx->since, usage);
		return EXIT_USAGE;
	}
	const char *address = ctx->args.v[0];
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_STATE, &a)))
		return rc;
	struct diags d = DIAGS_INIT;
	char *env = NULL, *path = NULL;
	if (app_state_env(a, ctx->env, &env, &d) || app_log_file(a, env, address, release, &path, &d)) {
		print_errors(ctx, &d);
		rc = EXIT_ERROR;
		goto out_release;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t offset = 0;
	if (fd < 0 && errno != ENOENT) {
		fprintf(stderr, "error: cannot read '%s': %s\n", path, strerror(errno));
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st)) {
			fprintf(stderr, "error: cannot read '%s': %s\n", path, strerror(errno));
			close(fd);
			rc = EXIT_ERROR;
			goto out_release;
		}
		/* the log has no per-line times (the process writes it directly): --since judges the
		 * file by when it was last written */
		if (since >= 0 && st.st_mtime < time(NULL) - since)
			offset = st.st_size;
		else if (ctx->tail >= 0)
			offset = ctx->tail ? tail_offset(fd, st.st_size, ctx->tail) : st.st_size;
		if (!copy_out(fd, &offset))
			rc = EXIT_ERROR;
	}
	if (ctx->follow && !rc) {
		rc = follow(ctx, a, env, address, release, path, fd, offset);
	} else if (fd >= 0) {
		close(fd);
	}
out_release:
	diags_release(&d);
	free(env);
	free(path);
	app_close(a);
	return rc;
}

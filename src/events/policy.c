/* Sink configuration lifetime and the retry schedule shared by every sink kind. */
#include <stdlib.h>
#include <string.h>

#include "events/sink.h"
#include "util/util.h"

void sink_config_free(struct sink_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->ntypes; i++)
		free(cfg->types[i]);
	for (size_t i = 0; i < cfg->nsubjects; i++)
		free(cfg->subjects[i]);
	free(cfg->types);
	free(cfg->subjects);
	free(cfg->name);
	free(cfg->url);
	free_wiped(cfg->secret);
	free(cfg->nats_url);
	free(cfg->subject_prefix);
	free(cfg->stream);
	free(cfg->creds_file);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}

int64_t sink_backoff_ms(const struct sink_config *cfg, int attempt, int64_t retry_after_ms, uint64_t random)
{
	int64_t initial = cfg && cfg->backoff_initial_ms > 0 ? cfg->backoff_initial_ms : 1000;
	int64_t max = cfg && cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 300000;
	if (attempt < 1)
		attempt = 1;
	/* cap = min(max, initial * 2^(attempt-1)), without overflow */
	int64_t cap = initial;
	for (int i = 1; i < attempt && cap < max; i++)
		cap = cap > max / 2 ? max : cap * 2;
	if (cap > max)
		cap = max;
	int64_t wait = (int64_t)(random % ((uint64_t)cap + 1));   /* full jitter: uniform in [0, cap] */
	return retry_after_ms >= 0 && retry_after_ms > wait ? retry_after_ms : wait;
}

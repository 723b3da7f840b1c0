/* The access-log format of experiments, as the router's nginx writes it: a copy of
 * METRICS_NGINX_LOG_FORMAT (src/experiment/metrics.h), which the access-log metrics provider
 * reads. The plugin is built against the public plugin headers only, so it cannot include
 * metrics.h; tests/e2e/router_split.sh checks that the configuration the plugin renders holds
 * exactly the text `metrics_read --log-format` prints from metrics.h, so the two cannot drift
 * apart unnoticed. */
#ifndef CRATIS_ROUTER_LOG_FORMAT_H
#define CRATIS_ROUTER_LOG_FORMAT_H

#define ROUTER_LOG_FORMAT_NAME "cratis_experiment"
#define ROUTER_LOG_FORMAT                                                                     \
	"log_format " ROUTER_LOG_FORMAT_NAME " escape=json "                                    \
	"'{\"time\":\"$time_iso8601\",\"variant\":\"$cratis_variant\",\"status\":$status,"     \
	"\"request_time\":$request_time,\"path\":\"$uri\",\"user\":\"$cratis_user\"}';"

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* HTTP(S)/file fetches with libcurl: a timeout per attempt, bounded retries
 * with exponential backoff on connection errors and 5xx; 4xx (but 408/429)
 * is final. Used for the NoCloud URL datasource and the join preflight. */

#include <stddef.h>

struct http_options {
        int timeout_ms;         /* per attempt */
        int attempts;           /* >= 1 */
        int backoff_ms;         /* first delay, doubled each retry */
        const char *ca_file;    /* NULL: system store */
        int insecure;           /* skip TLS verification (only for cluster-info before pinning) */
};

/* GETs url into *ret (NUL-terminated). -ENOENT on 404, -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -EIO otherwise; *error (may be NULL) gets the
 * last curl/HTTP reason as a new string. */
int http_get(const char *url, const struct http_options *o, char **ret, size_t *len, char **error);

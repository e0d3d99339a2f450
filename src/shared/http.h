/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* HTTP(S)/file fetches with libcurl: a timeout per attempt, bounded retries
 * with exponential backoff on connection errors and 5xx; 4xx (but 408/429)
 * is final. Used for the NoCloud URL datasource and the join preflight.
 * libcurl is opened on the first fetch (libload.h), not at start. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

struct http_options {
        int timeout_ms;         /* per attempt */
        int attempts;           /* >= 1 */
        int backoff_ms;         /* first delay, doubled each retry */
        const char *ca_file;    /* NULL: ca_pem or the system store */
        const char *ca_pem;     /* CA held in memory (the kubeconfig's), NULL: none */
        const char *cert_pem;   /* client certificate held in memory, NULL: none */
        const char *key_pem;    /* its key, copied into curl, never written to a file */
        int insecure;           /* skip TLS verification (only for cluster-info before pinning) */
        const char *pinned_pubkey; /* "sha256//<base64>[;sha256//...]": the server's key must be one of
                                    * these, and then no CA is needed (the pin is the trust); NULL: none */
};

/* GETs url into *ret (NUL-terminated). Redirects are followed (at most 3),
 * never from https to anything but https. -ENOENT on 404, -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH, -ELIBACC when libcurl cannot be loaded
 * (libload.h), -EIO otherwise; *error (may be NULL) gets the last
 * loader/curl/HTTP reason as a new string. */
int http_get(const char *url, const struct http_options *o, char **ret, size_t *len, char **error);

/* Called as a download grows: bytes in the file so far, and the whole
 * size once the server said it (0 until then). */
typedef void (*http_progress_fn)(uint64_t done, uint64_t total, void *userdata);

/* Downloads url (file, http or https; redirects as http_get's) into the
 * regular file fd, resuming at the file's current size: each attempt asks
 * for the rest with a Range request, and a server that answers 200 instead
 * of 206 sends it all again (the file is truncated first). o->timeout_ms
 * bounds the connect and how long the transfer may stall (under 1 KiB/s),
 * not the whole download, which may be hundreds of MiB. o->attempts counts
 * attempts in a row that brought no byte, so a connection that keeps
 * breaking still finishes while each try gets further. A 416 answer to a
 * resumed request means the file is complete already. 0 when the server
 * sent the last byte; -ENOSPC/-EIO (writing fd), -ENOENT (404), -EACCES,
 * -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EPIPE (stopped before the end:
 * what arrived stays in fd for the next call), -ELIBACC; *error as
 * http_get's. */
int http_download(const char *url, const struct http_options *o, int fd, http_progress_fn progress, void *userdata,
                  char **error);

/* The building blocks of http_get, for a client that keeps its own handle
 * (the Kubernetes API client reuses one connection for many requests). */

/* A response body as it arrives, NUL-terminated once non-empty; a body over
 * 16 MiB stops the transfer and sets too_big. */
struct http_body {
        char *data;
        size_t len;
        bool too_big;
};

/* A new curl handle in *ret, libcurl loaded and initialised first
 * (libload_curl(), once per process). -ELIBACC when libcurl cannot be
 * loaded, with the reason in *error (new string; error may be NULL),
 * -ENOMEM when curl has no handle to give. */
int http_handle_new(CURL **ret, char **error);

/* Sets on c (new or after curl_easy_reset) what every request of the agent
 * shares: url, o's timeout and TLS material, no signals, b as the body
 * sink, errbuf (CURL_ERROR_SIZE) for the reason, the user agent. The caller
 * adds the protocols it allows and anything request-specific. o must live
 * until curl_easy_perform returns (an older libcurl reads the PEMs from it
 * at connect time). -EPROTONOSUPPORT, with the reason in errbuf, when this
 * libcurl cannot use in-memory TLS material. */
int http_handle_setup(CURL *c, const char *url, const struct http_options *o, struct http_body *b, char *errbuf);

/* Restricts c to the comma-separated protocols ("http,https") and, unless
 * NULL, redirects to redir_protocols. Of the names, file, http and https are
 * known (on a libcurl older than 7.85 the others are dropped). */
void http_handle_protocols(CURL *c, const char *protocols, const char *redir_protocols);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Update bundles from a URL (`node-agent update URL`, update.h): the bundle
 * is downloaded onto the data partition first and then checked and applied
 * from there like a file, so its signature is verified before a byte goes
 * to a slot and a transfer that breaks costs only what was not yet fetched:
 *   <root>/var/lib/node-agent/download/bundle.part  what arrived (0600)
 *   <root>/var/lib/node-agent/download/bundle.url   the URL it came from
 * A rerun with the same URL resumes (shared/http.h's http_download); another
 * URL starts over. TLS is not what makes a bundle trusted (its signature
 * is), so an http URL is fine; https is verified against the system's CA
 * store, and a redirect from https to http is refused. */

#include <stdbool.h>

#define BUNDLE_DOWNLOAD_DIR "/var/lib/node-agent/download"

/* Whether SOURCE names a URL (http:, https:) rather than a file. */
bool bundle_source_is_url(const char *source);
/* user@ or user:password@ before the host: a secret that progress lines,
 * bundle.url and the journal would repeat, so bundle_fetch() refuses it and
 * no message names such a URL. */
bool bundle_url_has_credentials(const char *url);

/* Downloads (or finishes downloading) URL into the node's download file;
 * progress on stderr, one line per 10%. 0 with the file's path in *ret_path
 * (new string); -errno with one line in *error: -EBUSY (another download of
 * this node runs), -ENOSPC (the data partition is full: the partial file is
 * deleted, so the node keeps its space), -EPIPE (the transfer stopped
 * before the end after its retries: what arrived is kept and the next run
 * resumes), or http_download()'s errors. */
int bundle_fetch(const char *root, const char *url, char **ret_path, char **error);

/* Deletes the download: after its bundle was applied, or refused for what
 * it is (so a rerun fetches it again instead of resuming a bad file). */
void bundle_fetch_forget(const char *root);

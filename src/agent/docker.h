/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A small client of the Docker Engine API over its unix socket (libcurl,
 * CURLOPT_UNIX_SOCKET_PATH), for what the agent needs: is an image present,
 * load an image archive. API version pinned to v1.40 (Docker 19.03), which
 * Debian's docker.io 20.10 also serves. libcurl and libarchive are opened
 * on first use (libload.h): -ELIBACC, with the reason in *error, when one
 * cannot be. */

#include <stdbool.h>

struct docker;

/* socket_path NULL: /run/docker.sock. Does not connect yet; loads
 * libcurl. *error (may be NULL): new string, set when it cannot. */
int docker_new(const char *socket_path, struct docker **ret, char **error);
void docker_free(struct docker *d);
/* Whether r, an error of the calls below, says the daemon is not answering
 * on its socket (no socket -ENOENT, refused, timed out, a broken exchange
 * -EIO) rather than this process failing on its own (-ENOMEM...). */
bool docker_error_is_unreachable(int r);
/* Waits until GET /_ping answers OK, up to timeout_ms; -ETIMEDOUT. Another
 * error than the socket's (see above) ends the wait at once. */
int docker_wait_ready(struct docker *d, int timeout_ms);
/* GET /images/<ref>/json (the reference unescaped, as the docker CLI sends
 * it): 1 present (200), 0 absent (404), <0 error (-EIO for other statuses). */
int docker_image_exists(struct docker *d, const char *ref);
/* POST /images/load?quiet=1 streaming the archive at path (docker-archive
 * tar, optionally gzip/zstd compressed as docker accepts), streamed from
 * the file with a Content-Length, never held in memory. An {"error": ...}
 * line in the reply stream, or a non-200 reply's message ("HTTP 500: ..."),
 * becomes *error (new string, if *error was NULL). 0 or -errno. */
int docker_image_load(struct docker *d, const char *archive_path, char **error);
/* The image references an archive provides, from its manifest.json
 * (docker-archive RepoTags) or index.json (OCI ref.name annotations), read
 * with libarchive without extracting. New strv in *ret. -ELIBACC when
 * libarchive cannot be loaded, -EIO when the archive cannot be opened: then
 * *error (may be NULL) gets the reason as a new string. */
int docker_archive_image_refs(const char *archive_path, char ***ret, char **error);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Update bundles (image/README.md, "Update bundles"): one tar file, made by
 * image/make-bundle, whose first two members are
 *   manifest.json      what the bundle holds (shared/bundle.h)
 *   manifest.json.sig  base64 Ed25519 signature of manifest.json's bytes
 * and then the payload files the manifest lists (base.sqfs, layer.sqfs,
 * vmlinuz, initrd.img), each once, in any order.
 *
 * Everything about the manifest is checked before a payload byte is read:
 * the signature by one of the node's trusted keys, the format, the role
 * against the node's image, the expiry, and the counter against the running
 * image's (no downgrade, no replay). Then every payload member is streamed
 * through SHA-256 and its size and hash compared; a member the manifest does
 * not list, a listed one missing, or a truncated archive is an error. */

#include <time.h>
#include "shared/bundle.h"

#define UPDATE_KEYS_DIR "/usr/share/nodeos/update-keys"       /* *.pub: base64 Ed25519 public keys */
#define UPDATE_COUNTER_FILE "/usr/share/nodeos/update-counter" /* the running image's counter; absent: 0 */
#define UPDATE_ROLE_FILE "/usr/share/nodeos/role"

struct update_check_options {
        const char *root;       /* the node's tree: its keys, role and counter; "/" or NULL */
        time_t now;             /* 0: time(NULL) */
};

/* Verifies the bundle file PATH as described above, writing nothing.
 * 0 with the manifest in *ret; -errno with one line in *error: -EKEYREJECTED
 * (signature), -EPERM (role, expiry, counter), -EBADMSG (manifest or
 * payload), -ENOENT/-EIO (the file). */
int update_check(const char *path, const struct update_check_options *o, struct update_manifest *ret, char **error);

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

/* Applying a bundle (image/README.md, "SLOTS AND UPDATES"; the slots:
 * slots.h), in this order, so that a failure anywhere before the commit
 * leaves the running slot untouched and the target not bootable, and a
 * rerun after the fix does the whole job:
 *   a. update_check(); an image this node recorded as failed
 *      (updatestate.h) is refused; nothing is written before this passes
 *   b. the running slot (nodeos.slot=) is needed, and must not itself be on
 *      trial (the other slot is then its way back); the target is the other
 *   c. each filesystem must fit its partition (a block device's size, or a
 *      regular file's in a test tree)
 *   d. the target is uncommitted: its boot entries, its grubenv trial and
 *      its kernel set go (and grubenv's nodeos_good moves to the running
 *      slot if it named the target)
 *   e. base.sqfs and layer.sqfs are streamed into the partitions, vmlinuz
 *      and initrd.img into ESP/<slot>/NAME.new, hashed while written: the
 *      bundle is read a second time, and a size or hash that differs from
 *      the checked manifest's (a bundle changed since) stops the job
 *   f. what was written is read back past the page cache and hashed again;
 *      a filesystem with a verity root hash is checked by veritysetup verify
 *   g. the kernel set takes its names, with the slot's grub.cfg
 *   h. the commit, last: loader/entries/nodeos-<slot>+3.conf, then grubenv
 *      nodeos_try=<slot> nodeos_try_left=3; update.json records it staged
 *   i. /run/reboot-required (kured's sentinel) says a reboot applies it
 * Progress goes to stderr, one line per file per 10%; what was staged to
 * stdout. */
#define UPDATE_REBOOT_REQUIRED "/run/reboot-required"

struct update_apply_options {
        const char *root;               /* "/" or a test tree: nothing live is touched then */
        const char *cmdline_path;       /* NULL: /proc/cmdline */
        time_t now;                     /* 0: time(NULL) */
};

/* 0, or -errno with one line in *error (-ENOSPC: no space; -EBUSY:
 * another update runs). */
int update_apply(const char *path, const struct update_apply_options *o, char **error);

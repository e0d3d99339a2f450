/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* An update bundle's manifest.json (format 1; the bundle: agent/update.h,
 * made by image/make-bundle):
 *
 *   {"format": 1, "role": "verne", "profile": "bookworm",
 *    "image_id": "<16 hex>", "version": "<the builder's git describe>",
 *    "counter": <integer, strictly growing per signing key>,
 *    "expires": "2027-01-05T00:00:00Z",
 *    "boot_options": "console=tty0 console=ttyS0,115200 panic=10",
 *    "files": {"base.sqfs": {"size": N, "sha256": "<64 hex>",
 *                            "verity_root": "<64 hex>", "verity_offset": N},
 *              ...}}
 *
 * boot_options: the kernel options the image's boot entries carry after
 * the slot's own boot=nodeos parameters (agent/slots.h); printable ASCII,
 * at most BOOT_OPTIONS_MAX bytes, may be empty. They go verbatim into a
 * boot entry's one options line, so a control character (a newline would
 * start a new entry key) is refused here.
 *
 * verity_root, a filesystem's dm-verity root hash, is there for the files
 * the image verifies at boot (base.sqfs, layer.sqfs of an image built with
 * dm-verity), and absent otherwise; verity_offset, required with it and only
 * with it, is where the hash tree starts in the file (a multiple of 4096
 * below its size: image/lib.sh verity_append pads the data to 4 KiB and
 * appends the tree), the OFFSET of nodeos.NAME.verity=ROOT:OFFSET.
 *
 * Parsed strictly: every field required, no others, each of its type; a
 * file name is a plain name (no '/', not the manifest's own). */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct update_file {
        char *name;
        uint64_t size;
        char sha256[65];
        char verity_root[65];   /* "" when the manifest gives none */
        uint64_t verity_offset; /* with verity_root; else 0 */
};

#define BOOT_OPTIONS_MAX 1024

struct update_manifest {
        char *role, *profile, *image_id, *version;
        char *boot_options;     /* may be "" */
        uint64_t counter;
        time_t expires;
        struct update_file *files;
        size_t n_files;
};

/* -EBADMSG with the field at fault in *error (new string), -ENOMEM. */
int update_manifest_parse(const char *text, size_t len, struct update_manifest *ret, char **error);
void update_manifest_done(struct update_manifest *m);

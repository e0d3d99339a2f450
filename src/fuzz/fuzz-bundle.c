/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for an update bundle's manifest.json
 * (update_manifest_parse, shared/bundle.h): whatever parses holds what the
 * agent relies on before it reads a payload byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "shared/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct update_manifest m = {};
        char *error = NULL;
        if (update_manifest_parse((const char *) data, size, &m, &error) >= 0) {
                if (error || m.n_files == 0 || !m.role || !m.image_id || strlen(m.image_id) != 16 || m.counter == 0 ||
                    !m.boot_options || strlen(m.boot_options) > BOOT_OPTIONS_MAX)
                        __builtin_trap();
                /* one line of a boot entry: nothing that would end it */
                for (const char *p = m.boot_options; *p; p++)
                        if (*p < 0x20 || *p > 0x7e)
                                __builtin_trap();
                for (size_t i = 0; i < m.n_files; i++) {
                        const struct update_file *f = &m.files[i];
                        if (!f->name || strchr(f->name, '/') || strlen(f->sha256) != 64)
                                __builtin_trap();
                        /* a tree offset exactly with a root hash, aligned, inside the file */
                        if (!*f->verity_root != !f->verity_offset || f->verity_offset % 4096 ||
                            (f->verity_offset && f->verity_offset >= f->size))
                                __builtin_trap();
                }
                update_manifest_done(&m);
        }
        free(error);
        return 0;
}

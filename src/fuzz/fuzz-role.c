/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the role file parser (role_parse, and through it
 * yamlnode and schema). The input is one role.yaml; the directory name is
 * not checked, so inputs made from any roles/<x>/role.yaml parse fully. */
#include <stdint.h>
#include "shared/role.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct diag d = {};
        struct role *r = NULL;
        int k = role_parse((const char *) data, size, "role.yaml", NULL, &r, &d);
        if (k == 0)
                role_free(r);
        else if (k == -EINVAL && diag_count(&d) == 0)
                __builtin_trap();       /* a rejection must say why */
        diag_done(&d);
        return 0;
}

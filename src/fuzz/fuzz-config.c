/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the seed parser (config_parse, and through it
 * yamlnode and schema). The input is "meta-data NUL user-data"; an input
 * without a NUL is all user-data under a fixed valid meta-data, so most of
 * the effort goes where the schema is. A seed that parses is then checked
 * against the repo's role catalog (when the fuzzer runs from the repo root)
 * and read back through the typed accessors, as the agent does. */
#include <stdint.h>
#include <string.h>
#include "shared/config.h"
#include "shared/role.h"

/* Fixed, so a run does not depend on the working directory. */
static char *known_roles[] = { "dojot", "kafka", "lb", "master", "verne", "x509", NULL };
static struct role_catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        struct diag d = {};
        if (role_catalog_load("roles", &catalog, &d) < 0)
                catalog = NULL;         /* not run from the repo root: parse only */
        diag_done(&d);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char fixed_meta[] = "instance-id: fuzz-1\nlocal-hostname: fuzz\n";
        const char *buf = (const char *) data;
        const char *meta = fixed_meta, *user = buf;
        size_t meta_len = sizeof(fixed_meta) - 1, user_len = size;
        const char *nul = memchr(buf, 0, size);
        if (nul) {
                meta = buf;
                meta_len = (size_t) (nul - buf);
                user = nul + 1;
                user_len = size - meta_len - 1;
        }

        struct diag d = {};
        struct node_config *c = NULL;
        int r = config_parse(meta, meta_len, "meta-data", user, user_len, "user-data", known_roles, &c, &d);
        if (r == 0) {
                if (catalog)
                        (void) role_check_config(catalog, c, &d);
                (void) config_dojot_bool(c, "dojot_insecure_mqtt");
                (void) config_dojot_int(c, "dojot_vernemq_replicas");
                (void) config_dojot_string(c, "dojot_namespace");
                (void) topology_to_string(c->topology);
                (void) lb_mode_to_string(c->lb.mode);
                (void) dojot_variant_to_string(c->dojot.variant);
                config_free(c);
        } else if (r == -EINVAL && diag_count(&d) == 0)
                __builtin_trap();       /* a rejection must say why */
        char *all = diag_join(&d);
        free(all);
        diag_done(&d);
        return 0;
}

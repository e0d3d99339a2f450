/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for a seed's network-config (netconfig_parse: versions 1
 * and 2, through yamlnode). A plan that parses is rendered as the network
 * step renders it: every link's .network and .link file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "shared/netconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct net_plan *p = NULL;
        struct diag d = {};
        if (netconfig_parse((const char *) data, size, "fuzz/network-config", &p, &d) >= 0) {
                if (diag_count(&d) != 0)
                        __builtin_trap();       /* a parsed plan has no problems */
                for (size_t i = 0; i < p->n_links; i++) {
                        char *link = NULL, *net = netconfig_render_network(p, &p->links[i]);
                        if (!net || !p->links[i].file_stem || netconfig_render_link(p, &p->links[i], &link) < 0)
                                __builtin_trap();
                        free(net);
                        free(link);
                }
                net_plan_free(p);
        }
        diag_done(&d);
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for a seed's network-config (netconfig_parse: versions 1
 * and 2, through yamlnode) and a config drive's network_data.json
 * (netconfig_parse_openstack), each input through both. A plan that parses
 * is rendered as the network step renders it: every link's .network and
 * .link file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "shared/netconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_and_render(int (*parse)(const char *, size_t, const char *, struct net_plan **, struct diag *),
                             const uint8_t *data, size_t size) {
        struct net_plan *p = NULL;
        struct diag d = {};
        if (parse((const char *) data, size, "fuzz/network-config", &p, &d) >= 0) {
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        parse_and_render(netconfig_parse, data, size);
        parse_and_render(netconfig_parse_openstack, data, size);
        return 0;
}

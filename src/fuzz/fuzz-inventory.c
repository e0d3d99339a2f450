/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the fleet tool's inventory parser (inventory_parse:
 * an ansible-dojot hosts.yaml, through yamlnode). An inventory that parses
 * is read back as the placement does: each host looked up by name and by
 * address, its groups tested, its MAC normalized. */
#include <stdint.h>
#include <string.h>
#include "fleet/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct inventory *inv = NULL;
        struct diag d = {};
        if (inventory_parse((const char *) data, size, "fuzz/hosts.yaml", &inv, &d) >= 0) {
                for (size_t i = 0; i < inv->n; i++) {
                        const struct inv_host *h = &inv->hosts[i];
                        char mac[18];
                        if (inventory_find(inv, h->name) == NULL)
                                __builtin_trap();       /* every parsed host is found by its name */
                        if (h->address)
                                (void) inventory_find(inv, h->address);
                        (void) inv_host_in(h, "master_nodes");
                        if (h->mac)
                                (void) mac_normalize(h->mac, mac);
                }
                inventory_free(inv);
        }
        diag_done(&d);
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* A run of the fleet tool: plan (placement.c), mint (trust.c), write each
 * seed (seedtext.c, output.c) and check it with the agent's validation. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "fleet/output.h"
#include "fleet/seedgen.h"
#include "fleet/seedtext.h"
#include "fleet/trust.h"

int seedgen_run(const struct seedgen_options *o, struct diag *d) {
        struct seedgen_plan p = {};
        struct trust t = {};
        int r = seedgen_plan_load(o, &p, d);
        if (r < 0)
                return r;
        r = trust_load(o, &t);
        if (r < 0) {
                diag_add(d, o->ca_cert_file ? o->ca_cert_file : o->inventory_dir, 0, 0, "cannot %s the cluster CA and token: %s",
                         o->ca_cert_file ? "load" : "mint", strerror(-r));
                goto out;
        }
        r = prepare_out_dir(o->out_dir, d);
        if (r < 0) {
                if (r != -EEXIST)
                        diag_add(d, o->out_dir, 0, 0, "cannot prepare: %s", strerror(-r));
                goto out;
        }
        int wh = 8, wn = 8;
        for (size_t i = 0; i < p.n; i++) {
                int lh = (int) strlen(p.nodes[i].host), ln = (int) strlen(p.nodes[i].hostname);
                wh = lh > wh ? lh : wh;
                wn = ln > wn ? ln : wn;
        }
        printf("rollout %s: topology %s, variant %s, token expires %s", t.rollout, p.topology, p.variant, ctime(&t.expires));
        printf("%-*s  %-*s  %-15s  %-6s  %-17s  %s\n", wh, "HOST", wn, "HOSTNAME", "ADDRESS", "ROLE", "MAC", "SEED");
        for (size_t i = 0; i < p.n && r >= 0; i++) {
                const struct seedgen_node *nd = &p.nodes[i];
                _cleanup_free_ char *meta = NULL, *user = seed_user_data(o, &p, &t, nd), *dir = NULL, *hdir = NULL, *mdir = NULL;
                if (!user || asprintf(&meta, "instance-id: %s-%s\nlocal-hostname: %s\n", nd->hostname, t.rollout, nd->hostname) < 0 ||
                    asprintf(&dir, "%s/seeds/%s", o->out_dir, nd->hostname) < 0 ||
                    asprintf(&hdir, "%s/http/hostname/%s", o->out_dir, nd->hostname) < 0 ||
                    (nd->mac && asprintf(&mdir, "%s/http/mac/%s", o->out_dir, nd->mac) < 0)) {
                        r = -ENOMEM;
                        break;
                }
                r = write_seed_dir(dir, meta, user);
                if (r >= 0)
                        r = write_seed_dir(hdir, meta, user);
                if (r >= 0 && mdir)
                        r = write_seed_dir(mdir, meta, user);
                explicit_bzero(user, strlen(user));
                if (r < 0) {
                        diag_add(d, dir, 0, 0, "cannot write the seed: %s", strerror(-r));
                        break;
                }
                r = validate_seed(o, dir, d);
                if (r < 0) {
                        diag_add(d, dir, 0, 0, "generated seed for host '%s' does not validate (the errors above name the key)", nd->host);
                        break;
                }
                if (!o->no_iso && (r = make_iso(dir, d)) < 0)
                        break;
                printf("%-*s  %-*s  %-15s  %-6s  %-17s  %s\n", wh, nd->host, wn, nd->hostname, nd->address, nd->role,
                       nd->mac ? nd->mac : "-", dir);
        }
        if (r >= 0 && (r = write_manifest(o->out_dir, &p, &t)) < 0)
                diag_add(d, o->out_dir, 0, 0, "cannot write nodes.tsv and the CA: %s", strerror(-r));
        /* nothing half-done: no seeds (they hold the token) from a failed run */
        if (r < 0)
                (void) remove_outputs(o->out_dir);
out:
        trust_done(&t);
        seedgen_plan_done(&p);
        return r;
}

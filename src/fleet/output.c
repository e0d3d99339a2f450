/* SPDX-License-Identifier: Apache-2.0 */
/* The output tree of a run (layout in seedgen.h): seed directories, cidata
 * ISOs made by the real tool, nodes.tsv and the CA. */
#include <dirent.h>
#include <ftw.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "basic/exec.h"
#include "basic/fileio.h"
#include "fleet/output.h"
#include "fleet/rollout.h"
#include "shared/config.h"
#include "shared/role.h"
#include "shared/seed.h"

static int write_in(const char *dir, const char *name, const char *content, mode_t mode) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return write_file_atomic("/", path, content, strlen(content), mode, -1, -1, NULL);
}

int write_seed_dir(const char *dir, const char *meta, const char *user) {
        int r = mkdir_p(dir, 0700);
        if (r >= 0)
                r = write_in(dir, "meta-data", meta, 0600);
        if (r >= 0)
                r = write_in(dir, "user-data", user, 0600);
        return r;
}

int validate_seed(const struct seedgen_options *o, const char *dir, struct diag *d) {
        struct seed seed = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        int r = seed_read_dir(dir, &seed);
        if (r >= 0)
                r = seed_load_config(o->roles_dir, &seed, &cat, &cfg, d);
        /* what the agent's validate checks, so no seed written here fails
         * on its own values on the node; the image's tool versions are not
         * known here (NULL: any supported version) */
        if (r >= 0)
                r = seed_render_check(cat, cfg, NULL, d);
        config_free(cfg);
        role_catalog_free(cat);
        seed_done(&seed);
        return r;
}

/* The ISO is made by the real tool: xorriso (as mkisofs), else genisoimage;
 * volume id "cidata" is what NoCloud looks for. */
int make_iso(const char *dir, struct diag *d) {
        static const char * const tools[][3] = { { "xorriso", "-as", "mkisofs" }, { "genisoimage", NULL, NULL } };
        _cleanup_free_ char *iso = NULL, *m = NULL, *u = NULL;
        if (asprintf(&iso, "%s/cidata.iso", dir) < 0 || asprintf(&m, "%s/meta-data", dir) < 0 ||
            asprintf(&u, "%s/user-data", dir) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(tools); i++) {
                char *argv[16];
                size_t n = 0;
                for (size_t k = 0; k < 3 && tools[i][k]; k++)
                        argv[n++] = (char *) tools[i][k];
                char *rest[] = { "-quiet", "-o", iso, "-V", "cidata", "-J", "-r", m, u, NULL };
                memcpy(argv + n, rest, sizeof(rest));
                struct exec_result er = {};
                int r = exec_run(argv, 60000, &er);
                if (r < 0 || er.status == -ENOENT || er.status == 127) {
                        exec_result_done(&er);
                        continue;       /* not installed: try the next tool */
                }
                if (er.status != 0) {
                        _cleanup_free_ char *tail = exec_output_tail(er.output, 3);
                        diag_add(d, iso, 0, 0, "%s failed (status %d): %s", tools[i][0], er.status, tail ? tail : "");
                        exec_result_done(&er);
                        return -EIO;
                }
                exec_result_done(&er);
                return chmod(iso, 0600) < 0 ? negative_errno() : 0;
        }
        diag_add(d, iso, 0, 0, "neither xorriso nor genisoimage is installed (apt-get install xorriso), or pass --no-iso");
        return -ENOENT;
}

static int link_ca(const char *from, const char *to) {
        static const char * const names[] = { "ca.crt", "ca.key", "seed-signing.key" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *a = NULL, *b = NULL;
                if (asprintf(&a, "%s/%s", from, names[i]) < 0 || asprintf(&b, "%s/%s", to, names[i]) < 0)
                        return -ENOMEM;
                int r = link_or_copy(a, b);
                if (r < 0)
                        return r;
        }
        return 0;
}

int write_manifest(const char *out, const struct seedgen_plan *p, const struct trust *t, const char *from) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# nodeos-seedgen rollout %s, topology %s, variant %s. No secrets here.\n"
                   "# hostname\taddress\trole\tmac\tlb_mode\tinventory_host\tdata_disk\n", t->rollout, p->topology, p->variant);
        for (size_t i = 0; i < p->n; i++) {
                const struct seedgen_node *nd = &p->nodes[i];
                fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", nd->hostname, nd->address, nd->role, nd->mac ? nd->mac : "-",
                        nd->lb_mode ? nd->lb_mode : "-", nd->host, nd->data_disk ? nd->data_disk : "-");
        }
        if (fclose(f) != 0)
                return -EIO;
        _cleanup_free_ char *pub = NULL, *key_path = NULL;
        int r = write_in(out, "nodes.tsv", text, 0644);
        if (r >= 0 && asprintf(&pub, "%s\n", t->seed_pub) < 0)
                r = -ENOMEM;
        if (r >= 0)
                r = write_in(out, "seed-signing.pub", pub, 0644);
        if (r >= 0 && from && (r = link_ca(from, out)) == -ENOENT) {
                /* a rollout from before seeds were signed: its new key */
                r = asprintf(&key_path, "%s/seed-signing.key", out) < 0 ? -ENOMEM : 0;
                if (r >= 0 && access(key_path, F_OK) < 0)
                        r = write_in(out, "seed-signing.key", secret_reveal(&t->seed_key), 0600);
        } else if (r >= 0 && !from) {
                r = write_in(out, "ca.crt", t->ca_cert, 0644);
                if (r >= 0)
                        r = write_in(out, "ca.key", secret_reveal(&t->ca_key), 0600);
                if (r >= 0)
                        r = write_in(out, "seed-signing.key", secret_reveal(&t->seed_key), 0600);
        }
        return r;
}

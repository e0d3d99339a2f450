/* SPDX-License-Identifier: Apache-2.0 */
/* node-agent: the dojot-nodeos first-boot agent. A thin CLI over engine.c. */
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include "agent/datasource.h"
#include "agent/engine.h"
#include "agent/plan.h"
#include "agent/seedtrust.h"
#include "agent/status.h"
#include "agent/update.h"
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/diag.h"
#include "basic/log.h"
#include "shared/config.h"
#include "shared/role.h"

#define DEFAULT_ROLES_DIR "/usr/share/nodeos/roles"

static void usage(FILE *f) {
        fputs("Usage: node-agent [OPTIONS] COMMAND\n"
              "\n"
              "The dojot-nodeos first-boot agent: reads the node's NoCloud seed and\n"
              "configures it for its role (master, dojot, kafka, x509, verne, lb).\n"
              "\n"
              "Commands:\n"
              "  run                 configure this node (what the systemd unit runs)\n"
              "  validate SEED_DIR   check a seed offline: exit 0 if valid, 1 with\n"
              "                      file:line:col errors otherwise\n"
              "  plan SEED_DIR       print the steps a run would take for this seed\n"
              "  status              show what is done, what failed and why\n"
              "  bake ROLE           image build: write ROLE's seed-independent files\n"
              "                      (unit limits as vendor drop-ins) into --root DIR\n"
              "  update --check BUNDLE  verify an update bundle for this node (signature by\n"
              "                      a trusted key, role, expiry, no downgrade, every file's\n"
              "                      size and sha256); writes nothing. Applying one to the\n"
              "                      other A/B slot is not built yet\n"
              "  allow-reprovision   let the next seed with a new instance-id re-provision\n"
              "                      this configured node once, signed or not (a configured\n"
              "                      node otherwise takes only seeds signed by the rollout\n"
              "                      key it pinned; cloud-init/README.md, the trust model)\n"
              "\n"
              "Options:\n"
              "  --root DIR          apply to DIR instead of / (nothing live is touched:\n"
              "                      no services, modules or /proc outside DIR)\n"
              "  --seed DIR          run: read the seed from DIR instead of the datasources\n"
              "  --roles-dir DIR     the role catalog (default " DEFAULT_ROLES_DIR ",\n"
              "                      or ../roles next to the binary when that is absent)\n"
              "  --image-store DIR   run: preloaded image archives (default /usr/share/nodeos/images)\n"
              "  --docker-socket P   run: Docker API socket (default /run/docker.sock)\n"
              "  --cmdline FILE      run: kernel command line to read (default /proc/cmdline)\n"
              "  --json              status: print JSON\n"
              "  -v, --verbose       debug logging\n"
              "  -h, --help          this text\n"
              "      --version       print the version\n"
              "\n"
              "Exit status: 0 success; 1 failure (run/validate), see `node-agent status`;\n"
              "status: 0 configured, 1 failed, 2 running or interrupted, 3 never ran.\n", f);
}

/* The catalog: --roles-dir, else the image's, else the source tree's roles/
 * beside build/node-agent (so the repo's binary works without installing). */
static char *default_roles_dir(void) {
        struct stat st;
        if (stat(DEFAULT_ROLES_DIR, &st) == 0)
                return strdup(DEFAULT_ROLES_DIR);
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = 0;
                char *slash = strrchr(exe, '/');
                if (slash) {
                        char *dir = NULL;
                        *slash = 0;
                        if (asprintf(&dir, "%s/../roles", exe) >= 0 && stat(dir, &st) == 0)
                                return dir;
                        free(dir);
                }
        }
        return strdup(DEFAULT_ROLES_DIR);
}

static int load_seed_config(const char *roles_dir, const char *seed_dir, struct seed *seed,
                            struct role_catalog **cat, struct node_config **cfg) {
        struct diag d = {};
        int r = seed_read_dir(seed_dir, seed);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read the seed: %s\n", seed_dir, strerror(-r));
                return r;
        }
        r = seed_load_config(roles_dir, seed, cat, cfg, &d);
        diag_print(&d, stderr);
        if (r < 0 && diag_count(&d) == 0)
                fprintf(stderr, "%s: %s\n", seed_dir, strerror(-r));
        diag_done(&d);
        return r;
}

static int cmd_validate(const char *roles_dir, const char *seed_dir) {
        struct seed seed = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        int r = load_seed_config(roles_dir, seed_dir, &seed, &cat, &cfg);
        if (r >= 0) {
                /* what a run would render, rendered offline: validate is the whole truth */
                struct diag d = {};
                r = seed_render_check(cat, cfg, NULL, &d);
                diag_print(&d, stderr);
                diag_done(&d);
        }
        if (r >= 0)
                printf("%s: valid seed for role %s (instance %s, hostname %s, topology %s)\n", seed_dir,
                       cfg->role, cfg->instance_id, cfg->hostname, topology_to_string(cfg->topology));
        config_free(cfg);
        role_catalog_free(cat);
        seed_done(&seed);
        return r < 0 ? 1 : 0;
}

/* Image build time: the role's seed-independent files into an image root. */
static int cmd_bake(const char *roles_dir, const char *root, const char *role_name) {
        struct diag d = {};
        struct role_catalog *cat = NULL;
        int r = role_catalog_load(roles_dir, &cat, &d);
        diag_print(&d, stderr);
        diag_done(&d);
        if (r < 0) {
                fprintf(stderr, "%s: cannot load the role catalog: %s\n", roles_dir, strerror(-r));
                return 1;
        }
        const struct role *role = role_catalog_find(cat, role_name);
        if (!role)
                fprintf(stderr, "node-agent: bake: unknown role '%s' (no %s/%s/role.yaml)\n", role_name, roles_dir, role_name);
        else
                r = limits_bake(root, role);
        role_catalog_free(cat);
        return !role || r < 0 ? 1 : 0;
}

static int cmd_plan(const char *roles_dir, const char *seed_dir) {
        struct seed seed = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        struct plan plan = {};
        int r = load_seed_config(roles_dir, seed_dir, &seed, &cat, &cfg);
        if (r >= 0)
                r = plan_build(cfg, role_catalog_find(cat, cfg->role), &plan);
        if (r >= 0) {
                printf("plan for %s (role %s, topology %s):\n", cfg->hostname, cfg->role, topology_to_string(cfg->topology));
                plan_print(&plan, stdout);
        }
        plan_done(&plan);
        config_free(cfg);
        role_catalog_free(cat);
        seed_done(&seed);
        return r < 0 ? 1 : 0;
}

/* Update bundles (update.h). Applying one to the other slot is not built
 * yet; --check verifies everything that must hold before a byte is written. */
static int cmd_update(const char *root, const char *bundle, bool check) {
        if (!check) {
                fprintf(stderr, "node-agent: update: applying a bundle (A/B slots) is not built yet; "
                                "'node-agent update --check BUNDLE' verifies one and writes nothing\n");
                return 2;
        }
        struct update_check_options o = { .root = root };
        struct update_manifest m = {};
        _cleanup_free_ char *error = NULL;
        int r = update_check(bundle, &o, &m, &error);
        if (r < 0) {
                fprintf(stderr, "node-agent: update: %s: %s\n", bundle, error ? error : strerror(-r));
                return 1;
        }
        uint64_t bytes = 0;
        for (size_t i = 0; i < m.n_files; i++)
                bytes += m.files[i].size;
        printf("%s: a valid bundle for this node: role %s, image %s (%s), counter %llu, %zu files, %llu bytes, signed by a trusted key\n",
               bundle, m.role, m.image_id, m.version, (unsigned long long) m.counter, m.n_files, (unsigned long long) bytes);
        update_manifest_done(&m);
        return 0;
}

int main(int argc, char **argv) {
        enum { OPT_ROOT = 256, OPT_SEED, OPT_ROLES, OPT_STORE, OPT_SOCKET, OPT_CMDLINE, OPT_JSON, OPT_VERSION, OPT_CHECK };
        static const struct option opts[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "seed", required_argument, NULL, OPT_SEED },
                { "roles-dir", required_argument, NULL, OPT_ROLES },
                { "image-store", required_argument, NULL, OPT_STORE },
                { "docker-socket", required_argument, NULL, OPT_SOCKET },
                { "cmdline", required_argument, NULL, OPT_CMDLINE },
                { "json", no_argument, NULL, OPT_JSON },
                { "check", no_argument, NULL, OPT_CHECK },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        struct engine_options o = { .root = "/" };
        _cleanup_free_ char *roles_dir = NULL;
        int json = 0, c;
        bool check = false;

        while ((c = getopt_long(argc, argv, "hv", opts, NULL)) >= 0)
                switch (c) {
                case OPT_ROOT: o.root = optarg; break;
                case OPT_SEED: o.seed_dir = optarg; break;
                case OPT_ROLES: free(roles_dir); roles_dir = strdup(optarg); break;
                case OPT_STORE: o.image_store = optarg; break;
                case OPT_SOCKET: o.docker_socket = optarg; break;
                case OPT_CMDLINE: o.cmdline_path = optarg; break;
                case OPT_JSON: json = 1; break;
                case OPT_CHECK: check = true; break;
                case 'v': log_set_max_level(LOG_LEVEL_DEBUG); break;
                case 'h': usage(stdout); return 0;
                case OPT_VERSION: puts("node-agent " NODE_AGENT_VERSION); return 0;
                default: usage(stderr); return 2;
                }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        if (!roles_dir)
                roles_dir = default_roles_dir();
        o.roles_dir = roles_dir;
        /* "//" or "/." is the live system: one spelling for every check */
        if (root_is_host(o.root))
                o.root = "/";
        umask(022);

        const char *cmd = argv[optind];
        int nargs = argc - optind - 1;
        if (STREQ(cmd, "run") && nargs == 0)
                return engine_run(&o);
        if (STREQ(cmd, "status") && nargs == 0)
                return status_print(o.root, json);
        if (STREQ(cmd, "validate") && nargs == 1)
                return cmd_validate(roles_dir, argv[optind + 1]);
        if (STREQ(cmd, "bake") && nargs == 1) {
                if (STREQ(o.root, "/")) {
                        fprintf(stderr, "node-agent: bake writes into an image tree: give it --root DIR\n");
                        return 2;
                }
                return cmd_bake(roles_dir, o.root, argv[optind + 1]);
        }
        if (STREQ(cmd, "allow-reprovision") && nargs == 0) {
                int r = seedtrust_allow_reprovision(o.root);
                if (r < 0) {
                        fprintf(stderr, "node-agent: cannot record the permission: %s\n", chase_strerror(r));
                        return 1;
                }
                puts("node-agent: the next seed with a new instance-id re-provisions this node (once)");
                return 0;
        }
        if (STREQ(cmd, "plan") && nargs == 1)
                return cmd_plan(roles_dir, argv[optind + 1]);
        if (STREQ(cmd, "update") && nargs == 1)
                return cmd_update(o.root, argv[optind + 1], check);
        fprintf(stderr, "node-agent: unknown command or wrong arguments: %s (see --help)\n", cmd);
        return 2;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* node-agent: the dojot-nodeos first-boot agent. A thin CLI over engine.c. */
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "agent/bootcount.h"
#include "agent/datasource.h"
#include "agent/engine.h"
#include "agent/health.h"
#include "agent/plan.h"
#include "agent/seedtrust.h"
#include "agent/status.h"
#include "agent/bundlefetch.h"
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
              "                      size and sha256); writes nothing to a slot\n"
              "  update [--reboot] BUNDLE  write a bundle into the A/B slot not running and\n"
              "                      make the next boot try it (3 tries, then back); BUNDLE\n"
              "                      is a file, a device or an http(s) URL (downloaded to\n"
              "                      " BUNDLE_DOWNLOAD_DIR " first; a rerun resumes)\n"
              "  update --status     the booted slot, each slot's image and state, the\n"
              "                      images that failed on this node\n"
              "  update --boot-complete  this boot is good: mark the running slot good,\n"
              "                      report a rollback of the other one\n"
              "  update --failed-boot  this boot is not healthy: mark the running slot bad if\n"
              "                      it is on trial, and reboot into the other one\n"
              "  health              check this boot: verity devices, overlay root, the\n"
              "                      agent's run, the role's services\n"
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
              "  --cmdline FILE      run, status, update, health: kernel command line to\n"
              "                      read (default /proc/cmdline)\n"
              "  --json              status, update --status: print JSON\n"
              "  --reboot            update: reboot once the bundle is staged\n"
              "  --reason TEXT       update --failed-boot: why (default: what health wrote)\n"
              "  -v, --verbose       debug logging\n"
              "  -h, --help          this text\n"
              "      --version       print the version\n"
              "\n"
              "Exit status: 0 success; 1 failure (run/validate/update/health), see\n"
              "`node-agent status`; status: 0 configured, 1 failed, 2 running or\n"
              "interrupted, 3 never ran.\n", f);
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

/* What `update` does: one of these modes (update.h, bootcount.h). */
enum update_mode { UPDATE_APPLY, UPDATE_CHECK, UPDATE_STATUS, UPDATE_BOOT_COMPLETE, UPDATE_FAILED_BOOT };

struct update_args {
        enum update_mode mode;
        int modes;              /* how many mode options were given */
        bool reboot, json;
        const char *reason;
};

/* The file a bundle SOURCE names: itself, or for a URL the node's
 * download of it (bundlefetch.h). New string in *ret_path; 1 after a
 * download, 0 for a file; an error is printed. */
static int bundle_file(const char *root, const char *source, char **ret_path) {
        if (!bundle_source_is_url(source))
                return (*ret_path = strdup(source)) ? 0 : -ENOMEM;
        _cleanup_free_ char *error = NULL;
        int r = bundle_fetch(root, source, ret_path, &error);
        if (r < 0) {
                /* a URL with credentials is not repeated: bundle_fetch() says why */
                bool hidden = bundle_url_has_credentials(source);
                fprintf(stderr, "node-agent: update: %s%s%s\n", hidden ? "" : source, hidden ? "" : ": ",
                        error ? error : strerror(-r));
                return r;
        }
        return 1;
}

/* After a downloaded bundle was used: it goes once applied, or once refused
 * for what it is (its signature, role, counter or contents), so a rerun
 * fetches it again instead of resuming a bad file; a failure of the node
 * (no space in a slot, busy) keeps it for the rerun. */
static void bundle_file_done(const char *root, int downloaded, int r) {
        if (downloaded > 0 && (r >= 0 || r == -EKEYREJECTED || r == -EPERM || r == -EBADMSG))
                bundle_fetch_forget(root);
}

static int cmd_update_check(const char *root, const char *source) {
        struct update_check_options o = { .root = root };
        struct update_manifest m = {};
        _cleanup_free_ char *error = NULL, *bundle = NULL;
        int downloaded = bundle_file(root, source, &bundle);
        if (downloaded < 0)
                return 1;
        int r = update_check(bundle, &o, &m, &error);
        if (r < 0) {
                /* a bundle that passed stays downloaded for the update that follows */
                bundle_file_done(root, downloaded, r);
                fprintf(stderr, "node-agent: update: %s: %s\n", source, error ? error : strerror(-r));
                return 1;
        }
        uint64_t bytes = 0;
        for (size_t i = 0; i < m.n_files; i++)
                bytes += m.files[i].size;
        printf("%s: a valid bundle for this node: role %s, image %s (%s), counter %llu, %zu files, %llu bytes, signed by a trusted key\n",
               source, m.role, m.image_id, m.version, (unsigned long long) m.counter, m.n_files, (unsigned long long) bytes);
        update_manifest_done(&m);
        return 0;
}

/* Reboots the live system; a test tree is never rebooted. */
static int reboot_now(const char *root, const char *why) {
        _cleanup_free_ char *error = NULL;
        if (!STREQ(root, "/")) {
                printf("node-agent: not rebooting (--root): %s\n", why);
                return 0;
        }
        printf("node-agent: rebooting: %s\n", why);
        fflush(stdout);
        int r = node_reboot(&error);
        if (r < 0)
                fprintf(stderr, "node-agent: %s\n", error ? error : strerror(-r));
        return r < 0 ? 1 : 0;
}

static int cmd_update_apply(const struct engine_options *eo, const char *source, bool reboot) {
        struct update_apply_options o = { .root = eo->root, .cmdline_path = eo->cmdline_path };
        _cleanup_free_ char *error = NULL, *bundle = NULL;
        int downloaded = bundle_file(eo->root, source, &bundle);
        if (downloaded < 0)
                return 1;
        int r = update_apply(bundle, &o, &error);
        bundle_file_done(eo->root, downloaded, r);
        if (r < 0) {
                fflush(stdout);
                fprintf(stderr, "node-agent: update: %s: %s\n", source, error ? error : strerror(-r));
                return 1;
        }
        return reboot ? reboot_now(eo->root, "the staged update boots on trial") : 0;
}

static int cmd_update(const struct engine_options *eo, const struct update_args *a, char **args, int nargs) {
        struct bootcount_options bo = { .root = eo->root, .cmdline_path = eo->cmdline_path, .reason = a->reason };
        _cleanup_free_ char *error = NULL;
        bool reboot = false;
        int r;
        if (a->modes > 1 || (a->reboot && a->mode != UPDATE_APPLY) || (a->reason && a->mode != UPDATE_FAILED_BOOT) ||
            (a->json && a->mode != UPDATE_STATUS) || nargs != (a->mode <= UPDATE_CHECK)) {
                fprintf(stderr, "node-agent: update: wrong arguments: update [--reboot] BUNDLE, update --check BUNDLE, update "
                                "--status [--json], update --boot-complete, update --failed-boot [--reason TEXT]\n");
                return 2;
        }
        switch (a->mode) {
        case UPDATE_APPLY:
                return cmd_update_apply(eo, args[0], a->reboot);
        case UPDATE_CHECK:
                return cmd_update_check(eo->root, args[0]);
        case UPDATE_STATUS:
                return update_status_print(&bo, a->json);
        case UPDATE_BOOT_COMPLETE:
                r = update_boot_complete(&bo, &error);
                break;
        case UPDATE_FAILED_BOOT:
                r = update_failed_boot(&bo, &reboot, &error);
                break;
        default:
                return 2;
        }
        fflush(stdout);
        if (r < 0) {
                fprintf(stderr, "node-agent: update: %s\n", error ? error : strerror(-r));
                return 1;
        }
        return reboot ? reboot_now(eo->root, "back to the other slot") : 0;
}

int main(int argc, char **argv) {
        enum { OPT_ROOT = 256, OPT_SEED, OPT_ROLES, OPT_STORE, OPT_SOCKET, OPT_CMDLINE, OPT_JSON, OPT_VERSION, OPT_CHECK,
               OPT_STATUS, OPT_BOOT_COMPLETE, OPT_FAILED_BOOT, OPT_REBOOT, OPT_REASON };
        static const struct option opts[] = {
                { "root", required_argument, NULL, OPT_ROOT },
                { "seed", required_argument, NULL, OPT_SEED },
                { "roles-dir", required_argument, NULL, OPT_ROLES },
                { "image-store", required_argument, NULL, OPT_STORE },
                { "docker-socket", required_argument, NULL, OPT_SOCKET },
                { "cmdline", required_argument, NULL, OPT_CMDLINE },
                { "json", no_argument, NULL, OPT_JSON },
                { "check", no_argument, NULL, OPT_CHECK },
                { "status", no_argument, NULL, OPT_STATUS },
                { "boot-complete", no_argument, NULL, OPT_BOOT_COMPLETE },
                { "failed-boot", no_argument, NULL, OPT_FAILED_BOOT },
                { "reboot", no_argument, NULL, OPT_REBOOT },
                { "reason", required_argument, NULL, OPT_REASON },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        struct engine_options o = { .root = "/" };
        _cleanup_free_ char *roles_dir = NULL;
        int json = 0, c;
        struct update_args ua = {};

        while ((c = getopt_long(argc, argv, "hv", opts, NULL)) >= 0)
                switch (c) {
                case OPT_ROOT: o.root = optarg; break;
                case OPT_SEED: o.seed_dir = optarg; break;
                case OPT_ROLES: free(roles_dir); roles_dir = strdup(optarg); break;
                case OPT_STORE: o.image_store = optarg; break;
                case OPT_SOCKET: o.docker_socket = optarg; break;
                case OPT_CMDLINE: o.cmdline_path = optarg; break;
                case OPT_JSON: json = 1; break;
                case OPT_CHECK: ua.mode = UPDATE_CHECK; ua.modes++; break;
                case OPT_STATUS: ua.mode = UPDATE_STATUS; ua.modes++; break;
                case OPT_BOOT_COMPLETE: ua.mode = UPDATE_BOOT_COMPLETE; ua.modes++; break;
                case OPT_FAILED_BOOT: ua.mode = UPDATE_FAILED_BOOT; ua.modes++; break;
                case OPT_REBOOT: ua.reboot = true; break;
                case OPT_REASON: ua.reason = optarg; break;
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
                return status_print(o.root, o.cmdline_path, json);
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
        if (STREQ(cmd, "update")) {
                ua.json = json;
                return cmd_update(&o, &ua, argv + optind + 1, nargs);
        }
        if (STREQ(cmd, "health") && nargs == 0) {
                struct health_options ho = { .root = o.root, .cmdline_path = o.cmdline_path, .roles_dir = roles_dir };
                return health_run(&ho);
        }
        fprintf(stderr, "node-agent: unknown command or wrong arguments: %s (see --help)\n", cmd);
        return 2;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/vfs.h>
#include "agent/health.h"
#include "agent/seedcache.h"
#include "agent/state.h"
#include "agent/sysmgr.h"
#include "basic/chase.h"
#include "basic/cmdline.h"
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/role.h"
#include "shared/seed.h"

/* linux/magic.h's, spelled out: the header is not on every build host */
#define OVERLAYFS_MAGIC 0x794c7630

/* One check's verdict: *why (new string) is the reason when it failed. */
typedef int (*health_check)(const struct health_options *o, bool live, char **why);

static int verity_devices(const struct health_options *o, bool live, char **why) {
        (void) live;
        _cleanup_free_ char *cmdline = NULL;
        const char *path = o->cmdline_path ? o->cmdline_path : "/proc/cmdline";
        int r = read_full_file(path, &cmdline, NULL);
        if (r < 0)
                return errorf(why, r, "verity: cannot read the kernel command line %s: %s", path, strerror(-r));
        static const char * const names[] = { "base", "layer" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *key = NULL, *v = NULL, *dev = NULL;
                if (asprintf(&key, "nodeos.%s.verity", names[i]) < 0 || asprintf(&dev, "/dev/mapper/nodeos-%s", names[i]) < 0 ||
                    cmdline_get_value(cmdline, key, &v) < 0)
                        return -ENOMEM;
                if (!v)
                        continue;
                _cleanup_close_ int fd = chase_open(o->root, dev, O_RDONLY | O_PATH);
                if (fd < 0)
                        return errorf(why, fd, "verity: %s= is on the kernel command line but %s is not there (%s): the %s was "
                                               "not opened through dm-verity", key, dev, chase_strerror(fd), names[i]);
        }
        return 0;
}

static int root_is_overlay(const struct health_options *o, bool live, char **why) {
        (void) o;
        if (!live)
                return 1;
        struct statfs sf;
        if (statfs("/", &sf) < 0)
                return errorf(why, negative_errno(), "overlay: cannot statfs /");
        if ((unsigned long) sf.f_type != OVERLAYFS_MAGIC)
                return errorf(why, -EMEDIUMTYPE, "overlay: / is not an overlayfs (magic 0x%lx): not the image's read-only root",
                              (unsigned long) sf.f_type);
        return 0;
}

static int agent_run_ok(const struct health_options *o, bool live, char **why) {
        (void) live;
        struct state s;
        int r = state_load(o->root, &s);
        if (r < 0)
                return errorf(why, r, "agent: cannot read its state: %s", strerror(-r));
        const char *id = state_instance_id(&s);
        const char *result = cJSON_GetStringValue(cJSON_GetObjectItem(s.json, "result"));
        const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(s.json, "error"));
        if (!id || !result)
                r = errorf(why, -ENOENT, "agent: the node was never configured (node-agent status)");
        else if (!STREQ(result, "success") || !state_is_complete(&s, id))
                r = errorf(why, -EIO, "agent: its run did not complete (%s%s%s): see node-agent status", result, err ? ": " : "",
                           strempty(err));
        state_done(&s);
        return r;
}

/* The units this node's role starts (step-services.c's choice), from the
 * kept seed: the lb mode is the seed's. */
static int role_units(const struct health_options *o, char ***ret, char **why) {
        struct seed seed = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        struct diag d = {};
        int r = seedcache_load(o->root, &seed);
        if (r < 0)
                return errorf(why, r, "services: no kept seed to read the role from (%s)", strerror(-r));
        r = seed_load_config(o->roles_dir, &seed, &cat, &cfg, &d);
        const struct role *role = r >= 0 ? role_catalog_find(cat, cfg->role) : NULL;
        if (!role)
                r = errorf(why, r < 0 ? r : -ENOENT, "services: the kept seed does not load (%zu errors): see node-agent validate",
                           diag_count(&d));
        for (size_t i = 0; r >= 0 && role && i < role->n_services; i++) {
                const struct role_service *sv = &role->services[i];
                if ((!sv->when_lb_mode || STREQ(sv->when_lb_mode, lb_mode_to_string(cfg->lb.mode))) &&
                    strv_extend(ret, sv->unit) < 0)
                        r = -ENOMEM;
        }
        diag_done(&d);
        config_free(cfg);
        role_catalog_free(cat);
        seed_done(&seed);
        return r;
}

static int services_active(const struct health_options *o, bool live, char **why) {
        if (!live)
                return 1;
        _cleanup_strv_free_ char **units = NULL;
        int r = role_units(o, &units, why);
        if (r < 0)
                return r;
        _cleanup_sysmgr_ struct sysmgr *m = NULL;
        if ((r = sysmgr_open(&m)) < 0)
                return errorf(why, r, "services: cannot reach systemd: %s", strerror(-r));
        STRV_FOREACH(u, units) {
                _cleanup_free_ char *state = NULL;
                if ((r = sysmgr_active_state(m, *u, &state)) < 0)
                        return errorf(why, r, "services: %s", sysmgr_error(m));
                if (!STREQ(state, "active"))
                        return errorf(why, -ESRCH, "services: %s is %s, not active (journalctl -u %s)", *u, state, *u);
        }
        return 0;
}

static int record_failure(const char *root, const char *why) {
        _cleanup_free_ char *line = NULL;
        if (!why) {
                _cleanup_close_ int dir = -EBADF;
                _cleanup_free_ char *name = NULL;
                int r = chase(root, HEALTH_FAILURE_FILE, CHASE_PARENT, 0, &dir, &name);
                if (r >= 0 && unlinkat(dir, name, 0) < 0 && errno != ENOENT)
                        return negative_errno();
                return r == -ENOENT ? 0 : r;
        }
        if (asprintf(&line, "%s\n", why) < 0)
                return -ENOMEM;
        return write_file_atomic(root, HEALTH_FAILURE_FILE, line, strlen(line), 0644, -1, -1, NULL);
}

int health_run(const struct health_options *o) {
        static const struct {
                const char *name;
                health_check check;
                const char *ok;
        } checks[] = {
                { "verity", verity_devices, "every verity device the command line names is open" },
                { "overlay", root_is_overlay, "/ is the image's overlay" },
                { "agent", agent_run_ok, "the agent's run completed" },
                { "services", services_active, "the role's services are active" },
        };
        bool live = root_is_host(o->root);
        _cleanup_free_ char *first = NULL;
        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                _cleanup_free_ char *why = NULL;
                int r = checks[i].check(o, live, &why);
                if (r > 0)
                        printf("health: skipped: %s (--root: not the live system)\n", checks[i].name);
                else if (r == 0)
                        printf("health: ok: %s\n", checks[i].ok);
                else {
                        printf("health: FAILED: %s\n", why ? why : strerror(-r));
                        if (!first && !(first = why ? TAKE_PTR(why) : strdup(strerror(-r))))
                                return 1;
                }
        }
        int r = record_failure(o->root, first);
        if (r < 0)
                fprintf(stderr, "node-agent: health: cannot write %s: %s\n", HEALTH_FAILURE_FILE, chase_strerror(r));
        return first ? 1 : 0;
}

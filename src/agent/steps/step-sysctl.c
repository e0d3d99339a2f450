/* SPDX-License-Identifier: Apache-2.0 */
/* Sysctls persisted under /etc/sysctl.d (each with its origin: dojot's guide,
 * kubeadm's preflight, or our own choice), applied through /proc/sys, read
 * back and verified. Under --root, /proc/sys is the tree's own: a key whose
 * file does not exist there is persisted but not applied. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "agent/steps/step.h"
#include "basic/chase.h"
#include "basic/fileio.h"

static char *sysctl_conf(const struct role *role) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return NULL;
        fprintf(f, "# Written by node-agent for role %s. Origin of each value in the comment above it.\n", role->name);
        for (size_t i = 0; i < role->n_sysctls; i++)
                fprintf(f, "\n# %s\n%s = %s\n", role->sysctls[i].origin ? role->sysctls[i].origin : "role data",
                        role->sysctls[i].key, role->sysctls[i].value);
        fclose(f);
        return text;
}

/* "/proc/sys/net/ipv4/ip_local_port_range" for "net.ipv4.ip_local_port_range":
 * under the root, so a tree's /proc/sys stands in for the kernel's in tests */
static char *proc_path(const char *key) {
        char *rel = NULL;
        if (asprintf(&rel, "/proc/sys/%s", key) < 0)
                return NULL;
        for (char *p = rel + strlen("/proc/sys/"); *p; p++)
                if (*p == '.')
                        *p = '/';
        return rel;
}

/* /proc/sys prints vectors tab-separated; compare field by field. */
static bool sysctl_value_equal(const char *a, const char *b) {
        for (;;) {
                while (*a == ' ' || *a == '\t' || *a == '\n')
                        a++;
                while (*b == ' ' || *b == '\t' || *b == '\n')
                        b++;
                if (!*a || !*b)
                        return !*a && !*b;
                size_t la = strcspn(a, " \t\n"), lb = strcspn(b, " \t\n");
                if (la != lb || memcmp(a, b, la) != 0)
                        return false;
                a += la;
                b += lb;
        }
}

static int apply_one(const struct agent_ctx *ctx, const struct role_sysctl *sc, struct step_result *res, bool *applied) {
        _cleanup_free_ char *path = proc_path(sc->key), *back = NULL;
        if (!path)
                return -ENOMEM;
        *applied = false;
        _cleanup_close_ int fd = chase_open(ctx->root, path, O_WRONLY);
        if (fd < 0) {
                if (!ctx->live)
                        return 0;
                return step_fail(res, fd, "sysctl %s: %s: %s (module not loaded?)", sc->key, path, chase_strerror(fd));
        }
        _cleanup_fclose_ FILE *f = fdopen(TAKE_FD(fd), "we");
        if (!f || fprintf(f, "%s\n", sc->value) < 0 || fflush(f) != 0)
                return step_fail(res, negative_errno(), "cannot set sysctl %s = %s: %m", sc->key, sc->value);
        int r = read_file_in_root(ctx->root, path, &back, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot read back sysctl %s: %s", sc->key, chase_strerror(r));
        if (!sysctl_value_equal(back, sc->value)) {
                back[strcspn(back, "\n")] = 0;         /* may be empty: never strtok's NULL */
                return step_fail(res, -EIO, "sysctl %s reads back '%s', want '%s'", sc->key, back, sc->value);
        }
        *applied = true;
        return 0;
}

static int sysctl_apply(const struct agent_ctx *ctx, const struct step *s, struct step_result *res) {
        (void) s;
        _cleanup_free_ char *conf = sysctl_conf(ctx->role), *dest = NULL;
        if (!conf || asprintf(&dest, "/etc/sysctl.d/90-nodeos-%s.conf", ctx->role->name) < 0)
                return -ENOMEM;
        int r = write_file_atomic(ctx->root, dest, conf, strlen(conf), 0644, -1, -1, NULL);
        if (r < 0)
                return step_fail(res, r, "cannot write %s: %s", dest, chase_strerror(r));
        size_t applied = 0;
        for (size_t i = 0; i < ctx->role->n_sysctls; i++) {
                bool ok;
                r = apply_one(ctx, &ctx->role->sysctls[i], res, &ok);
                if (r < 0)
                        return r;
                applied += ok;
        }
        step_result_set(res, STEP_DONE, "%zu persisted in %s, %zu applied and verified",
                        ctx->role->n_sysctls, dest, applied);
        return 0;
}

static int sysctl_inputs(const struct agent_ctx *ctx, const struct step *s, FILE *f) {
        (void) s;
        _cleanup_free_ char *text = sysctl_conf(ctx->role);
        if (!text)
                return -ENOMEM;
        fputs(text, f);
        return 0;
}

const struct step_type step_type_sysctl = { .kind = "sysctl", .apply = sysctl_apply, .inputs = sysctl_inputs };
